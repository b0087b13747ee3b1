#include "agent/dashboard/run_charts.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/dashboard/html.h"

namespace cronitor::agent::dashboard {
namespace {

/// A coordinate with one decimal, as SVG takes it ("12.5").
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

/// The tooltip of a run's mark: "2026-12-06T04:00:00Z failed exit 1 (2m 5s)".
std::string run_title(const nlohmann::json& r) {
  std::string t =
      escape_json(r.value("started", nlohmann::json())) + " " + escape_json(r.value("status", nlohmann::json()));
  if (r.contains("exit_code") && r["exit_code"].is_number()) t += " exit " + std::to_string(r["exit_code"].get<int>());
  if (r.contains("signal") && r["signal"].is_string()) t += " " + escape(r["signal"].get<std::string>());
  if (r.value("oom", false)) t += " OOM";
  if (r.contains("duration_ms") && r["duration_ms"].is_number()) t += " (" + duration_text(r["duration_ms"]) + ")";
  return t;
}

}  // namespace

std::string run_class(const nlohmann::json& run) {
  const std::string status = run.value("status", std::string());
  std::string c = status == "ok" || status == "failed" || status == "running" || status == "missed" ? status : "other";
  if (run.value("oom", false)) c += " oom";
  return c;
}

namespace {

/// The strip's entries in order (newest first, at most `limit`): `on_run(run)` for a run of
/// `runs`, `on_miss(ms)` for a missed slot placed among them by time. Nothing is copied: the
/// overview copied 1,000 jobs' 60 runs each to draw their strips (dashboard_bench's overview
/// 116-129 ms with the copies, 16.5-17.9 ms without).
template <class OnRun, class OnMiss>
void walk_strip(const nlohmann::json& runs, const nlohmann::json& missed_slots, size_t limit, OnRun on_run,
                OnMiss on_miss) {
  const size_t n_runs = runs.is_array() ? runs.size() : 0;
  std::vector<int64_t> misses;
  if (missed_slots.is_array())
    for (const auto& m : missed_slots)
      if (auto t = iso_ms(m)) misses.push_back(*t);
  std::sort(misses.rbegin(), misses.rend());
  auto run_ms = [](const nlohmann::json& r) -> std::optional<int64_t> {
    if (r.contains("t_ms") && r["t_ms"].is_number_integer()) return r["t_ms"].get<int64_t>();
    if (auto t = iso_ms(r.value("started", nlohmann::json()))) return t;
    return iso_ms(r.value("ended", nlohmann::json()));
  };
  // Both lists newest first, merged by time; a run without a time keeps its place before older ones.
  size_t i = 0, k = 0;
  for (size_t out = 0; out < limit && (i < n_runs || k < misses.size()); ++out) {
    const auto t = i < n_runs && k < misses.size() ? run_ms(runs[i]) : std::nullopt;
    if (k < misses.size() && (i >= n_runs || (t && misses[k] > *t)))
      on_miss(misses[k++]);
    else
      on_run(runs[i++]);
  }
}

}  // namespace

nlohmann::json strip_entries(const nlohmann::json& runs, const nlohmann::json& missed_slots, size_t limit) {
  nlohmann::json out = nlohmann::json::array();
  walk_strip(
      runs, missed_slots, limit, [&](const nlohmann::json& r) { out.push_back(r); },
      [&](int64_t ms) {
        out.push_back({{"status", "missed"}, {"t_ms", ms}});
      });
  return out;
}

std::vector<std::string> strip_classes(const nlohmann::json& runs, const nlohmann::json& missed_slots, size_t limit) {
  std::vector<std::string> out;
  out.reserve(
      std::min(limit, (runs.is_array() ? runs.size() : 0) + (missed_slots.is_array() ? missed_slots.size() : 0)));
  walk_strip(
      runs, missed_slots, limit, [&](const nlohmann::json& r) { out.push_back(run_class(r)); },
      [&](int64_t) { out.emplace_back("missed"); });
  return out;
}

std::string run_strip_svg(const nlohmann::json& runs, size_t limit) {
  return run_strip_svg(strip_classes(runs, nlohmann::json(), limit), limit);
}

std::string run_strip_svg(const std::vector<std::string>& classes, size_t limit) {
  constexpr int kW = 5, kGap = 1, kH = 16;
  const size_t n = std::min(classes.size(), limit);
  const std::string w = std::to_string(limit * (kW + kGap)), h = std::to_string(kH);
  std::string out = "<svg class=\"strip\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
                    "\" role=\"img\" aria-label=\"last " + std::to_string(n) + " runs\">";
  // classes[0] is the newest: it goes rightmost, the oldest of the `n` leftmost. All runs of one
  // class are one path (data-n: how many), each row of them a subpath "Mx 8hW" dashed a dash per
  // run (stroke-dasharray 5 1 restarts at each subpath), so 1,000 jobs' strips stay small: a rect
  // with a tooltip per run weighed 8 KB a job, a path per row of one class 1.26 MB for 1,000 jobs
  // failing every 9th run.
  std::vector<std::pair<std::string_view, std::pair<size_t, std::string>>> paths;  // class -> (runs, d)
  for (size_t i = 0; i < n;) {
    const std::string& cls = classes[n - 1 - i];
    size_t k = 1;
    while (i + k < n && classes[n - 1 - i - k] == cls) ++k;
    auto it = std::find_if(paths.begin(), paths.end(), [&](const auto& p) { return p.first == cls; });
    if (it == paths.end()) it = paths.insert(paths.end(), {cls, {0, std::string()}});
    it->second.first += k;
    it->second.second += "M" + std::to_string(i * (kW + kGap)) + " 8h" + std::to_string(k * (kW + kGap) - kGap);
    i += k;
  }
  for (const auto& [cls, p] : paths) {
    out += "<path class=\"seg ";
    out += cls;
    out += "\" data-n=\"" + std::to_string(p.first) + "\" d=\"" + p.second + "\"/>";
  }
  out += "</svg>";
  return out;
}

std::string duration_chart_svg(const nlohmann::json& runs, std::optional<int64_t> max_runtime_ms,
                               const std::vector<std::string>& misses) {
  constexpr double kW = 720, kH = 220, kLeft = 56, kRight = 12, kTop = 10, kBottom = 24;
  int64_t t_min = INT64_MAX, t_max = INT64_MIN, d_max = max_runtime_ms.value_or(0);
  std::vector<std::pair<int64_t, const std::string*>> missed;
  for (const auto& m : misses)
    if (auto t = iso_ms(nlohmann::json(m))) {
      missed.emplace_back(*t, &m);
      t_min = std::min(t_min, *t), t_max = std::max(t_max, *t);
    }
  std::vector<std::optional<int64_t>> at(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    at[i] = iso_ms(r.value("started", nlohmann::json()));
    if (!at[i]) at[i] = iso_ms(r.value("ended", nlohmann::json()));
    if (at[i]) t_min = std::min(t_min, *at[i]), t_max = std::max(t_max, *at[i]);
    if (r.contains("duration_ms") && r["duration_ms"].is_number())
      d_max = std::max(d_max, r["duration_ms"].get<int64_t>());
  }
  if (d_max <= 0) d_max = 1000;
  const double plot_w = kW - kLeft - kRight, plot_h = kH - kTop - kBottom;
  std::string out = "<svg class=\"chart\" width=\"" + num(kW) + "\" height=\"" + num(kH) + "\" viewBox=\"0 0 " +
                    num(kW) + " " + num(kH) + "\" role=\"img\" aria-label=\"durations of " +
                    std::to_string(runs.size()) + " runs\">";
  const double x0 = kLeft, x1 = kLeft + plot_w, y0 = kTop + plot_h, y1 = kTop;
  out += "<line class=\"axis\" x1=\"" + num(x0) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(y0) +
         "\"/><line class=\"axis\" x1=\"" + num(x0) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x0) + "\" y2=\"" +
         num(y0) + "\"/>";
  out += "<text x=\"4\" y=\"" + num(kTop + 10) + "\">" + escape(duration_text(d_max)) + "</text><text x=\"4\" y=\"" +
         num(y0) + "\">0</text>";
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    // Oldest left. A run with no readable time keeps its place in the list (history order).
    double fx = 0.5;
    if (at[i] && t_max > t_min)
      fx = double(*at[i] - t_min) / double(t_max - t_min);
    else if (!at[i] && runs.size() > 1)
      fx = 1.0 - double(i) / double(runs.size() - 1);
    const bool has_d = r.contains("duration_ms") && r["duration_ms"].is_number();
    const double fy = has_d ? double(std::max<int64_t>(0, r["duration_ms"].get<int64_t>())) / double(d_max) : 0.0;
    const std::string cls = run_class(r);
    const bool failed = cls.starts_with("failed");
    out += "<circle class=\"mark " + cls + "\" data-run=\"" + escape_json(r.value("run_id", nlohmann::json())) +
           "\" cx=\"" + num(kLeft + fx * plot_w) + "\" cy=\"" + num(kTop + plot_h - fy * plot_h) + "\" r=\"" +
           (failed ? "5" : "3") + "\"><title>" + run_title(r) + "</title></circle>";
  }
  auto x_of = [&](int64_t t) {
    return kLeft + (t_max > t_min ? double(t - t_min) / double(t_max - t_min) : 0.5) * plot_w;
  };
  for (const auto& [t, text] : missed) {
    const double x = x_of(t);
    out += "<path class=\"miss\" d=\"M" + num(x) + " " + num(y0 + 2) + "l-5 9h10z\"><title>missed, alerted " +
           escape(*text) + "</title></path>";
  }
  if (max_runtime_ms && *max_runtime_ms > 0) {
    const double y = kTop + plot_h - double(*max_runtime_ms) / double(d_max) * plot_h;
    out += "<line class=\"max-runtime\" x1=\"" + num(x0) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x1) + "\" y2=\"" +
           num(y) + "\"><title>max runtime " + escape(duration_text(nlohmann::json(*max_runtime_ms))) +
           "</title></line>";
  }
  out += "</svg>";
  return out;
}

}  // namespace cronitor::agent::dashboard
