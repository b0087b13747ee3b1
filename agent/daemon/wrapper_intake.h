// WrapperIntake: everything that takes the wrappers' runs in, as one part. The agent socket
// (agent/control/control_endpoint.h) and the spool folder (agent/sources/spool_intake.h) share
// one rate budget per uid (RateLimiter) and one owner rule (RequestHandler): a line is judged
// here (a refusal or a plain reply goes straight back; the peer is the wrapper, whatever its
// event says) and what remains, a run event or a control request, goes to the daemon's
// `request` hook; a spool pass that passed the budget and the owner rule goes to `store`. The
// part owns the socket, the spool's watch and the budget; it holds no reference to the daemon.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agent/control/control_endpoint.h"
#include "agent/control/rate_limiter.h"
#include "agent/control/request_handler.h"
#include "agent/sources/spool_intake.h"
#include "common/error.h"

namespace cronitor::agent {

class WrapperIntake : public ControlEndpoint::Handler, public SpoolIntake::Handler {
 public:
  struct Hooks {
    /// The owner uid of a key (RequestHandler::OwnerOf): nullopt when no job has it yet.
    RequestHandler::OwnerOf owner_of;
    /// A socket line judged to be a run event or a control request: the reply to send now, or
    /// nullopt when it follows through reply(`conn`, ...) (an event's, once it is durable).
    std::function<std::optional<std::string>(ControlEndpoint::ConnId conn, const Peer& peer, Request r)> request;
    /// A spool pass's events (oldest first), in one transaction; false: nothing stored.
    std::function<bool(std::span<const SpoolIntake::Spooled> events)> store;
    /// After a stored pass removed its files.
    std::function<void()> stored;
  };

  /// `rate`: the per-uid budget of events (tests give a small one).
  explicit WrapperIntake(Hooks hooks, RateLimiter rate = RateLimiter{});
  ~WrapperIntake() override;
  WrapperIntake(const WrapperIntake&) = delete;
  WrapperIntake& operator=(const WrapperIntake&) = delete;

  /// On `ev`: watches `spool_dir` (which must exist), then binds `socket`: once the socket is
  /// there, a wrapper may spool at once into a folder that is watched.
  [[nodiscard]] Result<void> open(sd_event* ev, const std::string& spool_dir, const std::string& socket);
  /// Closes the socket (its file removed) and the spool's watch; the daemon does it before it
  /// lets the state folder's lock go (the socket file then could be the next agent's).
  void close();

  /// The owner and rate rules, for the lines that come another way (the dashboard) and events
  /// stored later (an owner learnt earlier in the batch).
  RequestHandler& requests() { return handler_; }
  /// The budget, shared with what costs the loop as much as events (history listings).
  RateLimiter& rate() { return rate_; }
  /// Sends an event's reply once it is durable; nothing when the socket is closed.
  void reply(ControlEndpoint::ConnId conn, std::string text);

  /// The spool: reads its watch's events (true: a drain is due); one bounded pass
  /// (`before_batch`: a short one, ahead of a socket batch); every name again (SIGHUP); a drain
  /// soon (state.db can store again). Nothing before open().
  bool take_spool_events();
  void drain_spool(bool before_batch = false);
  void relist_spool();
  void wake_spool();

 private:
  std::optional<std::string> on_line(ControlEndpoint::ConnId conn, const Peer& peer, std::string_view line) override;
  bool spool_take(uid_t owner, uint64_t mono_usec) override;
  void spool_charge(uid_t owner, uint64_t mono_usec, double n) override;
  uint64_t spool_wait_usec(uid_t owner, uint64_t mono_usec) override;
  std::optional<std::string> spool_refuse(const cronitor::RunEvent& ev, uid_t owner) override;
  bool spool_store(std::span<const SpoolIntake::Spooled> events) override;
  void spool_stored() override;

  Hooks hooks_;
  sd_event* ev_ = nullptr;
  RateLimiter rate_;                           // one budget per uid for the socket and the spool
  RequestHandler handler_;                     // the owner rule, the line's types, the rate limit (uses rate_)
  std::unique_ptr<SpoolIntake> spool_;         // the spool folder
  std::unique_ptr<ControlEndpoint> endpoint_;  // the agent socket; declared last, it closes first
};

}  // namespace cronitor::agent
