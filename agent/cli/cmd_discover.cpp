// `cronitor-agent discover | wrap | unwrap`: the jobs of this host, and their crontab lines
// routed through cronitor-exec and back.
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/cli/commands.h"
#include "agent/cli/control_client.h"
#include "agent/cli/manager_timers.h"
#include "agent/config/config.h"
#include "agent/control/json_out.h"
#include "agent/eval/key_owners.h"
#include "agent/eval/user_limits.h"
#include "agent/sources/cron_logging.h"
#include "agent/sources/live_timer_job.h"
#include "common/text.h"
#include "discovery/auto_wrapper.h"
#include "discovery/crontab_rewriter.h"
#include "discovery/crontab_source.h"
#include "discovery/package_files.h"
#include "discovery/scanner.h"
#include "discovery/watcher.h"
#include "discovery/wrapper_path.h"

namespace cronitor::cli {
namespace {

using discovery::Changes;
using discovery::DiskRoot;
using discovery::Job;
using discovery::Scanner;

struct DiscoverOptions {
  std::string root = "/";
  bool json = false;
  bool watch = false;
  bool all = false;       // also files run-parts never runs, and timers on a host without systemd
  std::string state_dir;  // default: ROOT/var/lib/cronitor-agent
  std::string exec_path = "/usr/bin/cronitor-exec";
  bool dry_run = false;
  bool package_files = false;
  bool adopt = false;  // wrap --adopt: also lines an upstream's own tool runs, keeping their identity
  std::vector<std::string> files;
  std::string config = std::string(agent::kDefaultConfigPath);  // discover: the limits of users' monitors
};

std::string root_dir(const DiscoverOptions& o) { return o.root == "/" ? std::string() : o.root; }

/// The package owning the job's crontab file, for unwrapped lines (their runs come from cron's log).
std::optional<std::string> log_observed(const Job& j, const discovery::PackageFiles& packages) {
  if (j.wrapped || j.line <= 0 || j.origin != discovery::JobOrigin::kSystemCrontab) return std::nullopt;
  return packages.owner(j.file);
}

/// What the systemd manager on the system bus says: its loaded timers, or why none answers.
using LiveTimers = std::optional<Result<std::set<std::string>>>;

/// Whether the agent sees a timer's runs: "" when the manager has it loaded (observed live),
/// else why not. Nothing for jobs that are no timers or are not monitored anyway.
std::optional<std::string> unobserved(const Job& j, const LiveTimers& live) {
  if (j.origin != discovery::JobOrigin::kTimer || j.reason || j.disabled || j.twin_of || !live) return std::nullopt;
  if (!*live) return live->error().message;
  return live->value().contains(j.unit) ? std::string() : "not loaded in the systemd manager";
}

/// Why failures of jobs seen only in cron's log are not seen (cron's log level), or nullopt.
using Unseen = std::optional<std::string>;

/// The keys whose runs the running daemon takes from the kernel's process events (issue 21): only
/// it knows whether its connector is live. No daemon answering: none (what discover says of the
/// other jobs stays as it was), nor a daemon that reads another root than `root`.
std::set<std::string> observed_by_process_events(const std::string& config_path, const std::string& root) {
  auto c = agent::load_config(config_path);
  std::error_code ec;
  if (!c || !std::filesystem::equivalent(c->discovery.root, root, ec)) return {};
  auto r = agent::ask_daemon(c->socket, {{"control", "status"}}, 2000);
  std::set<std::string> keys;
  if (!r || !r->is_object() || !r->contains("monitors") || !(*r)["monitors"].is_array()) return keys;
  for (const auto& m : (*r)["monitors"])
    if (m.is_object() && m.value("reported_by", nlohmann::json()) == "process events" && m["key"].is_string())
      keys.insert(m["key"].get<std::string>());
  return keys;
}

std::string status_of(const Job& j, const discovery::PackageFiles& packages, const LiveTimers& live,
                      const std::map<const Job*, std::string>& refused, const Unseen& unseen,
                      const std::set<std::string>& by_proc) {
  if (auto it = refused.find(&j); it != refused.end()) return "refused: " + it->second;
  std::string s;
  if (auto why = unobserved(j, live)) s = why->empty() ? "observed live (systemd manager)" : "unobserved: " + *why;
  if (j.wrapped) s = "wrapped";
  if (j.instrumented) {  // the tool and the upstream identity: runitor: healthchecks uuid 5f0c...
    if (j.instrumented->adopted)
      s += " (adopted from " + j.instrumented->describe() + ")";
    else
      s = "instrumented: " + j.instrumented->describe() +
          (j.instrumented->not_adoptable.empty() ? "" : "; not adoptable: " + j.instrumented->not_adoptable);
  }
  if (auto p = log_observed(j, packages); p && !j.reason && !j.disabled)
    s = "observed from cron's log (package " + *p + ")" + (unseen ? ", failures not seen" : "");
  if (by_proc.contains(j.key) && !j.reason && !j.disabled) s = "observed (process events)";
  if (j.twin_of) s += std::string(s.empty() ? "" : ", ") + "twin of " + *j.twin_of;
  if (j.reason) {
    s += std::string(s.empty() ? "" : ": ") + *j.reason;
  } else if (j.disabled) {
    s += std::string(s.empty() ? "" : ", ") + "disabled";
  }
  return s.empty() ? "monitored" : s;
}

/// Lines of users' crontabs that may not define their key (agent/eval/key_owners.h): a key of
/// root's files, or of another user's crontab found first; and those past the limits of monitors
/// per user (agent/eval/user_limits.h). The agent also weighs agent.yaml and who reported a key
/// first; `status` lists what it refused.
std::map<const Job*, std::string> refused_lines(const std::vector<const Job*>& jobs, const agent::UserLimits& limits) {
  std::vector<agent::KeyClaim> claims;
  std::vector<const Job*> of;
  for (const Job* j : jobs) {
    if (j->disabled || j->reason || j->twin_of) continue;
    const bool users = j->origin == discovery::JobOrigin::kUserCrontab && j->user != "root";
    claims.push_back(agent::KeyClaim{j->key, j->file + ":" + std::to_string(j->line), j->user, -1, users});
    of.push_back(j);
  }
  std::map<const Job*, std::string> out;
  auto refused = agent::refused_claims(claims, {}, {});
  for (auto& [i, why] : agent::over_limit_claims(claims, refused, limits).lines) refused.emplace(i, std::move(why));
  for (auto& [i, why] : refused) out[of[i]] = std::move(why);
  return out;
}

/// discovery.max_monitors_per_user and max_user_monitors of the config (the defaults when it
/// cannot be read: a user's `discover` without access to a 0600 agent.yaml).
agent::UserLimits user_limits(const std::string& path) {
  agent::Config defaults;
  auto c = agent::load_config(path);
  const auto& d = c ? c->discovery : defaults.discovery;
  return {static_cast<std::size_t>(d.max_monitors_per_user), static_cast<std::size_t>(d.max_user_monitors)};
}

std::string where_of(const Job& j) {
  if (!j.unit.empty()) return j.unit;
  if (j.line <= 0) return j.file;
  std::vector<int> lines{j.line};  // one job on several lines: "/etc/crontab:3,7"
  for (const auto& more : j.more_lines) lines.push_back(more.line);
  std::sort(lines.begin(), lines.end());
  std::string out = j.file + ":";
  for (std::size_t i = 0; i < lines.size(); ++i) out += (i ? "," : "") + std::to_string(lines[i]);
  return out;
}

/// Every schedule of the job, in line order, " + "-joined.
std::string schedules_of(const Job& j) {
  if (j.more_lines.empty()) return j.schedule;
  std::vector<std::pair<int, std::string>> all{{j.line, j.schedule}};
  for (const auto& more : j.more_lines) all.emplace_back(more.line, more.schedule);
  std::sort(all.begin(), all.end());
  std::string out;
  for (const auto& [line, schedule] : all) out += (out.empty() ? "" : " + ") + schedule;
  return out;
}

/// `s` escaped for the terminal, cut to `n` bytes at a character boundary.
std::string clip(std::string_view raw, std::size_t n) {
  std::string s = escape_text(raw);
  if (s.size() > n) s = std::string(cut_utf8(s, n - 3)) + "...";
  return s;
}

void print_table(const std::vector<const Job*>& jobs, const discovery::PackageFiles& packages, const LiveTimers& live,
                 const std::map<const Job*, std::string>& refused, const Unseen& unseen,
                 const std::set<std::string>& by_proc) {
  struct Row {
    std::string cells[6];
  };
  std::vector<Row> rows;
  rows.push_back(Row{{"KEY", "NAME", "USER", "SCHEDULE", "WHERE", "STATUS"}});
  for (const Job* j : jobs) {
    rows.push_back(
        Row{{escape_text(j->key), clip(j->name, 28), escape_text(j->user), clip(schedules_of(*j), 48),
             escape_text(where_of(*j)), escape_text(status_of(*j, packages, live, refused, unseen, by_proc))}});
  }
  std::size_t width[6] = {};
  for (const Row& r : rows) {
    for (int c = 0; c < 5; ++c) width[c] = std::max(width[c], r.cells[c].size());
  }
  std::string out;
  for (const Row& r : rows) {
    for (int c = 0; c < 6; ++c) {
      out += r.cells[c];
      if (c < 5) out.append(width[c] - r.cells[c].size() + 2, ' ');
    }
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void print_warnings(const Scanner& scanner) {
  for (const auto& w : scanner.warnings()) std::fprintf(stderr, "warning: %s\n", escape_text(w.to_string()).c_str());
}

void print_changes(const Changes& c, bool json) {
  auto emit = [&](const char* what, const Job& j) {
    if (json) {
      nlohmann::json line = {{"event", what}, {"job", discovery::to_json(j)}};
      std::printf("%s\n", json_text(line, -1).c_str());
    } else {
      std::printf("%-8s %s %s %s\n", what, escape_text(j.key).c_str(), escape_text(j.name).c_str(),
                  escape_text(where_of(j)).c_str());
    }
  };
  for (const Job* j : c.added) emit("added", *j);
  for (const Job* j : c.changed) emit("changed", *j);
  for (const Job& j : c.removed) emit("removed", j);
  std::fflush(stdout);
}

int run_watch(Scanner& scanner, const DiskRoot& root, bool json) {
  discovery::Watcher::Options wo;
  wo.log = [](std::string_view msg) { std::fprintf(stderr, "cronitor-agent: %s\n", escape_text(msg).c_str()); };
  auto watcher = discovery::Watcher::create(scanner, root, std::move(wo));
  if (!watcher) {
    std::fprintf(stderr, "cronitor-agent: %s\n", watcher.error().message.c_str());
    return kExitFailure;
  }
  using Clock = discovery::Watcher::Clock;
  for (;;) {
    int timeout = -1;
    if (auto d = (*watcher)->settle_deadline()) {
      const auto left = *d - Clock::now().time_since_epoch();
      timeout =
          static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1));
    }
    pollfd p{(*watcher)->fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, timeout);
    if (n < 0 && errno != EINTR) return kExitFailure;
    if (n > 0) (*watcher)->on_readable();
    print_changes((*watcher)->poll(Clock::now().time_since_epoch()), json);
  }
}

/// A file in a run-parts folder whose name run-parts skips (Debian's ".placeholder", "x.dpkg-old").
bool never_run_by_run_parts(const Job& j) {
  return j.origin == discovery::JobOrigin::kRunParts &&
         !discovery::run_parts_name_problem(discovery::base_of(j.file)).empty();
}

int run_discover(const DiscoverOptions& o) {
  const DiskRoot root(root_dir(o));
  const agent::UserLimits limits = user_limits(o.config);
  Scanner::Options scan;
  scan.limits.max_jobs_per_user_crontab = agent::crontab_read_limit(limits);  // as the agent reads them
  Scanner scanner(root, scan);
  scanner.scan();
  auto jobs = scanner.jobs();
  const auto packages = discovery::PackageFiles::load(root);
  const auto run = root.stat("/run/systemd/system");
  const bool systemd = run && run->directory();
  // The manager is asked only when timers are shown: a host without systemd has none to ask.
  LiveTimers live;
  std::vector<Job> run_live;  // timers the manager runs that no *.wants link enables, or transient
  if (systemd || o.all || o.json) {
    auto managed = agent::manager_timers();
    if (!managed) {
      live = std::unexpected(managed.error());
    } else {
      std::set<std::string> names;
      for (const auto& t : *managed) names.insert(t.unit);
      live = names;
      std::map<std::string, const agent::LiveTimer*> running;
      for (const auto& t : *managed)
        if (agent::timer_runs(t)) running[t.unit] = &t;
      run_live.reserve(managed->size());  // no reallocation: `jobs` points into it
      for (auto& j : jobs) {              // started with `systemctl start`: monitored while it runs
        auto it = running.find(j->unit);
        if (j->origin != discovery::JobOrigin::kTimer || it == running.end()) continue;
        if (j->disabled && j->reason && j->reason->starts_with("not enabled")) {
          run_live.push_back(*j);
          run_live.back().disabled = false;
          run_live.back().reason.reset();
          j = &run_live.back();
        }
        running.erase(it);
      }
      const std::string zone = discovery::read_host_zone(root);
      for (const auto& [unit, t] : running) run_live.push_back(agent::live_timer_job(*t, zone));  // transient
      for (auto& j : run_live)
        if (agent::is_live_timer_source(j.file)) jobs.push_back(&j);
    }
  }
  const auto refused = refused_lines(jobs, limits);
  // Jobs seen only in cron's log: at cron's default -L 1 only their starts are (issue 17).
  // Jobs the daemon observes through the process events: their failures are seen, whatever cron logs.
  const auto by_proc = observed_by_process_events(o.config, o.root);
  const bool any_logged = std::any_of(jobs.begin(), jobs.end(), [&](const Job* j) {
    return log_observed(*j, packages).has_value() && !by_proc.contains(j->key);
  });
  const Unseen unseen = any_logged ? agent::unseen_failures(agent::detect_cron_logging(root_dir(o))) : std::nullopt;
  if (o.json) {  // for scripts: every job, each with the reason it is not monitored
    nlohmann::json arr = nlohmann::json::array();
    for (const Job* j : jobs) {
      nlohmann::json obj = discovery::to_json(*j);
      // How its runs reach the agent: the wrapper, cron's own log (a package's file), or nothing yet.
      auto package = log_observed(*j, packages);
      const auto why = unobserved(*j, live);
      const bool proc = by_proc.contains(j->key);
      obj["reported_by"] = proc                  ? nlohmann::json("process events")
                           : j->wrapped          ? nlohmann::json("wrapper")
                           : package             ? nlohmann::json("cron log")
                           : why && why->empty() ? nlohmann::json("systemd")
                                                 : nullptr;
      if (why && !why->empty()) obj["unobserved"] = *why;
      obj["package"] = package ? nlohmann::json(*package) : nullptr;
      obj["failures_unseen"] =
          package && !proc && unseen && !j->reason && !j->disabled ? nlohmann::json(*unseen) : nullptr;
      if (auto it = refused.find(j); it != refused.end()) obj["refused"] = it->second;
      arr.push_back(std::move(obj));
    }
    std::printf("%s\n", json_text(arr).c_str());
  } else {
    std::vector<const Job*> shown;
    std::size_t skipped_files = 0, idle_timers = 0;
    for (const Job* j : jobs) {
      if (!o.all && never_run_by_run_parts(*j)) {
        ++skipped_files;
      } else if (!o.all && !systemd && j->origin == discovery::JobOrigin::kTimer) {
        ++idle_timers;
      } else {
        shown.push_back(j);
      }
    }
    print_table(shown, packages, live, refused, unseen, by_proc);
    if (unseen && std::any_of(shown.begin(), shown.end(), [&](const Job* j) {
          return log_observed(*j, packages) && !by_proc.contains(j->key) && !j->reason && !j->disabled;
        }))
      std::printf("(failures not seen for jobs observed from cron's log: %s)\n", escape_text(*unseen).c_str());
    if (idle_timers > 0)
      std::printf("(%zu systemd timer(s) not listed: systemd is not running on this host; --all lists them)\n",
                  idle_timers);
    if (skipped_files > 0)
      std::printf("(%zu file(s) in run-parts folders not listed: run-parts never runs them; --all lists them)\n",
                  skipped_files);
  }
  print_warnings(scanner);
  const bool unwrapped = std::any_of(jobs.begin(), jobs.end(), [&](const Job* j) {
    return !j->wrapped && !j->reason && !j->disabled && j->line > 0 && !log_observed(*j, packages) &&
           (j->origin == discovery::JobOrigin::kSystemCrontab || j->origin == discovery::JobOrigin::kUserCrontab);
  });
  if (auto ok = discovery::check_wrapper_path(root, discovery::kDefaultExecPath); !ok && unwrapped)
    std::fprintf(stderr, "note: %s: lines are not wrapped, their jobs stay unreported\n", ok.error().message.c_str());
  std::fflush(stdout);
  if (o.watch) return run_watch(scanner, root, o.json);
  return kExitOk;
}

int run_wrap_cmd(const DiscoverOptions& o, bool unwrap) {
  const DiskRoot root(root_dir(o));
  for (char c : o.exec_path) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.';
    if (!ok) {
      std::fprintf(stderr, "cronitor-agent: --exec: \"%s\" must be a plain path (letters, digits, / - _ .)\n",
                   o.exec_path.c_str());
      return kExitUsage;
    }
  }
  // Only a wrapper that only root can change goes into crontabs (the same rule as auto_wrap).
  if (!unwrap) {
    if (auto safe = discovery::check_wrapper_path(root, o.exec_path); !safe) {
      std::fprintf(stderr, "cronitor-agent: --exec: %s; not wrapping (install cronitor-exec, e.g. the package)\n",
                   safe.error().message.c_str());
      return kExitFailure;
    }
  }
  discovery::WrapOptions wo;
  wo.unwrap = unwrap;
  wo.wrap_package_files = o.package_files;
  wo.adopt = o.adopt && !unwrap;
  wo.dry_run = o.dry_run;
  wo.exec_path = o.exec_path;
  wo.files = o.files;
  wo.backup_dir = (o.state_dir.empty() ? root.real_path("/var/lib/cronitor-agent") : o.state_dir) + "/backups";
  const discovery::WrapReport report = discovery::run_wrap(root, wo);
  if (o.dry_run) {
    const std::string diff = escape_lines(report.diff);  // users' crontab lines
    std::fwrite(diff.data(), 1, diff.size(), stdout);
  }
  for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s\n", escape_text(w.to_string()).c_str());
  for (const auto& [path, package] : report.package_files)
    std::fprintf(stderr, "%s: belongs to package %s, left as it is (--package-files to wrap it anyway)\n",
                 escape_text(path).c_str(), escape_text(package).c_str());
  if (report.instrumented > 0)
    std::fprintf(stderr,
                 "%d line(s) run through an upstream's own tool (cronitor exec, runitor, sentry-cli, a curl ping), "
                 "left as they are (wrap --adopt moves them onto cronitor-exec with the same check)\n",
                 report.instrumented);
  const char* verb = unwrap ? "unwrapped" : "wrapped";
  if (o.dry_run) {
    std::fprintf(stderr, "%d line(s) would be %s (dry run, nothing written)\n", report.lines, verb);
  } else {
    for (std::size_t i = 0; i < report.written.size(); ++i) {
      std::fprintf(stderr, "%s: %s (backup: %s)\n", verb, escape_text(report.written[i]).c_str(),
                   escape_text(report.backups[i]).c_str());
    }
    std::fprintf(stderr, "%d line(s) %s in %zu file(s)\n", report.lines, verb, report.written.size());
  }
  const bool write_failed = std::any_of(report.warnings.begin(), report.warnings.end(), [](const auto& w) {
    return w.line == 0 && w.message.ends_with("file left as it was");
  });
  return write_failed ? kExitFailure : kExitOk;
}

void add_wrap_options(CLI::App* cmd, DiscoverOptions& o) {
  cmd->add_option("--root", o.root, "Read and write host paths under DIR (default /)")->check(CLI::ExistingDirectory);
  cmd->add_flag("--dry-run", o.dry_run, "Print a unified diff, change nothing");
  cmd->add_option("--state-dir", o.state_dir, "Backups go to DIR/backups (default /var/lib/cronitor-agent)");
  cmd->add_option("--exec", o.exec_path, "Path of cronitor-exec written in lines (default /usr/bin/cronitor-exec)");
  cmd->add_flag("--package-files", o.package_files, "Also wrap files a package owns (/etc/crontab, ...)");
  cmd->add_option("files", o.files, "Only these crontab files (host paths)");
}

}  // namespace

