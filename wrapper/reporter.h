// Delivers a run's events: to the agent socket when it answers within the ack timeout, else to
// the spool; remembers what could not be recorded at all for one line on stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/event.h"
#include "wrapper/agent_client.h"
#include "wrapper/spool.h"

namespace cronitor::wrapper {

/// Where events go, from CRONITOR_SOCKET, CRONITOR_SPOOL and CRONITOR_ACK_TIMEOUT_MS.
struct ReportConfig {
  std::string socket_path = "/run/cronitor-agent/agent.sock";
  std::string spool_dir = "/var/spool/cronitor-agent";
  long ack_timeout_us = 5000;
  SyncMode spool_sync = SyncMode::kBackground;  ///< CRONITOR_SPOOL_SYNC=inline for kInline

  /// Reads the environment, falling back to the defaults above.
  static ReportConfig from_env();
};

/// Reports the events of one run (or one metric call).
class Reporter {
 public:
  explicit Reporter(ReportConfig config) : config_(std::move(config)), spool_(config_.spool_dir, config_.spool_sync) {}

  /// Socket first, spool second; once a run has spooled, its later events go to the spool too so
  /// that the run's file ends with its terminal event.
  void report(const RunEvent& e);

  /// Like report(), but only connects and writes: the reply is read by settle(), so its wait
  /// overlaps other work. A failure to connect spools at once.
  void report_async(const RunEvent& e);

  /// The socket a pending report_async() waits on (-1 when none), and its deadline
  /// (CLOCK_MONOTONIC ms), for an outside poll loop.
  int pending_fd() const { return pending_ ? pending_->send.fd() : -1; }
  int64_t pending_deadline_ms() const { return pending_ ? pending_->send.deadline_ns() / 1000000 + 1 : -1; }

  /// Completes a pending report_async(): reads the reply (waiting until its deadline at most),
  /// spooling the event if it was not acknowledged. Does nothing when none is pending.
  void settle();

  /// Makes the spooled events durable (see SyncMode); call after the last report().
  void finish() {
    settle();
    spool_.sync_in_background();
  }

  /// Starts syncing what was spooled so far (for a long job's run event).
  void sync_spool() { spool_.sync_in_background(); }

  /// True when spooled lines wait for a sync.
  bool spool_dirty() const { return spool_.dirty(); }

  /// One line (no newline) naming the events that were lost or refused by the agent (never
  /// spooled: they are not this user's to report) and why, or "" when none was.
  std::string lost_summary(const std::string& key, const std::string& run_id) const;

  /// How the last event went: "agent", "spool", "refused" or "lost" (for tests and benchmarks).
  const std::string& last_route() const { return last_route_; }

 private:
  void spool(const RunEvent& e, const std::string& line);
  void refuse(const RunEvent& e, const std::string& why);

  struct Pending {
    RunEvent event;
    std::string line;
    AgentSend send;
  };
  ReportConfig config_;
  Spool spool_;
  std::optional<Pending> pending_;
  std::vector<std::string> lost_states_;
  std::string lost_reason_;
  std::vector<std::string> refused_states_;
  std::string refused_reason_;
  std::string last_route_;
};

}  // namespace cronitor::wrapper
