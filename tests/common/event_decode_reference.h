// The run event decoder as it was before issue 20: nlohmann's DOM parse, then a Reader over the
// object. Test-only: the product decodes with nlohmann's SAX interface (common/event.cpp), and the
// differential tests (event_decode_diff_test.cpp, tests/fuzz/event_diff_fuzz.cpp) hold it to
// accept and reject exactly the lines this one does, with the same error messages. The wire's
// limits and the nesting check before parsing are common/event.h's, shared by both: what the two
// differ in, and what the tests compare, is the parse and the reading of the fields.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/event.h"

namespace cronitor {
namespace reference_detail {

using json = nlohmann::json;

inline bool valid_utf8_no_nul(const std::string& s) {
  // nlohmann validates UTF-8 while parsing; only NUL from "\u0000" can still sneak in.
  return s.find('\0') == std::string::npos;
}

class Reader {
 public:
  explicit Reader(const json& obj) : obj_(obj) {}

  Result<const json*> field(const char* name, bool required) const {
    auto it = obj_.find(name);
    if (it == obj_.end()) {
      if (required) return fail(std::string("missing field \"") + name + "\"");
      return nullptr;
    }
    return &*it;
  }

  Result<std::string> str(const char* name, size_t max, bool allow_empty = false, bool allow_nul = false) const {
    auto f = field(name, true);
    if (!f) return std::unexpected(f.error());
    if (!(*f)->is_string()) return fail(std::string("field \"") + name + "\" is not a string");
    const auto& s = (*f)->get_ref<const std::string&>();
    if (s.size() > max)
      return fail(std::string("field \"") + name + "\" is longer than " + std::to_string(max) + " bytes");
    if (s.empty() && !allow_empty) return fail(std::string("field \"") + name + "\" is empty");
    if (!allow_nul && !valid_utf8_no_nul(s)) return fail(std::string("field \"") + name + "\" holds a NUL");
    return s;
  }

  Result<std::optional<std::string>> opt_str(const char* name, size_t max, bool required) const {
    auto f = field(name, required);
    if (!f) return std::unexpected(f.error());
    if (*f == nullptr || (*f)->is_null()) return std::optional<std::string>{};
    auto s = str(name, max, true);
    if (!s) return std::unexpected(s.error());
    return std::optional<std::string>(std::move(*s));
  }

  Result<int64_t> integer(const char* name, int64_t lo, int64_t hi) const {
    auto f = field(name, true);
    if (!f) return std::unexpected(f.error());
    const json& j = **f;
    if (!j.is_number_integer()) return fail(std::string("field \"") + name + "\" is not an integer");
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(hi))
      return fail(std::string("field \"") + name + "\" is out of range");
    int64_t v = j.get<int64_t>();
    if (v < lo || v > hi) return fail(std::string("field \"") + name + "\" is out of range");
    return v;
  }

  Result<bool> boolean(const char* name) const {
    auto f = field(name, true);
    if (!f) return std::unexpected(f.error());
    if (!(*f)->is_boolean()) return fail(std::string("field \"") + name + "\" is not a boolean");
    return (*f)->get<bool>();
  }

 private:
  const json& obj_;
};

inline Result<std::map<std::string, double>> read_metrics(const json& j) {
  if (!j.is_object()) return fail("field \"metrics\" is not an object");
  if (j.size() > kMaxMetrics)
    return fail("field \"metrics\" has more than " + std::to_string(kMaxMetrics) + " entries");
  std::map<std::string, double> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!valid_metric_name(it.key()))
      return fail("metric name is invalid (1..64 of [A-Za-z0-9_.-], starting with a letter)");
    if (!it.value().is_number()) return fail("metric \"" + it.key() + "\" is not a number");
    double v = it.value().get<double>();
    if (!std::isfinite(v)) return fail("metric \"" + it.key() + "\" is not finite");
    out[it.key()] = v;
  }
  return out;
}

#define REFERENCE_TRY_ASSIGN(lhs, expr)              \
  do {                                               \
    auto tmp_ = (expr);                              \
    if (!tmp_) return std::unexpected(tmp_.error()); \
    lhs = std::move(*tmp_);                          \
  } while (0)

}  // namespace reference_detail

