// libFuzzer target for the agent's socket request handler (control and event lines): any bytes
// from any uid get a decision, never an exception; a control line's refusal is one JSON object;
// nothing is accepted that breaks the owner rule. Input: one byte picks the peer, the rest is
// the line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "agent/control/request_handler.h"

namespace {

using cronitor::agent::Peer;
using cronitor::agent::Request;

std::optional<int64_t> owner_of(std::string_view key) {
  if (key == "mine") return 1000;
  if (key == "root-job") return 0;
  if (key == "orphan") return -1;  // a user that does not resolve: root alone
  return std::nullopt;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static cronitor::agent::RateLimiter rate(200, 50);
  static uint64_t clock_usec = 1;
  static cronitor::agent::RequestHandler handler(owner_of, rate, 4242);
  constexpr uid_t kPeers[] = {0, 1000, 1001, 4242};
  const Peer peer{kPeers[data[0] % 4], 77};
  clock_usec += 1000 * (data[0] >> 2);
  std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);
  Request r = handler.handle(line, peer, clock_usec);
  const bool admin = peer.uid == 0 || peer.uid == 4242;
  switch (r.kind) {
    case Request::Kind::kReply: {
      check(!r.reply.empty() && r.reply.back() == '\n');
      if (cronitor::agent::RequestHandler::is_control(line)) {
        auto j = nlohmann::json::parse(r.reply, nullptr, false);
        check(j.is_object() && j.value("ok", true) == false && j["error"].is_string());
      }
      break;
    }
    case Request::Kind::kEvent: {
      check(peer.uid == 0 || r.event.uid == static_cast<int64_t>(peer.uid));
      auto owner = owner_of(r.event.key);
      check(!owner || cronitor::agent::may_report(*owner, peer.uid));
      check(!handler.refuse(r.event, peer.uid));
      break;
    }
    case Request::Kind::kStatus:
      check(r.sees_all == admin);
      break;
    case Request::Kind::kHistory:
    case Request::Kind::kPause:
    case Request::Kind::kResume: {
      check(cronitor::valid_key(r.key));
      auto owner = owner_of(r.key);
      check(admin || (owner && *owner == static_cast<int64_t>(peer.uid)));
      check(r.limit >= 1 && r.limit <= 10000);
      if (r.until_us) check(*r.until_us > 0);
      break;
    }
    case Request::Kind::kSnooze:
      check(admin);  // only root (and the admin uid) silences the host
      if (r.until_us) check(*r.until_us > 0);
      check(r.reason.size() <= cronitor::agent::kMaxReasonBytes);
      for (char ch : r.reason) check(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f);
      break;
    case Request::Kind::kAdvance:
      check(false);  // the simulated clock's request exists only where a test turned it on
      break;
  }
  return 0;
}
