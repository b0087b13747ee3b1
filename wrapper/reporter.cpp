#include "wrapper/reporter.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/endpoint_file.h"
#include "wrapper/agent_client.h"

namespace cronitor::wrapper {

ReportConfig ReportConfig::from_env() {
  ReportConfig c;
  const char* socket = std::getenv("CRONITOR_SOCKET");
  const char* spool = std::getenv("CRONITOR_SPOOL");
  const bool have_socket = socket != nullptr && *socket != '\0', have_spool = spool != nullptr && *spool != '\0';
  // Wrapped lines carry no paths: the agent says where it listens (its config may name others).
  if (!have_socket || !have_spool)
    if (auto e = read_endpoint_file(endpoint_file_path())) {
      if (!e->socket.empty()) c.socket_path = e->socket;
      if (!e->spool.empty()) c.spool_dir = e->spool;
    }
  if (have_socket) c.socket_path = socket;
  if (have_spool) c.spool_dir = spool;
  if (const char* s = std::getenv("CRONITOR_ACK_TIMEOUT_MS"); s != nullptr) {
    long ms = 0;
    auto [p, ec] = std::from_chars(s, s + std::strlen(s), ms);
    if (ec == std::errc() && ms >= 1 && ms <= 1000) c.ack_timeout_us = ms * 1000;
  }
  if (const char* s = std::getenv("CRONITOR_SPOOL_SYNC"); s != nullptr && std::strcmp(s, "inline") == 0)
    c.spool_sync = SyncMode::kInline;
  return c;
}

void Reporter::report(const RunEvent& e) {
  settle();  // keep the order of a run's events
  std::string line = encode(e);
  if (!spool_.used()) {
    auto sent = send_to_agent(config_.socket_path, line, config_.ack_timeout_us);
    if (sent) {
      last_route_ = "agent";
      return;
    }
  }
  spool(e, line);
}

void Reporter::report_async(const RunEvent& e) {
  settle();
  std::string line = encode(e);
  if (!spool_.used()) {
    auto started = AgentSend::start(config_.socket_path, line, config_.ack_timeout_us);
    if (started) {
      pending_.emplace(Pending{e, std::move(line), std::move(*started)});
      return;
    }
  }
  spool(e, line);
}

void Reporter::settle() {
  if (!pending_) return;
  Pending p = std::move(*pending_);
  pending_.reset();
  if (p.send.finish()) {
    last_route_ = "agent";
    return;
  }
  spool(p.event, p.line);
}

void Reporter::spool(const RunEvent& e, const std::string& line) {
  Result<void> spooled =
      e.state == RunState::kMetric ? spool_.write_metric(e.run_id, line) : spool_.append(e.run_id, line);
  if (spooled) {
    last_route_ = "spool";
    return;
  }
  last_route_ = "lost";
  lost_states_.emplace_back(to_string(e.state));
  lost_reason_ = spooled.error().message;
}

std::string Reporter::lost_summary(const std::string& key, const std::string& run_id) const {
  if (lost_states_.empty()) return "";
  std::string s = "cronitor-exec: could not record the ";
  for (size_t i = 0; i < lost_states_.size(); ++i) {
    if (i > 0) s += i + 1 == lost_states_.size() ? " and " : ", ";
    s += lost_states_[i];
  }
  s += lost_states_.size() == 1 ? " event" : " events";
  s += " of \"" + key + "\" (run " + run_id + "): agent unreachable and spool failed: " + lost_reason_;
  return s;
}

}  // namespace cronitor::wrapper
