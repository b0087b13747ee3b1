// The inline SVG pictures of a job's runs: the overview's strip and the job page's duration chart.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cronitor::agent::dashboard {

/// The class of a run's mark: ok, failed, running, missed (a slot without a run) or other (an
/// unknown status), plus " oom" when
/// the kernel killed it for memory.
std::string run_class(const nlohmann::json& run);

/// A strip of the last `limit` runs of `runs` (history order: newest first), oldest on the left:
/// a 5-pixel dash per run, all runs of one class one <path class="seg CLASS" data-n="K"> (K runs;
/// a subpath per row of them).
std::string run_strip_svg(const nlohmann::json& runs, size_t limit);
/// The same strip from its entries' classes (strip_classes), newest first.
std::string run_strip_svg(const std::vector<std::string>& classes, size_t limit);

/// The strip's entries: `runs` (newest first, each with `t_ms` or `started`/`ended`) and the
/// job's `missed_slots` (ISO 8601, oldest first, as `status --json` lists them) as
/// {"status": "missed"} entries placed among the runs by time, newest first, at most `limit`.
nlohmann::json strip_entries(const nlohmann::json& runs, const nlohmann::json& missed_slots, size_t limit);
/// The run_class of each of strip_entries' entries ("missed" for a slot), without copying a run.
std::vector<std::string> strip_classes(const nlohmann::json& runs, const nlohmann::json& missed_slots, size_t limit);

/// Durations over time of `runs` (newest first): one <circle class="mark ..." data-run="ID"> per
/// run, x its start, y its duration; failures larger and red, OOM kills outlined, runs with no
/// duration (still running) on the axis. `max_runtime_ms` (a `metric.duration <` assertion): a
/// dashed <line class="max-runtime">, within the scale. `misses`: the times (ISO 8601) its missed
/// slots were alerted, each a <path class="miss"> triangle under the time axis (not a run mark).
std::string duration_chart_svg(const nlohmann::json& runs, std::optional<int64_t> max_runtime_ms = std::nullopt,
                               const std::vector<std::string>& misses = {});

}  // namespace cronitor::agent::dashboard
