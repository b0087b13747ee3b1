// The daemon's side of its inputs: the events and requests of the agent socket and the passes over
// the spool, as the wrapper intake (wrapper_intake.h) hands them over once judged against one
// rate budget per uid and the owner rule, and the batch commit that makes events durable before
// they are acknowledged. The pending batch is the core's: the cron log, timers and process events join it.
#include <pwd.h>
#include <spdlog/spdlog.h>

#include "agent/config/monitor_set.h"
#include "agent/daemon/daemon.h"
#include "agent/sources/event_adapter.h"
#include "agent/sources/oom_watch.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxAdhocMonitors = 1000;  // keys reported that no config or discovery knows
constexpr size_t kMaxAdhocPerUser = 100;    // ... of them owned by one uid other than root

}  // namespace

WrapperIntake::Hooks Daemon::intake_hooks() {
  return {
      .owner_of = [this](std::string_view key) { return owners_.owner_of(key); },
      .request = [this](ControlEndpoint::ConnId conn, const Peer& peer,
                        Request r) { return on_request(conn, peer, std::move(r)); },
      .store = [this](std::span<const SpoolIntake::Spooled> events) { return spool_store(events); },
      .stored = [this] { spool_stored(); },
  };
}

std::optional<std::string> Daemon::on_request(ControlEndpoint::ConnId conn, const Peer& peer, Request r) {
  if (r.kind == Request::Kind::kEvent) {
    batch_.push(Pending{std::move(r.event), conn, peer.uid});
    if (batch_.full())
      commit_pending();
    else
      batch_.schedule();
    return std::nullopt;  // "ok" once it is durable (commit_pending)
  }
  commit_pending();
  return run_control(peer, r);
}

bool Daemon::take_spool_events() { return intake_.take_spool_events(); }

void Daemon::drain_spool(bool before_batch) { intake_.drain_spool(before_batch); }

std::optional<std::string> Daemon::ingest(const cronitor::RunEvent& w, uid_t sender, Instant t, bool from_wrapper,
                                          bool by_process) {
  if (auto why = intake_.requests().refuse(w, sender)) return why;
  if (w.state == RunState::kMetric) {
    if (auto r = store_.record_metrics(w.key, w.run_id, w.metrics, w.host, w.uid, t); !r)
      spdlog::warn("storing metrics of {}: {}", w.key, r.error().message);
    return std::nullopt;
  }
  auto ev = from_wire(w);
  if (!ev) {
    spdlog::warn("event for {}: {}", w.key, ev.error().message);
    return std::nullopt;
  }
  ev->ts = clock_.from_real(ev->ts);  // the wrapper's real clock; a simulated one is offset (clock.h)
  auto it = monitors_.find(ev->key);
  // A key no crontab or agent.yaml defines: its first reporter owns it, for good (state.db keeps
  // it across restarts); bounded, per user too.
  int64_t owner = -1;
  if (!it) {
    owner = owners_.owner_of(ev->key).value_or(static_cast<int64_t>(sender == 0 ? w.uid : sender));
    if (monitors_.adhoc_count() >= kMaxAdhocMonitors)
      return "too many keys on this host that no crontab or agent.yaml defines (" + std::to_string(kMaxAdhocMonitors) +
             "); add this job to agent.yaml";
    if (owner != 0 && owners_.learnt_by(owner) >= kMaxAdhocPerUser)
      return "uid " + std::to_string(owner) + " already reports " + std::to_string(kMaxAdhocPerUser) +
             " keys that no crontab or agent.yaml defines; add this job to a crontab or agent.yaml";
  }
  if (from_wrapper || by_process) oom().attribute(*ev, by_process);  // before it is stored: history keeps the verdict
  std::map<std::string, double> merged;
  auto stored = store_.record_event(*ev, t, &merged);
  if (!stored) {
    if (!store_.out_of_space()) spdlog::error("storing an event of {}: {}", w.key, stored.error().message);
    return std::nullopt;
  }
  if (!*stored) return std::nullopt;  // seen before (a late ack, then spooled): already evaluated
  uint32_t i;
  if (it) {
    i = *it;
  } else {
    MonitorConfig m = monitor_from_defaults(config_.defaults);
    m.key = ev->key;
    m.name = ev->key;
    m.uid = owner;
    // Alerts name whose key it is ("user alice: ..."), as for a job of their crontab.
    if (owner > 0)
      if (const passwd* pw = ::getpwuid(static_cast<uid_t>(owner))) m.user = pw->pw_name;
    owners_.learn(m.key, m.uid);
    i = monitors_.add(std::move(m), MonitorState{}, /*adhoc=*/true);
  }
  retention_.stored(monitors_.config(i));  // counted; retention as runs come, not only at start and daily
  if (ev->state == RunEvent::State::kComplete)
    for (auto& [k, v] : merged) ev->metrics.emplace(k, v);
  const int failed_before = monitors_.state(i).failed_since_success;
  auto actions = evaluate(monitors_.config(i), monitors_.state(i), &*ev, host_record_.state());
  // An exit 0 the job's assertions count as a failure (a hung run's max runtime): history says
  // so, and its count of failed runs is the alerts' "N runs failed since".
  if (ev->state == RunEvent::State::kComplete && monitors_.state(i).failed_since_success > failed_before)
    if (auto r = store_.mark_run_failed(ev->run_id); !r) spdlog::error("state.db: {}", r.error().message);
  if (!actions.empty()) host_record_.changed();
  record_actions(actions, &monitors_.config(i), t);
  monitors_.touch(i);
  note_run_event(i, *ev);
  forward(*ev, i);  // queued for the upstreams in this transaction: durable before the ack
  return std::nullopt;
}

