#include "wrapper/options.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "common/event.h"

namespace cronitor::wrapper {

const char kUsage[] =
    "usage: cronitor-exec KEY [--no-output] [--env NAME] [--timeout DURATION] -- COMMAND\n"
    "       cronitor-exec --metric NAME=VALUE [--metric NAME=VALUE ...]   (inside a job)\n"
    "       cronitor-exec --version | --help\n";

Result<int64_t> parse_duration_ms(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return fail("bad duration \"" + std::string(text) + "\"");
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  double scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60e3;
  else if (unit == "h")
    scale = 3600e3;
  else if (unit == "d")
    scale = 86400e3;
  else
    return fail("bad duration unit in \"" + std::string(text) + "\" (use ms, s, m, h, d)");
  double ms = value * scale;
  if (!std::isfinite(ms) || ms < 1 || ms > 30 * 86400e3)
    return fail("duration \"" + std::string(text) + "\" is out of range (1ms..30d)");
  return static_cast<int64_t>(ms);
}

namespace {

Result<std::pair<std::string, double>> parse_metric(std::string_view arg) {
  auto eq = arg.find('=');
  if (eq == std::string_view::npos) return fail("--metric wants NAME=VALUE, got \"" + std::string(arg) + "\"");
  std::string name(arg.substr(0, eq));
  std::string_view text = arg.substr(eq + 1);
  if (!valid_metric_name(name))
    return fail("bad metric name \"" + name + "\" (1..64 of [A-Za-z0-9_.-], starting with a letter)");
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v))
    return fail("metric \"" + name + "\" has a bad value \"" + std::string(text) + "\"");
  return std::pair{std::move(name), v};
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  bool have_key = false;
  int i = 1;
  auto value = [&](const char* flag) -> Result<std::string> {
    if (i + 1 >= argc) return fail(std::string(flag) + " needs a value");
    return std::string(argv[++i]);
  };
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      o.mode = Options::Mode::kHelp;
      return o;
    } else if (a == "--version" && i == 1) {  // only alone: "KEY --version" is no request
      o.mode = Options::Mode::kVersion;
      return o;
    } else if (a == "--no-output") {
      o.no_output = true;
    } else if (a == "--env" || a.starts_with("--env=")) {
      std::string v;
      if (a == "--env") {
        auto r = value("--env");
        if (!r) return std::unexpected(r.error());
        v = *r;
      } else {
        v = a.substr(6);
      }
      if (v.empty() || v.size() > kMaxEnvBytes) return fail("--env wants 1..64 bytes");
      o.env = v;
    } else if (a == "--timeout" || a.starts_with("--timeout=")) {
      std::string v;
      if (a == "--timeout") {
        auto r = value("--timeout");
        if (!r) return std::unexpected(r.error());
        v = *r;
      } else {
        v = a.substr(10);
      }
      auto ms = parse_duration_ms(v);
      if (!ms) return std::unexpected(ms.error());
      o.timeout_ms = *ms;
    } else if (a == "--metric" || a.starts_with("--metric=")) {
      o.mode = Options::Mode::kMetric;
      std::string v;
      if (a == "--metric") {
        auto r = value("--metric");
        if (!r) return std::unexpected(r.error());
        v = *r;
      } else {
        v = a.substr(9);
      }
      auto m = parse_metric(v);
      if (!m) return std::unexpected(m.error());
      if (o.metrics.size() == kMaxMetrics) return fail("at most 32 metrics per call");
      o.metrics.push_back(std::move(*m));
    } else if (a.starts_with("-") && a.size() > 1) {
      return fail("unknown option \"" + std::string(a) + "\"");
    } else if (!have_key) {
      o.key = a;
      have_key = true;
    } else {
      break;  // `cronitor-exec KEY cmd args` (cronitor-cli's form): the command starts here
    }
  }
  if (o.mode == Options::Mode::kMetric) {
    if (have_key || i < argc) return fail("--metric takes no KEY nor COMMAND");
    return o;
  }
  if (!have_key) return fail("missing KEY");
  if (i >= argc) return fail("missing COMMAND (after \"--\")");
  for (int k = i; k < argc; ++k) {
    if (k > i) o.command += ' ';
    o.command += argv[k];
  }
  return o;
}

}  // namespace cronitor::wrapper
