#include "agent/sources/cron_log_line.h"

#include <csignal>
#include <cstring>

#include "common/text.h"

namespace cronitor::agent {

namespace {

constexpr std::size_t kMaxPidDigits = 10;

/// Digits at the front of `s` as a positive number; advances `s`.
std::optional<int64_t> take_number(std::string_view& s) {
  std::size_t n = 0;
  int64_t v = 0;
  while (n < s.size() && n < kMaxPidDigits + 1 && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
  if (n == 0 || n > kMaxPidDigits) return std::nullopt;
  s.remove_prefix(n);
  return v;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<CronLogLine> parse_cron_message(int64_t cron_pid, std::string_view m) {
  CronLogLine out;
  out.cron_pid = cron_pid;
  if (take(m, "(CRON) error (grandchild #")) {
    auto pid = take_number(m);
    if (!pid) return std::nullopt;
    out.kind = CronLogLine::Kind::kError;
    out.job_pid = *pid;
    if (take(m, " failed with exit status ")) {
      auto st = take_number(m);
      if (!st || *st > 255) return std::nullopt;
      out.exit_status = static_cast<int>(*st);
    } else if (take(m, " terminated by signal ")) {
      auto sig = take_number(m);
      if (!sig || *sig < 1 || *sig > 64) return std::nullopt;
      out.exit_status = 128 + static_cast<int>(*sig);
      out.signal = signal_name(static_cast<int>(*sig));
    } else {
      return std::nullopt;
    }
    return m.starts_with(")") ? std::optional(out) : std::nullopt;
  }
  if (!take(m, "(")) return std::nullopt;
  const std::size_t close = m.find(") ");
  if (close == std::string_view::npos || close == 0 || close > 64) return std::nullopt;
  out.user = std::string(m.substr(0, close));
  if (out.user == "CRON") return std::nullopt;
  m.remove_prefix(close + 2);
  if (take(m, "CMD ("))
    out.kind = CronLogLine::Kind::kCmd;
  else if (take(m, "END ("))
    out.kind = CronLogLine::Kind::kEnd;
  else
    return std::nullopt;
  // The command is everything up to the final ")" (it may hold parentheses itself).
  if (!m.ends_with(")")) return std::nullopt;
  m.remove_suffix(1);
  if (m.starts_with("[")) {
    std::string_view rest = m.substr(1);
    auto pid = take_number(rest);
    if (pid && take(rest, "] ")) {
      out.job_pid = *pid;
      m = rest;
    }
  }
  out.command = std::string(m);
  return out;
}

std::optional<std::pair<int64_t, std::string_view>> split_syslog_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  for (std::size_t at = line.find("CRON["); at != std::string_view::npos; at = line.find("CRON[", at + 1)) {
    // "CRON" as a whole word: at the start, or after a blank or a syslog priority ("<78>").
    if (at > 0 && line[at - 1] != ' ' && line[at - 1] != '>') continue;
    std::string_view rest = line.substr(at + 5);
    auto pid = take_number(rest);
    if (!pid || !take(rest, "]: ")) continue;
    return std::pair{*pid, rest};
  }
  return std::nullopt;
}

std::string cron_logged_command(std::string_view c) {
  std::string out;
  out.reserve(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i] == '\\' && i + 1 < c.size() && c[i + 1] == '%') {
      out += '%';
      ++i;
    } else if (c[i] == '%') {
      break;
    } else {
      out += c[i];
    }
  }
  return std::string(trim_blanks(out));
}

}  // namespace cronitor::agent
