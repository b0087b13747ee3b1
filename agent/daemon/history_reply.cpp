#include "agent/daemon/history_reply.h"

#include <algorithm>

#include "agent/control/status_view.h"

namespace cronitor::agent {
namespace {

constexpr size_t kHistoryReplyBytes = 1 << 20;  // output tails in one history reply
constexpr size_t kHistoryMinTail = 256;         // ... each keeps at least its last 256 bytes
constexpr size_t kRunJsonBytes = 320;           // a run's fields besides its tail and metrics

}  // namespace

Result<HistoryReply> history_reply(StateStore& store, const std::string& key, int limit, bool tails) {
  // 10,000 runs with 8 KiB tails made a 494 MB reply that stalled the loop: the tails share a budget.
  const size_t tail = std::clamp<size_t>(kHistoryReplyBytes / static_cast<size_t>(std::max(limit, 1)), kHistoryMinTail,
                                         cronitor::kMaxOutputTailBytes);
  auto runs = store.history(key, limit, tails ? tail : 0);
  if (!runs) return std::unexpected(runs.error());
  HistoryReply out;
  size_t bytes = 0;
  for (const auto& r : *runs) {
    bytes += kRunJsonBytes + r.output_tail.size() + r.metrics_json.size();
    if (bytes > 2 * kHistoryReplyBytes) {
      out.more = true;
      break;
    }
    if (tails) {
      out.runs.push_back(run_json(r));
      continue;
    }
    // run_json's fields the strip reads (strip_classes: run_class), under the same names.
    nlohmann::json brief = nlohmann::json::object();
    auto& o = brief.get_ref<nlohmann::json::object_t&>();
    o.emplace("run_id", r.run_id);
    o.emplace("status", r.status);
    o.emplace("oom", r.oom);
    // When, as epoch milliseconds (no ISO text for 60,000 runs): the strip places missed slots
    // among the runs by it.
    if (auto t = r.started_ms ? r.started_ms : r.ended_ms) o.emplace("t_ms", *t);
    out.runs.push_back(std::move(brief));
  }
  return out;
}

}  // namespace cronitor::agent