void register_discovery(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DiscoverOptions>();
  auto* discover = app.add_subcommand("discover", "List every cron job and systemd timer of this host");
  discover->add_option("--root", opts->root, "Read host paths under DIR (default /)")->check(CLI::ExistingDirectory);
  discover->add_flag("--json", opts->json, "Print one JSON array (every job, hidden ones too)");
  discover->add_flag("--all", opts->all,
                     "Also list files run-parts never runs (.placeholder) and timers on a host without systemd");
  discover->add_flag("--watch", opts->watch, "Then keep watching and print added/changed/removed jobs");
  discover->add_option("--config", opts->config,
                       "The agent's config, for the limits of users' monitors (default /etc/cronitor/agent.yaml)");
  discover->callback([opts, &exit_code] { exit_code = run_discover(*opts); });

  auto* wrap = app.add_subcommand("wrap", "Route crontab job lines through cronitor-exec (reversible)");
  add_wrap_options(wrap, *opts);
  wrap->add_flag("--adopt", opts->adopt,
                 "Also move lines run by cronitor exec, runitor, sentry-cli or ending in a Healthchecks curl "
                 "ping onto cronitor-exec, keeping their upstream check in the line's # cronitor: comment");
  wrap->callback([opts, &exit_code] { exit_code = run_wrap_cmd(*opts, false); });

  auto* unwrap = app.add_subcommand("unwrap", "Restore wrapped crontab lines byte for byte");
  add_wrap_options(unwrap, *opts);
  unwrap->callback([opts, &exit_code] { exit_code = run_wrap_cmd(*opts, true); });
}

}  // namespace cronitor::cli
