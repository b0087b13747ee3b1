#include "discovery/crontab_parser.h"

#include <array>

#include "common/text.h"
#include "schedule/cron_spec.h"

namespace cronitor::discovery {

namespace {

using schedule::CronDialect;
using schedule::CronSpec;

std::string_view trim_left(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) ++i;
  return s.substr(i);
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

// The name=VALUE of a "# cronitor: KEY=VALUE ..." comment (VALUE may be double-quoted); the agent
// reads the other settings. Discovery shows this name, as the alerts do.
std::optional<std::string> settings_name(std::string_view settings) {
  std::size_t pos = 0;
  while (pos < settings.size()) {
    while (pos < settings.size() && is_blank(settings[pos])) ++pos;
    const std::size_t begin = pos;
    bool quoted = false;
    for (; pos < settings.size() && (quoted || !is_blank(settings[pos])); ++pos) {
      if (settings[pos] == '"') quoted = !quoted;
    }
    std::string_view w = settings.substr(begin, pos - begin);
    if (!w.starts_with("name=")) continue;
    w.remove_prefix(5);
    if (w.size() >= 2 && w.front() == '"' && w.back() == '"') w = w.substr(1, w.size() - 2);
    if (!w.empty()) return std::string(w);
  }
  return std::nullopt;
}

// The next blank-separated word of `s` from `pos`; `begin` receives its offset.
std::string_view word(std::string_view s, std::size_t& pos, std::size_t& begin) {
  while (pos < s.size() && is_blank(s[pos])) ++pos;
  begin = pos;
  while (pos < s.size() && !is_blank(s[pos])) ++pos;
  return s.substr(begin, pos - begin);
}

void apply_env(JobEnv& env, const std::string& name, const std::string& value) {
  if (name == "SHELL") {
    env.shell = value;
  } else if (name == "PATH") {
    env.path = value;
  } else if (name == "MAILTO") {
    env.mailto = value;
    env.mailto_set = true;
  } else if (name == "TZ") {
    env.tz = value;
  } else if (name == "CRON_TZ") {
    env.cron_tz = value;
  }
}

JobEnv default_env() {
  JobEnv env;
  env.shell = "/bin/sh";
  env.path = "/usr/bin:/bin";
  return env;
}

struct JobLine {
  std::string schedule;
  std::string user;
  std::size_t command_offset = 0;  // within the parsed text
  std::string_view command;
  bool no_log = false;
};

// Parses one job line as cron does; `text` is the line without its newline.
Result<JobLine> parse_job_line(std::string_view text, CrontabFormat format) {
  JobLine out;
  std::size_t pos = 0;
  while (pos < text.size() && is_blank(text[pos])) ++pos;
  if (pos < text.size() && text[pos] == '-') {
    out.no_log = true;
    ++pos;
  }
  std::size_t begin = 0;
  if (pos < text.size() && text[pos] == '@') {
    const std::string_view alias = word(text, pos, begin);
    out.schedule = std::string(alias);
  } else {
    static constexpr std::array<const char*, 5> kNames = {"minute", "hour", "day-of-month", "month", "day-of-week"};
    for (int f = 0; f < 5; ++f) {
      const std::string_view w = word(text, pos, begin);
      if (w.empty()) return fail(std::string("missing the ") + kNames[f] + " field");
      if (f > 0) out.schedule += ' ';
      out.schedule += w;
    }
  }
  auto spec = CronSpec::parse(out.schedule, CronDialect::kDebian);
  if (!spec) return std::unexpected(spec.error());
  if (format == CrontabFormat::kSystem) {
    const std::string_view user = word(text, pos, begin);
    if (user.empty()) return fail("missing the user column");
    out.user = std::string(user);
  }
  while (pos < text.size() && is_blank(text[pos])) ++pos;
  std::string_view command = text.substr(pos);
  while (!command.empty() && command.back() == '\r') command.remove_suffix(1);
  if (trim_blank(command).empty()) return fail("missing the command");
  out.command_offset = pos;
  out.command = command;
  return out;
}

// Lines that look like jobs in comments but document the format (Debian's /etc/crontab).
bool documentation_line(const JobLine& j) {
  return j.user == "user-name" || trim_blank(j.command) == "command" ||
         trim_blank(j.command) == "command to be executed";
}

}  // namespace

bool parse_env_line(std::string_view line, std::string& name, std::string& value) {
  std::string_view s = trim_left(line);
  std::size_t i = 0;
  while (i < s.size() && s[i] != '=' && !is_blank(s[i])) ++i;
  if (i == 0) return false;
  const std::string_view n = s.substr(0, i);
  std::size_t j = i;
  while (j < s.size() && is_blank(s[j])) ++j;
  if (j >= s.size() || s[j] != '=') return false;
  // A job line never has '=' as its second word, but "*/5=..." would be odd: names are words.
  for (char c : n) {
    if (c == '*' || c == '@' || c == '#') return false;
  }
  std::string_view v = trim_blank(s.substr(j + 1));
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  name = std::string(n);
  value = std::string(v);
  return true;
}

ParsedCrontab parse_crontab(std::string_view text, CrontabFormat format, std::string_view file, const Limits& limits) {
  ParsedCrontab out;
  JobEnv env = default_env();
  std::optional<std::string> pending_name;
  bool pending_ignore = false;
  std::string_view settings_line;  // the last "# cronitor:" comment line, and its number
  int settings_no = 0;
  std::size_t pos = 0;
  int line_no = 0;
  auto warn = [&](int line, std::string msg) {
    if (out.warnings.size() < limits.max_warnings_per_file)
      out.warnings.push_back(Warning{std::string(file), line, std::move(msg)});
    else if (out.warnings.size() == limits.max_warnings_per_file)
      out.warnings.push_back(Warning{std::string(file), line, "more warnings from here on are not listed"});
  };
  // The file's last job line read: past it, one warning, and the rest is not read.
  auto full = [&] {
    if (out.entries.size() < limits.max_entries) return false;
    out.warnings.push_back(Warning{std::string(file), line_no,
                                   "more than " + std::to_string(limits.max_entries) +
                                       " job lines in this crontab: the rest of the file is not read"});
    return true;
  };
  // At most a job a line: room for a small file's jobs at once (growing the list moved every
  // entry read so far); a large one grows from 64. Lines counted with find (memchr), not byte by byte.
  std::size_t lines = 1;
  for (std::size_t at = text.find('\n'); at != std::string_view::npos && lines < 64; at = text.find('\n', at + 1))
    ++lines;
  out.entries.reserve(std::min(lines, limits.max_entries));
  while (pos < text.size()) {
    ++line_no;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view raw = text.substr(pos, eol - pos);
    const std::size_t line_begin = pos;
    pos = eol + 1;
    if (raw.size() > limits.max_line_bytes) {
      warn(line_no, "line longer than " + std::to_string(limits.max_line_bytes) + " bytes, ignoring");
      pending_name.reset();
      pending_ignore = false;
      continue;
    }
    const std::string_view content = trim_blank(raw);
    if (content.empty()) continue;
    if (content.front() == '#') {
      const std::string_view body = trim_blank(content.substr(1));
      if (iequals_prefix(body, "name:")) {
        pending_name = std::string(trim_blank(body.substr(5)));
        continue;
      }
      if (iequals_prefix(body, "cronitor:") && trim_blank(body.substr(9)) == "ignore") {
        pending_ignore = true;
        continue;
      }
      if (iequals_prefix(body, "cronitor:")) {
        if (auto n = settings_name(body.substr(9))) pending_name = std::move(n);
        settings_line = raw;
        settings_no = line_no;
        continue;
      }
      // A commented-out job line is listed as disabled; other comments are just comments.
      auto job = body.empty() ? Result<JobLine>(fail("")) : parse_job_line(body, format);
      if (job && !documentation_line(*job)) {
        if (full()) break;
        CrontabEntry e;
        e.line = line_no;
        const std::size_t body_offset = static_cast<std::size_t>(body.data() - text.data());
        e.command_begin = body_offset + job->command_offset;
        e.command_end = e.command_begin + job->command.size();
        e.schedule = std::move(job->schedule);
        e.user = std::move(job->user);
        e.command = std::string(job->command);
        e.no_log = job->no_log;
        e.disabled = true;
        e.name = std::move(pending_name);
        if (settings_no == line_no - 1) e.settings = std::string(settings_line);
        e.env = env;
        out.entries.push_back(std::move(e));
      }
      pending_name.reset();
      pending_ignore = false;
      continue;
    }
    std::string name, value;
    if (parse_env_line(content, name, value)) {
      apply_env(env, name, value);
      continue;
    }
    auto job = parse_job_line(raw, format);
    if (!job) {
      warn(line_no, job.error().message + ", ignoring line");
      pending_name.reset();
      pending_ignore = false;
      continue;
    }
    if (full()) break;
    CrontabEntry e;
    e.line = line_no;
    e.command_begin = line_begin + job->command_offset;
    e.command_end = e.command_begin + job->command.size();
    e.schedule = std::move(job->schedule);
    e.user = std::move(job->user);
    e.command = std::string(job->command);
    e.no_log = job->no_log;
    e.ignored = pending_ignore;
    e.name = std::move(pending_name);
    if (settings_no == line_no - 1) e.settings = std::string(settings_line);
    e.env = env;
    pending_name.reset();
    pending_ignore = false;
    out.entries.push_back(std::move(e));
  }
  return out;
}

ParsedAnacrontab parse_anacrontab(std::string_view text, std::string_view file, const Limits& limits) {
  ParsedAnacrontab out;
  JobEnv env = default_env();
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view raw = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (raw.size() > limits.max_line_bytes) {
      out.warnings.push_back({std::string(file), line_no, "line too long, ignoring"});
      continue;
    }
    const std::string_view content = trim_blank(raw);
    if (content.empty() || content.front() == '#') continue;
    std::string name, value;
    if (parse_env_line(content, name, value)) {
      apply_env(env, name, value);
      continue;
    }
    std::size_t p = 0, b = 0;
    const std::string_view period = word(content, p, b);
    const std::string_view delay = word(content, p, b);
    const std::string_view id = word(content, p, b);
    while (p < content.size() && is_blank(content[p])) ++p;
    const std::string_view command = content.substr(p);
    AnacronEntry e;
    e.line = line_no;
    e.info.period = std::string(period);
    if (period == "@daily") {
      e.info.period_days = 1;
    } else if (period == "@weekly") {
      e.info.period_days = 7;
    } else if (period == "@monthly") {
      e.info.period_days = 30;
    } else if (period == "@yearly" || period == "@annually") {
      e.info.period_days = 365;
    } else {
      int days = 0;
      bool ok = !period.empty() && period.size() < 6;
      for (char c : period) {
        ok = ok && c >= '0' && c <= '9';
        if (ok) days = days * 10 + (c - '0');
      }
      if (!ok || days == 0) {
        out.warnings.push_back({std::string(file), line_no,
                                "period \"" + std::string(period) +
                                    "\" is not a number of days or @daily/@weekly/@monthly, ignoring line"});
        continue;
      }
      e.info.period_days = days;
    }
    int delay_min = 0;
    bool delay_ok = !delay.empty() && delay.size() < 6;
    for (char c : delay) {
      delay_ok = delay_ok && c >= '0' && c <= '9';
      if (delay_ok) delay_min = delay_min * 10 + (c - '0');
    }
    if (!delay_ok || id.empty() || command.empty()) {
      out.warnings.push_back({std::string(file), line_no, "expected PERIOD DELAY JOB-ID COMMAND, ignoring line"});
      continue;
    }
    e.info.delay_minutes = delay_min;
    e.info.id = std::string(id);
    e.command = std::string(command);
    e.env = env;
    out.entries.push_back(std::move(e));
  }
  return out;
}

}  // namespace cronitor::discovery
