// One run as the history shows it: what state.db's history returns and what is judged from a
// job's past (tolerance_advice.h). A plain record, so that eval/ needs nothing from state/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cronitor::agent {

/// One run as the history shows it.
struct RunRow {
  std::string key;
  std::string run_id;
  std::string status;  // running, ok, failed, unknown (ended, outcome not seen: no end, exit or duration)
  std::optional<int64_t> started_ms, ended_ms, duration_ms;
  std::optional<int> exit_code;
  std::string signal;
  bool oom = false;
  std::string output_tail;
  bool tail_cut = false;  // output_tail is the end of a longer tail (history's byte budget)
  std::string metrics_json;
  std::string host;
};

}  // namespace cronitor::agent