void Daemon::commit_pending() {
  if (batch_.empty()) return;
  // A wrapper that once missed its ack spools the rest of that run: a run's end may sit in the
  // spool while the next run arrives on the socket. Older events first, so that is no overlap.
  if (take_spool_events()) drain_spool(true);
  std::vector<Pending> batch = batch_.take();
  const Instant t = now();
  std::vector<std::optional<std::string>> refused(batch.size());
  bool ok = static_cast<bool>(store_.begin());
  bool full = false;
  if (ok) {
    for (size_t k = 0; k < batch.size(); ++k)  // socket events are the wrappers' (timers, cron log: the agent's)
      refused[k] = ingest(batch[k].ev, batch[k].sender, t, batch[k].conn_fd >= 0, batch[k].by_process);
    ok = flush_dirty() && store_.commit();
    full = !ok && store_.out_of_space();
    if (!ok) store_.rollback();
  }
  if (!ok)
    on_store_failure(full, batch.size());
  else
    disk_full_.ok();
  for (size_t k = 0; k < batch.size(); ++k) {
    const auto& p = batch[k];
    if (p.conn_fd < 0) continue;
    intake_.reply(p.conn_fd, !ok ? "busy storage unavailable\n" : refused[k] ? "err " + *refused[k] + "\n" : "ok\n");
  }
  rearm_deadline_timer();
  alerts_.pump_if_dirty();
  if (ok) upstreams_.kick();
}

// One pass's events (agent/sources/spool_intake.h), oldest first, in one transaction.
bool Daemon::spool_store(std::span<const SpoolIntake::Spooled> events) {
  const Instant t = now();
  if (!store_.begin()) return false;
  for (const auto& [e, owner] : events)
    if (auto why = ingest(*e, owner, t))  // a key first reported earlier in this batch
      spdlog::warn("spooled {} event of \"{}\" (uid {}): {}, ignoring", to_string(e->state), e->key, owner, *why);
  if (!flush_dirty() || !store_.commit()) {
    const bool full = store_.out_of_space();
    store_.rollback();
    if (!full) spdlog::error("storing spooled events failed; the spool files stay");
    on_store_failure(full, 0);
    return false;
  }
  disk_full_.ok();
  return true;
}

void Daemon::spool_stored() {
  rearm_deadline_timer();
  pump_outbox();
  upstreams_.kick();
}

}  // namespace cronitor::agent
