#include "discovery/crontab_source.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/owned.h"
#include "discovery/adoption_comment.h"
#include "discovery/cron_command.h"
#include "discovery/fs_root.h"
#include "discovery/job_identity.h"
#include "discovery/job_lines.h"
#include "discovery/parallel_files.h"

namespace cronitor::discovery {

namespace {

// crontab -l (Debian's crontab.c, NHEADER_LINES) leaves out up to 3 leading lines that start
// with '#': the header crontab(1) writes on install.
int listed_header_lines(std::string_view text) {
  int n = 0;
  for (std::size_t pos = 0; n < 3 && pos < text.size() && text[pos] == '#'; ++n) {
    const std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) return n + 1;
    pos = eol + 1;
  }
  return n;
}

using UniqueFile = Owned<std::FILE, std::fclose>;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// The uid of `user` in ROOT/etc/passwd, or nullopt when the user is not there.
std::optional<uid_t> lookup_uid(const FsRoot& root, std::string_view user) {
  auto passwd = root.read_file("/etc/passwd", 4 << 20);
  if (!passwd) return std::nullopt;
  std::string_view s = *passwd;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t eol = s.find('\n', pos);
    if (eol == std::string_view::npos) eol = s.size();
    const std::string_view line = s.substr(pos, eol - pos);
    pos = eol + 1;
    const auto c1 = line.find(':');
    if (c1 == std::string_view::npos || line.substr(0, c1) != user) continue;
    const auto c2 = line.find(':', c1 + 1);
    const auto c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 == std::string_view::npos) return std::nullopt;
    uid_t uid = 0;
    for (char c : line.substr(c2 + 1, c3 - c2 - 1)) {
      if (c < '0' || c > '9') return std::nullopt;
      uid = uid * 10 + static_cast<uid_t>(c - '0');
    }
    return uid;
  }
  return std::nullopt;
}

/// A crontab larger than Limits::max_file_bytes is still read by cron: it is read here line by
/// line, so that only its oversized lines are skipped (the parser reports each with its line
/// number; they stay in place as placeholders one byte over the line limit). Lines past this many
/// kept bytes are not read at all.
constexpr std::size_t kMaxCrontabBytes = 64u << 20;

Result<std::string> read_large_crontab(const std::string& real, const Limits& limits, bool& truncated) {
  UniqueFile f(std::fopen(real.c_str(), "re"));
  if (!f) return std::unexpected(Error::from_errno("fopen", real));
  std::string out, line;
  char buf[65536];
  bool oversized = false;
  auto end_line = [&] {
    if (oversized) line.assign(limits.max_line_bytes + 1, '#');  // the parser's "line longer than" warning
    out += line;
    out += '\n';
    line.clear();
    oversized = false;
  };
  std::size_t n;
  while (!truncated && (n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        end_line();
        if (out.size() > kMaxCrontabBytes) {
          truncated = true;
          break;
        }
      } else if (!oversized) {
        line += buf[i];
        if (line.size() > limits.max_line_bytes) oversized = true;
      }
    }
  }
  if (std::ferror(f.get())) return std::unexpected(Error::from_errno("fread", real));
  if (!truncated && (!line.empty() || oversized)) end_line();
  return out;
}

/// The jobs of a cron.d symlink are the lines of its target, which may be read as a crontab of its
/// own (/etc/crontab): their keys are derived with the link's path, so the two never share one.
/// A wrapped line reports its runs under the key written in it, the target's: the copy seen
/// through the link is listed (under its own key) but not monitored, and the file is warned about.
void distinct_linked_keys(FileScan& out, std::string_view path, const std::string& target) {
  const std::string via = "symlink " + std::string(path);
  int wrapped = 0;
  for (Job& j : out.jobs) {
    if (!j.wrapped) {
      j.key = derive_key(via, j.user, j.schedule, j.command);
      continue;
    }
    const std::string reported = j.key;
    j.key = derive_key(via, j.user, j.schedule, j.command);
    ++wrapped;
    if (j.disabled) continue;
    j.disabled = true;
    j.reason = "the same line as in \"" + target + "\" (this file is a symbolic link to it): cron runs it a " +
               "second time, and those runs report under key " + reported;
  }
  if (wrapped > 0)
    out.warnings.push_back(Warning{out.path, 0,
                                   "a symbolic link to \"" + target + "\": cron runs its " + std::to_string(wrapped) +
                                       " wrapped line(s) a second time under the same keys; remove the link "
                                       "if that is not meant"});
}

