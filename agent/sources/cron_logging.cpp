#include "agent/sources/cron_logging.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "agent/sources/cron_check.h"
#include "agent/sources/cron_log_watch.h"
#include "agent/sources/host_facts.h"
#include "common/text.h"

namespace cronitor::agent {
namespace {

constexpr std::size_t kMaxDefaultFile = 64 * 1024;  // /etc/default/cron is a few lines

/// The words of a shell assignment's value, as cron.service's `$EXTRA_OPTS` splits them: the value
/// ends at the first blank outside quotes, the quotes are taken off, and the rest is split at
/// blanks ('-L 15', "-L 15", -L15).
std::vector<std::string> words(std::string_view v) {
  std::string value;
  char quote = 0;
  for (char c : v) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        value += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ' ' || c == '\t') {
      break;  // the assignment ends (a comment may follow)
    } else {
      value += c;
    }
  }
  std::vector<std::string> out{"cron"};  // argv[0], as cron_log_level() expects
  std::string word;
  for (char c : value + ' ') {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

bool sets_level(const std::vector<std::string>& argv) {
  for (std::size_t i = 1; i < argv.size(); ++i)
    if (argv[i].starts_with("-L")) return true;
  return false;
}

}  // namespace

std::optional<int> extra_opts_log_level(std::string_view text) {
  std::optional<int> level;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = trim_space(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.starts_with("export ")) line = trim_space(line.substr(7));
    if (!line.starts_with("EXTRA_OPTS=")) continue;
    const auto argv = words(line.substr(11));
    level = sets_level(argv) ? std::optional(cron_log_level(argv)) : std::nullopt;  // the last one counts
  }
  return level;
}

CronLogging detect_cron_logging(const std::string& root) {
  if (const auto pid = read_cron_pid(root)) {
    if (auto st = read_proc_stat(*pid); st && st->alive()) {
      const auto argv = proc_cmdline(*pid);
      if (!argv.empty()) return {cron_log_level(argv), "cron's command line (pid " + std::to_string(*pid) + ")"};
    }
  }
  std::ifstream in(root + "/etc/default/cron", std::ios::binary);
  std::string text;
  if (in) {
    text.resize(kMaxDefaultFile);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (auto level = extra_opts_log_level(text)) return {*level, "EXTRA_OPTS in /etc/default/cron"};
  return {1, "cron's default"};
}

std::optional<std::string> unseen_failures(const CronLogging& l) {
  if (l.ends_logged() && l.failures_logged()) return std::nullopt;
  const std::string what =
      l.ends_logged() ? "the start and end of jobs but not their failures" : "only the start of jobs";
  return "cron logs " + what + " (-L " + std::to_string(l.level) + ", " + l.from +
         "), so their outcome is unknown and failures are not seen; to see them, wrap the line "
         "(`cronitor-agent wrap --package-files FILE`, or discovery.wrap_package_files: true), or have cron log "
         "job ends: EXTRA_OPTS='-L 15' in /etc/default/cron, then `systemctl restart cron`";
}

}  // namespace cronitor::agent
