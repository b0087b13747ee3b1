#include "discovery/systemd_unit_source.h"

#include <map>
#include <set>

#include "discovery/job_identity.h"
#include "discovery/unit_file.h"
#include "schedule/schedule.h"

namespace cronitor::discovery {

namespace {

constexpr std::size_t kMaxUnitFileBytes = 256 * 1024;

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

// Where a unit's files are: the fragment (first folder wins) and drop-ins by file name.
struct UnitIndex {
  std::map<std::string, std::string> fragments;                       // unit name -> host path
  std::map<std::string, std::map<std::string, std::string>> dropins;  // unit -> conf name -> path
  std::set<std::string> wanted;                                       // names linked from *.wants/*.requires
  std::vector<std::string> subdirs;
};

UnitIndex index_units(const ScanContext& ctx, std::vector<Warning>& warnings) {
  UnitIndex idx;
  for (const std::string& dir : SystemdUnitSource::unit_dirs()) {
    if (!ctx.root.stat(dir)) continue;
    auto entries = ctx.root.list_dir(dir, ctx.limits.max_files_per_dir);
    if (!entries) {
      warnings.push_back(Warning{dir, 0, entries.error().message + ", ignoring the folder"});
      continue;
    }
    for (const DirEntry& e : *entries) {
      const std::string path = dir + "/" + e.name;
      const auto info = ctx.root.stat(path);
      const bool is_dir = info ? info->directory() : e.directory;
      if (is_dir) {
        if (ends_with(e.name, ".wants") || ends_with(e.name, ".requires")) {
          idx.subdirs.push_back(path);
          if (auto links = ctx.root.list_dir(path, ctx.limits.max_files_per_dir)) {
            for (const DirEntry& l : *links) idx.wanted.insert(l.name);
          }
        } else if (ends_with(e.name, ".timer.d") || ends_with(e.name, ".service.d")) {
          idx.subdirs.push_back(path);
          const std::string unit = e.name.substr(0, e.name.size() - 2);
          if (auto confs = ctx.root.list_dir(path, ctx.limits.max_files_per_dir)) {
            for (const DirEntry& c : *confs) {
              if (ends_with(c.name, ".conf")) idx.dropins[unit].emplace(c.name, path + "/" + c.name);
            }
          }
        }
        continue;
      }
      if (ends_with(e.name, ".timer") || ends_with(e.name, ".service")) {
        idx.fragments.emplace(e.name, path);  // emplace keeps the first: precedence order
      }
    }
  }
  return idx;
}

// "foo@bar.timer" -> "foo@.timer"; empty when not an instance.
std::string template_of(const std::string& unit) {
  const auto at = unit.find('@');
  const auto dot = unit.rfind('.');
  if (at == std::string::npos || dot == std::string::npos || at + 1 == dot) return {};
  return unit.substr(0, at + 1) + unit.substr(dot);
}

// Loads the fragment and drop-ins of `unit`; false when it has no fragment.
bool load_unit(const ScanContext& ctx, const UnitIndex& idx, const std::string& unit, UnitFile& out,
               std::string& fragment, bool& masked, std::vector<Warning>& warnings) {
  const std::string tmpl = template_of(unit);
  auto it = idx.fragments.find(unit);
  if (it == idx.fragments.end() && !tmpl.empty()) it = idx.fragments.find(tmpl);
  if (it == idx.fragments.end()) return false;
  fragment = it->second;
  masked = false;
  if (auto target = ctx.root.read_link(fragment); target && *target == "/dev/null") {
    masked = true;
    return true;
  }
  if (auto text = ctx.root.read_file(fragment, kMaxUnitFileBytes)) {
    out.add(*text, fragment);
  } else {
    warnings.push_back(Warning{fragment, 0, text.error().message + ", ignoring"});
    return false;
  }
  std::map<std::string, std::string> confs;  // drop-ins sorted by file name; instance ones win
  for (const std::string& name : {tmpl, unit}) {
    if (name.empty()) continue;
    if (auto d = idx.dropins.find(name); d != idx.dropins.end()) {
      for (const auto& [conf, path] : d->second) confs[conf] = path;
    }
  }
  for (const auto& [conf, path] : confs) {
    if (auto text = ctx.root.read_file(path, kMaxUnitFileBytes)) out.add(*text, path);
  }
  return true;
}

std::string strip_exec_prefix(std::string_view v) {
  while (!v.empty() &&
         (v.front() == '-' || v.front() == '@' || v.front() == ':' || v.front() == '+' || v.front() == '!')) {
    v.remove_prefix(1);
  }
  return std::string(v);
}

}  // namespace

const std::vector<std::string>& SystemdUnitSource::unit_dirs() {
  static const std::vector<std::string> kDirs = {"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
                                                 "/usr/lib/systemd/system"};
  return kDirs;
}

std::vector<std::string> SystemdUnitSource::watch_dirs() const {
  std::vector<std::string> out = unit_dirs();
  out.insert(out.end(), subdirs_.begin(), subdirs_.end());
  return out;
}

JobSource::Scope SystemdUnitSource::scope_of(std::string_view p) const {
  for (const std::string& d : unit_dirs()) {
    if (p == d || (p.size() > d.size() && p.starts_with(d) && p[d.size()] == '/')) return Scope::kAll;
  }
  return Scope::kNone;
}

std::vector<FileScan> SystemdUnitSource::scan_all(const ScanContext& ctx) {
  FileScan scan;
  scan.path = "/etc/systemd/system";
  UnitIndex idx = index_units(ctx, scan.warnings);
  subdirs_ = idx.subdirs;
  std::set<std::string> timers;
  for (const auto& [name, path] : idx.fragments) {
    if (ends_with(name, ".timer") && name.find("@.") == std::string::npos) timers.insert(name);
  }
  for (const std::string& name : idx.wanted) {
    if (ends_with(name, ".timer") && name.find("@.") == std::string::npos) timers.insert(name);
  }
  for (const std::string& unit : timers) {
    UnitFile uf;
    std::string fragment;
    bool masked = false;
    if (!load_unit(ctx, idx, unit, uf, fragment, masked, scan.warnings)) continue;
    Job j;
    j.source = SourceKind::kSystemd;
    j.origin = JobOrigin::kTimer;
    j.file = fragment;
    j.unit = unit;
    j.user = "root";
    j.timezone = ctx.host_zone;
    TimerInfo t;
    t.fragment = fragment;
    t.masked = masked;
    t.enabled = idx.wanted.contains(unit);
    for (const UnitSetting* s : uf.list("Timer", "OnCalendar")) {
      if (auto parsed = schedule::Schedule::parse(s->value, schedule::Kind::kSystemd); !parsed) {
        scan.warnings.push_back(
            Warning{s->file, s->line, "OnCalendar=" + s->value + ": " + parsed.error().message + ", ignoring"});
        continue;
      }
      t.on_calendar.push_back(s->value);
    }
    for (const char* key : {"OnBootSec", "OnStartupSec", "OnActiveSec", "OnUnitActiveSec", "OnUnitInactiveSec"}) {
      for (const UnitSetting* s : uf.list("Timer", key)) t.monotonic.push_back(std::string(key) + "=" + s->value);
    }
    t.persistent = uf.get("Timer", "Persistent") == "true" || uf.get("Timer", "Persistent") == "yes";
    t.randomized_delay = uf.get("Timer", "RandomizedDelaySec");
    t.accuracy = uf.get("Timer", "AccuracySec");
    t.service = uf.get("Timer", "Unit", unit.substr(0, unit.size() - 6) + ".service");
    UnitFile service;
    std::string service_fragment;
    bool service_masked = false;
    if (load_unit(ctx, idx, t.service, service, service_fragment, service_masked, scan.warnings)) {
      const auto exec = service.list("Service", "ExecStart");
      if (!exec.empty()) t.exec_start = strip_exec_prefix(exec.front()->value);
      const std::string user = service.get("Service", "User");
      if (!user.empty()) j.user = user;
    }
    std::string sched;
    for (const std::string& c : t.on_calendar) sched += (sched.empty() ? "" : "; ") + c;
    if (sched.empty()) {
      for (const std::string& m : t.monotonic) sched += (sched.empty() ? "" : "; ") + m;
    }
    j.schedule = sched;
    j.name = slugify(unit.substr(0, unit.size() - 6));
    if (j.name.empty()) j.name = "timer";
    j.key = derive_key("timer", "", "", unit);
    if (masked) {
      j.disabled = true;
      j.reason = "masked (linked to /dev/null)";
    } else if (!t.enabled) {
      j.disabled = true;
      j.reason = "not enabled (no link in a *.wants/ folder)";
    } else if (!ctx.systemd_running) {
      j.reason = "systemd is not running on this host (no /run/systemd/system)";
    } else if (sched.empty()) {
      j.reason = "no OnCalendar= or monotonic setting";
    }
    j.timer = std::move(t);
    scan.jobs.push_back(std::move(j));
  }
  return {std::move(scan)};
}

}  // namespace cronitor::discovery
