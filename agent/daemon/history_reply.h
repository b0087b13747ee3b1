// The runs of one job as the socket's `history` reply lists them (run_json of each, output tails
// cut to share one byte budget), built once for the CLI's reply and for the dashboard's pages.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/state/state_store.h"

namespace cronitor::agent {

struct HistoryReply {
  nlohmann::json runs = nlohmann::json::array();  // newest first, run_json() of each
  bool more = false;                              // stopped at the reply's byte budget
};

/// The last `limit` runs of `key`. One reply holds at most 1 MiB of output tails (each cut to its
/// last bytes when many runs are asked for, never under 256) and stops at 2 MiB in all (`more`).
/// `tails` false: the brief form the dashboard's overview strip draws, each run only its run_id,
/// status, oom and t_ms (its start, else its end, in epoch ms), and no output read (1,000 jobs x 60 runs of 8 KiB tails
/// would be 480 MB read for nothing; the 12 fields of each of the 60,000 runs took 40% of the request).
[[nodiscard]] Result<HistoryReply> history_reply(StateStore& store, const std::string& key, int limit,
                                                 bool tails = true);

}  // namespace cronitor::agent