FileScan scan_crontab_file(const ScanContext& ctx, std::string_view path, JobOrigin origin) {
  FileScan out;
  out.path = std::string(path);
  const auto info = ctx.root.stat(path);
  if (!info || info->directory()) return out;
  std::string refusal;
  std::string file_user;
  if (origin == JobOrigin::kSystemCrontab) {
    if (parent_of(path) == kCronDir) refusal = cron_d_name_problem(base_of(path));
    if (refusal.empty() && !info->regular()) refusal = "cron reads only regular files";
    if (refusal.empty() && (info->mode & 022) != 0) {
      refusal = "cron refuses this file: it is group- or other-writable (INSECURE MODE)";
    }
    if (refusal.empty() && info->uid != 0) {
      refusal = "cron refuses this file: it is not owned by root (WRONG FILE OWNER)";
    }
  } else {
    file_user = std::string(base_of(path));
    if (file_user.starts_with("tmp.") || file_user.starts_with(".")) return out;  // crontab(1) temp files
    if (!info->regular()) {
      refusal = "cron reads only regular files";
    } else if ((info->mode & 022) != 0) {
      refusal = "cron refuses this file: it is group- or other-writable (INSECURE MODE)";
    } else if (auto uid = lookup_uid(ctx.root, file_user); !uid) {
      if (ctx.root.stat("/etc/passwd")) refusal = "cron skips this crontab: no user \"" + file_user + "\" (ORPHAN)";
    } else if (*uid != info->uid) {
      refusal = "cron refuses this file: it is not owned by " + file_user + " (WRONG FILE OWNER)";
    }
  }
  auto text = ctx.root.read_file(path, ctx.limits.max_file_bytes);
  bool truncated = false;
  if (!text && static_cast<std::size_t>(info->size) > ctx.limits.max_file_bytes && info->regular())
    text = read_large_crontab(ctx.root.real_path(path), ctx.limits, truncated);
  if (!text) {
    out.warnings.push_back(Warning{out.path, 0, text.error().message + ", ignoring"});
    return out;
  }
  if (truncated)
    out.warnings.push_back(Warning{out.path, 0,
                                   "larger than " + std::to_string(kMaxCrontabBytes) +
                                       " bytes of lines: the rest of the file is not read, ignoring it"});
  // Debian's cron reads a symbolic link in /etc/cron.d when both the link and its target are owned
  // by root (cron(8)): its lines run a second time when the target is a crontab too.
  const bool linked = origin == JobOrigin::kSystemCrontab && info->symlink && parent_of(path) == kCronDir;
  std::string target;
  if (linked) {
    struct stat lst {};
    if (refusal.empty() && ::lstat(ctx.root.real_path(path).c_str(), &lst) == 0 && lst.st_uid != 0)
      refusal = "cron refuses this symbolic link: it is not owned by root (WRONG FILE OWNER)";
    target = ctx.root.read_link(path).value_or("");
    if (!target.empty() && target.front() != '/') target = std::string(parent_of(path)) + "/" + target;
    target = std::filesystem::path(target).lexically_normal().string();
  }
  const auto format = origin == JobOrigin::kSystemCrontab ? CrontabFormat::kSystem : CrontabFormat::kUser;
  Limits limits = ctx.limits;
  if (origin == JobOrigin::kUserCrontab && file_user != "root") limits.max_entries = limits.max_jobs_per_user_crontab;
  ParsedCrontab parsed = parse_crontab(*text, format, path, limits);
  out.warnings = std::move(parsed.warnings);
  for (const CrontabEntry& e : parsed.entries) {
    if (e.env.cron_tz && !e.disabled) {
      out.warnings.push_back(Warning{out.path, e.line,
                                     "CRON_TZ is not supported by Debian's cron: the job runs on the "
                                     "host's time zone (" +
                                         ctx.host_zone + ")"});
      break;
    }
  }
  out.jobs = crontab_jobs(std::move(parsed), path, origin, file_user, ctx.host_zone, refusal);
  if (origin == JobOrigin::kUserCrontab) {
    const int header = listed_header_lines(*text);
    for (Job& j : out.jobs) j.header_lines = header;
  }
  if (linked) distinct_linked_keys(out, path, target);
  return out;
}

}  // namespace

std::string cron_d_name_problem(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.ends_with(".dpkg-old") || name.ends_with(".dpkg-dist") || name.ends_with(".dpkg-new") ||
      name.ends_with(".dpkg-tmp") || name.ends_with(".dpkg-bak") || name.ends_with(".ucf-old") ||
      name.ends_with(".ucf-dist") || name.ends_with(".ucf-new")) {
    return "cron does not read this file: it is a copy left by the package manager";
  }
  if (name.ends_with("~")) return "cron does not read this file: it is an editor backup (ends with ~)";
  if (name.front() == '.') return "cron does not read hidden files (name starts with a dot)";
  for (char c : name) {
    if (!name_char(c)) {
      return std::string("cron does not read this file: its name has \"") + c +
             "\" (only letters, digits, '_' and '-' are read)";
    }
  }
  return {};
}

std::string run_parts_name_problem(std::string_view name) {
  if (name.empty()) return "empty name";
  for (char c : name) {
    if (!name_char(c)) {
      return std::string("run-parts skips this file: its name has \"") + c +
             "\" (only letters, digits, '_' and '-' are run)";
    }
  }
  return {};
}

