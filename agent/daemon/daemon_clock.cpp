// Tests only: root moves the simulated clock (agent/daemon/clock.h) forward. What falls due on
// the way (deadlines, hence misses and reminders; the snooze's end; the outbox's retries and
// digests; the cron daemon's confirmation that it is gone or back; the heartbeats) fires in time
// order through the same handlers as when its time comes, and last_seen moves with the clock.
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "agent/daemon/daemon.h"
#include "agent/sources/cron_daemon_watch.h"
#include "agent/state/state_json.h"

namespace cronitor::agent {

std::string Daemon::run_advance(const Peer& peer, const Request& req) {
  // Never on the real clock, and from the socket alone: a socket peer has its pid (SO_PEERCRED);
  // the dashboard's requests come as root with none.
  if (!clock_.is_simulated() || peer.pid <= 0) return RequestHandler::control_error("unknown request \"advance\"");
  commit_pending();  // what wrappers already told happened before the jump
  const Instant target = now() + std::chrono::microseconds(req.by_us);
  // The delays on CLOCK_MONOTONIC move with it (clock.h): the cron daemon's confirmation and its
  // looks while it is down, last_seen's heartbeat, the uplink's.
  const ClockTimer timers[] = {deadline_.timer(),
                               quiet_.snooze_timer(),
                               {alerts_.timer_source(), AlertOutbox::fire_timer, &alerts_},
                               {cron_watch().timer_source(), CronDaemonWatch::fire_timer, &cron_watch()},
                               quiet_.heartbeat_timer(),
                               {upstreams_.heartbeat_timer(), Upstreams::fire_heartbeat, &upstreams_}};
  // The alerts a step handed to the sender are answered before the next instant, as they would be
  // in the real time between them (else their leases run out in simulated minutes, and the
  // outbox looks again every 10 ms of simulated time).
  auto settle = [this] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (alerts_.in_flight() > 0 && std::chrono::steady_clock::now() < until) (void)alerts_.await_sent(100);
  };
  const size_t fired = advance_timers(clock_, target, timers, settle);
  host_record_.changed();  // the heartbeat's sign of life, at the new time
  save_dirty();
  spdlog::info("simulated clock advanced by {} s to {} µs by uid {}: {} timer(s) fired", req.by_us / 1000000,
               to_us(now()), peer.uid, fired);
  return nlohmann::json({{"ok", true}, {"now_us", to_us(now())}, {"fired", fired}}).dump() + "\n";
}

}  // namespace cronitor::agent
