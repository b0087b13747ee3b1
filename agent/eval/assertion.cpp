#include "agent/eval/assertion.h"

#include <cctype>
#include <cmath>

#include "common/duration.h"
#include "common/text.h"

namespace cronitor::agent {

Result<Assertion> Assertion::parse(std::string_view text) {
  Assertion a;
  a.text = std::string(trim_space(text));
  std::string_view s = trim_space(text);
  constexpr std::string_view kPrefix = "metric.";
  if (!s.starts_with(kPrefix))
    return fail("assertion \"" + a.text + "\": must start with \"metric.\" (e.g. \"metric.duration < 5 minutes\")");
  s.remove_prefix(kPrefix.size());
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == '-')) ++i;
  if (i == 0 || i > 64) return fail("assertion \"" + a.text + "\": missing or too long metric name");
  a.metric = std::string(s.substr(0, i));
  s = trim_space(s.substr(i));
  struct OpName {
    std::string_view text;
    Op op;
  };
  constexpr OpName kOps[] = {{"<=", Op::kLe}, {">=", Op::kGe}, {"==", Op::kEq}, {"!=", Op::kNe},
                             {"<", Op::kLt},  {">", Op::kGt},  {"=", Op::kEq}};
  bool found = false;
  for (const auto& o : kOps) {
    if (s.starts_with(o.text)) {
      a.op = o.op;
      s = trim_space(s.substr(o.text.size()));
      found = true;
      break;
    }
  }
  if (!found) return fail("assertion \"" + a.text + "\": expected one of < <= > >= == != after the metric");
  if (s.empty()) return fail("assertion \"" + a.text + "\": missing value");
  if (a.metric == "duration") {
    auto d = parse_duration(s);
    if (!d) return fail("assertion \"" + a.text + "\": " + d.error().message);
    a.value = static_cast<double>(d->count());
  } else {
    std::string v(s);
    char* end = nullptr;
    a.value = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !std::isfinite(a.value))
      return fail("assertion \"" + a.text + "\": value \"" + v + "\" is not a number");
  }
  return a;
}

std::optional<std::chrono::milliseconds> Assertion::max_runtime() const {
  if (metric != "duration" || (op != Op::kLt && op != Op::kLe)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(value * 1000));
}

bool Assertion::holds(double actual) const {
  switch (op) {
    case Op::kLt:
      return actual < value;
    case Op::kLe:
      return actual <= value;
    case Op::kGt:
      return actual > value;
    case Op::kGe:
      return actual >= value;
    case Op::kEq:
      return actual == value;
    case Op::kNe:
      return actual != value;
  }
  return false;
}

std::optional<double> metric_value(const Assertion& a, std::chrono::milliseconds duration,
                                   const std::map<std::string, double>& metrics) {
  if (a.metric == "duration") return static_cast<double>(duration.count()) / 1000.0;
  auto it = metrics.find(a.metric);
  if (it == metrics.end()) return std::nullopt;
  return it->second;
}

}  // namespace cronitor::agent