/// common/event.cpp's decode before issue 20 (nlohmann DOM, then Reader): the oracle of the
/// differential tests. Same lines accepted, same error messages.
inline Result<RunEvent> reference_decode(std::string_view line) {
  using namespace reference_detail;
  if (line.size() > kMaxLineBytes) return fail("event line is longer than " + std::to_string(kMaxLineBytes) + " bytes");
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.find('\n') != std::string_view::npos) return fail("event holds more than one line");
  // A hostile line cannot build deep trees: nesting is checked before parsing (a parser
  // callback would do it too, at a third of the whole decode's cost).
  if (nesting_depth(line) > kMaxNesting)
    return fail("event nests deeper than " + std::to_string(kMaxNesting) + " levels");
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail("event is not valid JSON");
  if (!j.is_object()) return fail("event is not a JSON object");
  Reader r(j);
  RunEvent e;
  int64_t v = 0;
  REFERENCE_TRY_ASSIGN(v, r.integer("v", 0, 1000));
  if (v != kEventVersion) return fail("unsupported event version " + std::to_string(v));
  REFERENCE_TRY_ASSIGN(e.key, r.str("key", kMaxKeyBytes));
  if (!valid_key(e.key)) return fail("field \"key\" holds control characters");
  REFERENCE_TRY_ASSIGN(e.run_id, r.str("run_id", 36));
  if (!valid_run_id(e.run_id)) return fail("field \"run_id\" is not a lowercase UUID");
  std::string state;
  REFERENCE_TRY_ASSIGN(state, r.str("state", 16));
  const std::optional<RunState> named = wire_state(state);
  if (!named) return fail("field \"state\" is not run, complete, fail or metric");
  e.state = *named;
  REFERENCE_TRY_ASSIGN(e.ts, r.str("ts", 24));
  if (!valid_timestamp(e.ts)) return fail("field \"ts\" is not YYYY-MM-DDTHH:MM:SS.mmmZ");
  REFERENCE_TRY_ASSIGN(e.host, r.str("host", kMaxHostBytes));
  REFERENCE_TRY_ASSIGN(e.pid, r.integer("pid", 1, kMaxPid));
  REFERENCE_TRY_ASSIGN(e.uid, r.integer("uid", 0, kMaxUid));
  REFERENCE_TRY_ASSIGN(e.env, r.opt_str("env", kMaxEnvBytes, false));
  if (e.state == RunState::kRun) {
    const json* wp = nullptr;
    REFERENCE_TRY_ASSIGN(wp, r.field("wrapper_pid", false));
    if (wp) REFERENCE_TRY_ASSIGN(e.wrapper_pid, r.integer("wrapper_pid", 1, kMaxPid));
  }
  if (is_terminal(e.state)) {
    int64_t code = 0;
    REFERENCE_TRY_ASSIGN(code, r.integer("exit_code", 0, 255));
    e.exit_code = static_cast<int>(code);
    REFERENCE_TRY_ASSIGN(e.signal, r.opt_str("signal", 16, true));
    if (e.signal && (e.signal->size() < 4 || e.signal->compare(0, 3, "SIG") != 0))
      return fail("field \"signal\" is not a signal name");
    REFERENCE_TRY_ASSIGN(e.oom, r.boolean("oom"));
    REFERENCE_TRY_ASSIGN(e.timeout, r.boolean("timeout"));
    REFERENCE_TRY_ASSIGN(e.duration_ms, r.integer("duration_ms", 0, kMaxDurationMs));
    REFERENCE_TRY_ASSIGN(e.output_tail, r.str("output_tail", kMaxOutputTailBytes, true, /*allow_nul=*/true));
    REFERENCE_TRY_ASSIGN(e.error, r.opt_str("error", kMaxErrorBytes, true));
    const json* peak = nullptr;
    REFERENCE_TRY_ASSIGN(peak, r.field("peak_memory_bytes", true));
    if (!peak->is_null()) {
      int64_t p = 0;
      REFERENCE_TRY_ASSIGN(p, r.integer("peak_memory_bytes", 0, kMaxDurationMs));
      e.peak_memory_bytes = p;
    }
  }
  if (is_terminal(e.state) || e.state == RunState::kMetric) {
    const json* m = nullptr;
    REFERENCE_TRY_ASSIGN(m, r.field("metrics", true));
    REFERENCE_TRY_ASSIGN(e.metrics, read_metrics(*m));
    if (e.state == RunState::kMetric && e.metrics.empty()) return fail("metric event without metrics");
  }
  return e;
}

#undef REFERENCE_TRY_ASSIGN

}  // namespace cronitor
