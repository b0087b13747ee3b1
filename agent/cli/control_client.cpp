#include "agent/cli/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "agent/control/json_out.h"
#include "common/unique_fd.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxReply = 256u << 20;

}  // namespace

Result<nlohmann::json> ask_daemon(const std::string& socket_path, const nlohmann::json& request, int timeout_ms) {
  UniqueFd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.get() < 0) return std::unexpected(Error::from_errno("socket", socket_path));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return fail("socket path too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return std::unexpected(Error::from_errno("connect", socket_path));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line = json_text(request, -1) + "\n";
  if (::send(s.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    return std::unexpected(Error::from_errno("send", socket_path));
  std::string reply;
  char buf[65536];
  while (reply.size() < kMaxReply) {
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(Error::from_errno("recv", socket_path));
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.back() == '\n') break;
  }
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded()) return fail("the daemon at \"" + socket_path + "\" sent a reply that is not JSON");
  return j;
}

}  // namespace cronitor::agent
