// Encoding half of the run event format (common/event.h). Hand-written on purpose: the wrapper
// links it and must start fast and small, so no JSON library, no iostreams here.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/event.h"
#include "common/json_text.h"

namespace cronitor {
namespace {

bool is_cont(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Valid UTF-8, at most `max` bytes, keeping the beginning.
std::string head_utf8(std::string_view s, size_t max) {
  std::string v = valid_utf8(s);
  if (v.size() <= max) return v;
  size_t cut = max;
  while (cut > 0 && is_cont(v[cut])) --cut;
  v.resize(cut);
  return v;
}

// Valid UTF-8, at most `max` bytes, keeping the end.
std::string tail_utf8(std::string_view s, size_t max) {
  // Sanitising can triple the size, so look at no more than 3*max raw bytes from the end first.
  if (s.size() > 3 * max + 3) s.remove_prefix(s.size() - (3 * max + 3));
  std::string v = valid_utf8(s, /*keep_nul=*/true);  // output is binary: keep its NULs
  size_t start = 0;
  // A cut raw prefix may have left stray continuation bytes, now each a U+FFFD: harmless.
  if (v.size() > max) {
    start = v.size() - max;
    while (start < v.size() && is_cont(v[start])) ++start;
  }
  return v.substr(start);
}

void put_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_double(std::string& out, double v) {
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that round-trips
  out.append(buf, r.ptr);
}

void put_field(std::string& out, std::string_view name) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":";
}

void put_opt_string(std::string& out, std::string_view name, const std::optional<std::string>& v, size_t max) {
  put_field(out, name);
  if (v)
    append_json_string(out, head_utf8(*v, max));
  else
    out += "null";
}

}  // namespace

std::string_view to_string(RunState s) {
  switch (s) {
    case RunState::kRun:
      return "run";
    case RunState::kComplete:
      return "complete";
    case RunState::kFail:
      return "fail";
    case RunState::kMetric:
      return "metric";
    case RunState::kUnknown:
      return "unknown";
  }
  return "run";
}

std::optional<RunState> wire_state(std::string_view name) {
  for (RunState s : {RunState::kRun, RunState::kComplete, RunState::kFail, RunState::kMetric})
    if (name == to_string(s)) return s;
  return std::nullopt;
}

bool valid_metric_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxMetricNameBytes) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') return false;
  return true;
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return false;
  for (size_t i = 0; i < key.size();) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c == 0x7F) return false;
    size_t n = utf8_seq_len(key, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool valid_run_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool valid_timestamp(std::string_view ts) {
  // 2026-11-21T09:35:39.123Z
  if (ts.size() != 24) return false;
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (size_t i = 0; i < ts.size(); ++i) {
    if (kShape[i] == 'd') {
      if (ts[i] < '0' || ts[i] > '9') return false;
    } else if (ts[i] != kShape[i]) {
      return false;
    }
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (ts[i] - '0');
    return v;
  };
  int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int mdays = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= mdays && num(11, 2) <= 23 && num(14, 2) <= 59 && num(17, 2) <= 60;
}

std::string format_timestamp_ms(int64_t unix_ms) {
  if (unix_ms < 0) unix_ms = 0;
  if (unix_ms > 253402300799999) unix_ms = 253402300799999;  // 9999-12-31T23:59:59.999Z
  time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string encode(const RunEvent& e) {
  std::string out;
  out.reserve(256 + e.output_tail.size() + e.output_tail.size() / 4);
  out += '{';
  put_field(out, "v");
  put_int(out, e.v);
  put_field(out, "key");
  append_json_string(out, head_utf8(e.key, kMaxKeyBytes));
  put_field(out, "run_id");
  append_json_string(out, head_utf8(e.run_id, 36));
  put_field(out, "state");
  append_json_string(out, to_string(e.state));
  put_field(out, "ts");
  append_json_string(out, head_utf8(e.ts, 24));
  put_field(out, "host");
  append_json_string(out, head_utf8(e.host, kMaxHostBytes));
  put_field(out, "pid");
  put_int(out, e.pid);
  put_field(out, "uid");
  put_int(out, e.uid);
  if (e.env) {
    put_field(out, "env");
    append_json_string(out, head_utf8(*e.env, kMaxEnvBytes));
  }
  if (e.state == RunState::kRun && e.wrapper_pid && *e.wrapper_pid > 0) {
    put_field(out, "wrapper_pid");
    put_int(out, *e.wrapper_pid);
  }
  if (is_terminal(e.state)) {
    put_field(out, "exit_code");
    put_int(out, e.exit_code);
    put_opt_string(out, "signal", e.signal, 16);
    put_field(out, "oom");
    out += e.oom ? "true" : "false";
    put_field(out, "timeout");
    out += e.timeout ? "true" : "false";
    put_field(out, "duration_ms");
    put_int(out, e.duration_ms < 0 ? 0 : e.duration_ms);
    put_field(out, "output_tail");
    append_json_string(out, tail_utf8(e.output_tail, kMaxOutputTailBytes));
    put_opt_string(out, "error", e.error, kMaxErrorBytes);
    put_field(out, "peak_memory_bytes");
    if (e.peak_memory_bytes && *e.peak_memory_bytes >= 0)
      put_int(out, *e.peak_memory_bytes);
    else
      out += "null";
  }
  if (is_terminal(e.state) || e.state == RunState::kMetric) {
    put_field(out, "metrics");
    out += '{';
    size_t n = 0;
    for (const auto& [name, value] : e.metrics) {
      if (n == kMaxMetrics) break;
      if (!valid_metric_name(name) || !std::isfinite(value)) continue;
      if (n++ > 0) out += ',';
      append_json_string(out, name);
      out += ':';
      put_double(out, value);
    }
    out += '}';
  }
  out += "}\n";
  return out;
}

}  // namespace cronitor