std::string run_parts_dir_of(std::string_view command) {
  const auto at = command.find("run-parts");
  if (at == std::string_view::npos) return {};
  std::size_t pos = at + 9;
  std::string dir;
  while (pos < command.size()) {
    while (pos < command.size() && (command[pos] == ' ' || command[pos] == '\t')) ++pos;
    const std::size_t begin = pos;
    while (pos < command.size() && command[pos] != ' ' && command[pos] != '\t' && command[pos] != ';' &&
           command[pos] != '}' && command[pos] != '&' && command[pos] != '|' && command[pos] != ')') {
      ++pos;
    }
    const std::string_view w = command.substr(begin, pos - begin);
    if (w.empty()) break;
    if (!w.starts_with("-")) {
      dir = std::string(w);
      break;
    }
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir.starts_with("/") ? dir : std::string();
}

std::vector<Job> crontab_jobs(ParsedCrontab&& parsed, std::string_view file, JobOrigin origin,
                              std::string_view file_user, std::string_view zone, const std::string& refusal) {
  std::vector<Job> jobs;
  jobs.reserve(parsed.entries.size());
  for (CrontabEntry& e : parsed.entries) {
    Job& j = jobs.emplace_back();  // built in place: moving a Job moves its dozen strings
    j.source = SourceKind::kCrontab;
    j.origin = origin;
    j.file = std::string(file);
    j.line = e.line;
    j.user = origin == JobOrigin::kSystemCrontab ? std::move(e.user) : std::string(file_user);
    j.schedule = std::move(e.schedule);
    j.timezone = std::string(zone);
    j.command = std::move(e.command);
    j.env = std::move(e.env);
    j.no_log = e.no_log;
    j.run_parts_dir = run_parts_dir_of(j.command);
    // What names the job: the command without an upstream's tool (a view: a copy of every
    // command was one allocation a line).
    std::string_view job_text = j.command;
    std::string instrumented_inner;
    if (auto w = parse_wrapped(j.command)) {
      j.wrapped = true;
      j.key = w->key;
      if (auto a = parse_adoption(e.settings)) j.instrumented = std::move(a->what);  // `wrap --adopt`
    } else {
      j.key = derive_key(to_string(origin), j.user, j.schedule, j.command);
      if (auto ic = parse_instrumented(j.command)) {
        j.instrumented = std::move(ic->what);
        instrumented_inner = std::move(ic->inner);
        job_text = instrumented_inner;
        if (origin == JobOrigin::kUserCrontab && j.user != "root" && j.instrumented->not_adoptable.empty())
          j.instrumented->not_adoptable = user_crontab_refusal(*j.instrumented);
      }
    }
    j.named = e.name.has_value();
    j.name = e.name ? std::move(*e.name) : derive_name(job_text);
    if (!refusal.empty()) {
      j.disabled = true;
      j.reason = refusal;
    } else if (e.disabled) {
      j.disabled = true;
      j.reason = "commented out";
    } else if (e.ignored) {
      j.disabled = true;
      j.reason = "skipped by a \"# cronitor: ignore\" comment";
    }
  }
  merge_job_lines(jobs);
  return jobs;
}

std::vector<std::string> CrontabSource::watch_dirs() const {
  return {"/etc", std::string(kCronDir), std::string(kSpoolDir)};
}

std::vector<FileScan> CrontabSource::scan_all(const ScanContext& ctx) {
  std::vector<FileScan> out;
  out.push_back(scan_crontab_file(ctx, kSystemCrontab, JobOrigin::kSystemCrontab));
  auto scan_dir = [&](std::string_view dir, JobOrigin origin) {
    if (!ctx.root.stat(dir)) return;
    auto entries = ctx.root.list_dir(dir, ctx.limits.max_files_per_dir);
    if (!entries) {
      FileScan w;
      w.path = std::string(dir);
      w.warnings.push_back(Warning{w.path, 0, entries.error().message + ", ignoring the folder"});
      out.push_back(std::move(w));
      return;
    }
    std::vector<std::string> files;
    files.reserve(entries->size());
    for (const DirEntry& d : *entries) {
      if (!d.directory) files.push_back(std::string(dir) + "/" + d.name);
    }
    for (FileScan& f :
         scan_files<FileScan>(files.size(), [&](std::size_t i) { return scan_crontab_file(ctx, files[i], origin); })) {
      out.push_back(std::move(f));
    }
  };
  scan_dir(kCronDir, JobOrigin::kSystemCrontab);
  scan_dir(kSpoolDir, JobOrigin::kUserCrontab);
  return out;
}

JobSource::Scope CrontabSource::scope_of(std::string_view p) const {
  if (p == kSystemCrontab) return Scope::kFile;
  if (p == kCronDir || p == kSpoolDir || p == "/etc/cron.d/" || p == "/var/spool/cron") return Scope::kAll;
  const std::string_view parent = parent_of(p);
  if (parent == kCronDir || parent == kSpoolDir) return Scope::kFile;
  return Scope::kNone;
}

std::optional<FileScan> CrontabSource::scan_file(const ScanContext& ctx, std::string_view p) {
  const JobOrigin origin = parent_of(p) == kSpoolDir ? JobOrigin::kUserCrontab : JobOrigin::kSystemCrontab;
  FileScan scan = scan_crontab_file(ctx, p, origin);
  if (scan.jobs.empty() && scan.warnings.empty() && !ctx.root.stat(p)) return std::nullopt;
  return scan;
}

}  // namespace cronitor::discovery
