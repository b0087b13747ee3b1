#include "uplink/post_child.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/unique_fd.h"
#include "common/url_text.h"

extern char** environ;

namespace cronitor::uplink {

namespace {

std::mutex g_mu;
std::string g_child;  // guarded by g_mu

void put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

// Reads the next field of `text` at `pos`; nullopt when malformed.
std::optional<std::string_view> take(std::string_view text, size_t& pos) {
  const size_t colon = text.find(':', pos);
  if (colon == std::string_view::npos) return std::nullopt;
  size_t len = 0;
  const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + colon, len);
  if (ec != std::errc() || end != text.data() + colon || len > text.size() - colon - 1) return std::nullopt;
  pos = colon + 1 + len;
  return text.substr(colon + 1, len);
}

std::optional<long> take_number(std::string_view text, size_t& pos) {
  const auto f = take(text, pos);
  long v = 0;
  if (!f || std::from_chars(f->data(), f->data() + f->size(), v).ec != std::errc()) return std::nullopt;
  return v;
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until EOF; false on an error, or when `deadline_ms` (-1: none) passed first.
bool read_all(int fd, std::string& out, int deadline_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  char buf[4096];
  for (;;) {
    if (deadline_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      const int r = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

void set_post_child(std::string exe) {
  std::lock_guard lock(g_mu);
  g_child = std::move(exe);
}

std::string post_child() {
  std::lock_guard lock(g_mu);
  return g_child;
}

std::string encode_post_request(const OutgoingMessage& m, std::chrono::milliseconds timeout) {
  std::string out;
  put(out, std::to_string(timeout.count()));
  put(out, m.url);
  put(out, std::to_string(m.headers.size()));
  for (const auto& h : m.headers) put(out, h);
  put(out, m.body);
  return out;
}

std::optional<PostRequest> decode_post_request(std::string_view text) {
  size_t pos = 0;
  PostRequest r;
  const auto timeout = take_number(text, pos);
  const auto url = take(text, pos);
  const auto n = take_number(text, pos);
  if (!timeout || !url || !n || *n < 0) return std::nullopt;
  r.timeout = std::chrono::milliseconds(*timeout);
  r.message.url = std::string(*url);
  for (long i = 0; i < *n; ++i) {
    const auto h = take(text, pos);
    if (!h) return std::nullopt;
    r.message.headers.emplace_back(*h);
  }
  const auto body = take(text, pos);
  if (!body || pos != text.size()) return std::nullopt;
  r.message.body = std::string(*body);
  return r;
}

std::string encode_send_result(const SendResult& r) {
  std::string out;
  put(out, r.ok ? "1" : "0");
  put(out, r.retry ? "1" : "0");
  put(out, r.error);
  put(out, std::to_string(r.retry_after.count()));
  return out;
}

std::optional<SendResult> decode_send_result(std::string_view text) {
  size_t pos = 0;
  const auto ok = take(text, pos);
  const auto retry = take(text, pos);
  const auto error = take(text, pos);
  const auto retry_after = take_number(text, pos);
  if (!ok || !retry || !error || !retry_after || *retry_after < 0 || pos != text.size()) return std::nullopt;
  return SendResult{*ok == "1", *retry == "1", std::string(*error), std::chrono::seconds(*retry_after)};
}

int serve_post_child() {
  std::string in;
  if (!read_all(0, in, -1)) return 2;
  const auto req = decode_post_request(in);
  if (!req) return 2;
  AlertSender sender("", req->timeout);
  const SendResult r = sender.post_here(req->message);
  return write_all(1, encode_send_result(r)) ? 0 : 2;
}

SendResult AlertSender::post_in_child(const std::string& exe, const OutgoingMessage& m) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return {false, true, "socketpair failed: " + std::string(std::strerror(errno))};
  UniqueFd ours(sv[0]), theirs(sv[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 1);
  // The calling thread blocks the signals the daemon's loop takes as events: the child starts with
  // none blocked and SIGPIPE at its default, as a program run from a shell would.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const std::string arg(kPostChildArg);
  const char* argv[] = {exe.c_str(), arg.c_str(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &fa, &attr, const_cast<char**>(argv), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  theirs.reset();
  if (rc != 0) {
    return {false, true, "spawning the sending process \"" + exe + "\" failed: " + std::strerror(rc)};
  }
  {
    std::lock_guard lock(child_mu_);
    child_ = pid;
    if (cancelled_.load()) ::kill(pid, SIGKILL);
  }
  std::string out;
  // The child's own timeout ends the transfer; the margin covers its start.
  const bool sent = write_all(ours.get(), encode_post_request(m, timeout_)) && ::shutdown(ours.get(), SHUT_WR) == 0;
  const bool read = sent && read_all(ours.get(), out, static_cast<int>(timeout_.count()) + 5000);
  ours.reset();
  {
    std::lock_guard lock(child_mu_);
    if (!read) ::kill(pid, SIGKILL);
    child_ = -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (cancelled_.load()) return {false, true, "cancelled: the agent is stopping"};
  const auto result = read ? decode_send_result(out) : std::nullopt;
  if (result) return *result;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {false, true,
          "POST " + redact_url(m.url) + ": the sending process " +
              (read ? "exited with status " + std::to_string(code) : std::string("did not answer in time"))};
}

}  // namespace cronitor::uplink
