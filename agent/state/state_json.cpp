#include "agent/state/state_json.h"

#include <charconv>

#include "common/json_text.h"

namespace cronitor::agent {
namespace {

using nlohmann::json;

json incident_json(const Incident& i) {
  json j = {{"opened", to_us(i.opened)},
            {"kind", i.kind},
            {"alerts_sent", i.alerts_sent},
            {"last_alert", to_us(i.last_alert)},
            {"reason", i.reason}};
  if (i.folded) {
    j["folded"] = i.folded;
    j["last_folded"] = to_us(i.last_folded);
  }
  return j;
}
Incident incident_from(const json& j) {
  Incident i;
  i.opened = from_us(j.at("opened").get<int64_t>());
  i.kind = j.at("kind").get<std::string>();
  i.alerts_sent = j.at("alerts_sent").get<int>();
  i.last_alert = from_us(j.at("last_alert").get<int64_t>());
  i.reason = j.value("reason", "");
  i.folded = j.value("folded", 0);
  i.last_folded = from_us(j.value("last_folded", int64_t{0}));
  return i;
}
template <typename T>
void put_opt(json& j, const char* name, const std::optional<T>& v) {
  if (v) j[name] = *v;
}
void put_opt(json& j, const char* name, const std::optional<Instant>& v) {
  if (v) j[name] = to_us(*v);
}
std::optional<Instant> opt_instant(const json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return std::nullopt;
  return from_us(j[name].get<int64_t>());
}
template <typename T>
std::optional<T> opt(const json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return std::nullopt;
  return j[name].get<T>();
}

// std::to_string's digits, without its temporary string.
template <typename Int>
void append_decimal(std::string& out, Int v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

int64_t to_us(Instant t) { return t.time_since_epoch().count(); }
Instant from_us(int64_t us) { return Instant(std::chrono::microseconds(us)); }
int64_t to_ms(Instant t) { return t.time_since_epoch().count() / 1000; }
Instant from_ms(int64_t ms) { return Instant(std::chrono::microseconds(ms * 1000)); }

std::string state_text(const MonitorState& s) {
  // Written for every changed monitor at every commit: built by hand, without a json tree.
  // Strings other than run ids and incident texts are fixed words; a reason may hold a name from
  // a crontab, whose bytes append_json_string makes valid UTF-8 (U+FFFD for an invalid byte).
  std::string out;
  out.reserve(320);
  out += '{';
  auto dec = [&](auto v) { append_decimal(out, v); };
  auto num = [&](std::string_view name, int64_t v) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    dec(v);
  };
  if (s.expected) num("expected", to_us(*s.expected));
  num("misses", s.consecutive_misses);
  num("failures", s.consecutive_failures);
  num("good", s.consecutive_good);
  if (s.consecutive_warnings) num("warnings", s.consecutive_warnings);
  if (s.recent_outcomes) num("recent", static_cast<int64_t>(s.recent_outcomes));
  if (!s.open_runs.empty()) {
    out += ",\"open_runs\":[";
    for (size_t i = 0; i < s.open_runs.size(); ++i) {
      const auto& r = s.open_runs[i];
      if (i) out += ',';
      out += "{\"id\":";
      append_json_string(out, r.run_id);
      out += ",\"started\":";
      dec(to_us(r.started));
      out += r.hung_alerted ? ",\"hung\":true" : ",\"hung\":false";
      if (r.wrapper_pid > 0) {
        out += ",\"pgid\":";
        dec(r.pgid);
        out += ",\"wpid\":";
        dec(r.wrapper_pid);
        out += ",\"wstart\":";
        dec(r.wrapper_start);
      }
      out += '}';
    }
    out += ']';
  }
  if (s.incident) {
    out += ",\"incident\":{\"opened\":";
    dec(to_us(s.incident->opened));
    out += ",\"kind\":";
    append_json_string(out, s.incident->kind);
    out += ",\"alerts_sent\":";
    dec(s.incident->alerts_sent);
    out += ",\"last_alert\":";
    dec(to_us(s.incident->last_alert));
    out += ",\"reason\":";
    append_json_string(out, s.incident->reason);
    if (s.incident->folded) {
      out += ",\"folded\":";
      dec(s.incident->folded);
      out += ",\"last_folded\":";
      dec(to_us(s.incident->last_folded));
    }
    out += '}';
  }
  if (s.paused_until) num("paused_until", to_us(*s.paused_until));
  if (s.removed) out += ",\"removed\":true";
  if (!s.removed_as.empty()) {
    out += ",\"removed_as\":";
    append_json_string(out, s.removed_as);
    out += ",\"removed_hint\":";
    append_json_string(out, s.removed_hint);
  }
  if (s.last_start) num("last_start", to_us(*s.last_start));
  if (s.last_end) num("last_end", to_us(*s.last_end));
  if (s.last_exit_code) num("last_exit_code", *s.last_exit_code);
  if (s.last_duration_ms) num("last_duration_ms", *s.last_duration_ms);
  if (!s.last_status.empty()) {
    out += ",\"last_status\":";
    append_json_string(out, s.last_status);
  }
  if (s.last_success) num("last_success", to_us(*s.last_success));
  if (s.failed_since_success) num("failed_since_success", s.failed_since_success);
  if (s.faulty) out += ",\"faulty\":true";
  if (s.flapping) out += ",\"flapping\":true";
  if (s.slot) {
    num("slot", to_us(*s.slot));
    num("slot_runs", s.slot_runs);
    num("slot_prompt", s.slot_prompt_runs);
    if (s.slot_alerted) out += ",\"slot_alerted\":true";
    if (s.slot_recorded_runs) num("slot_recorded", s.slot_recorded_runs);
  }
  if (!s.flips.empty()) {
    out += ",\"flips\":[";
    for (size_t i = 0; i < s.flips.size(); ++i) {
      if (i) out += ',';
      dec(to_us(s.flips[i]));
    }
    out += ']';
  }
  if (!s.missed_slots.empty()) {
    out += ",\"missed_slots\":[";
    for (size_t i = 0; i < s.missed_slots.size(); ++i) {
      if (i) out += ',';
      dec(to_us(s.missed_slots[i]));
    }
    out += ']';
  }
  out += '}';
  return out;
}

json to_json(const MonitorState& s) {
  json j = json::object();
  put_opt(j, "expected", s.expected);
  j["misses"] = s.consecutive_misses;
  j["failures"] = s.consecutive_failures;
  j["good"] = s.consecutive_good;
  if (s.consecutive_warnings) j["warnings"] = s.consecutive_warnings;
  if (s.recent_outcomes) j["recent"] = static_cast<int64_t>(s.recent_outcomes);
  if (!s.open_runs.empty()) {
    json runs = json::array();
    for (const auto& r : s.open_runs) {
      runs.push_back({{"id", r.run_id}, {"started", to_us(r.started)}, {"hung", r.hung_alerted}});
      if (r.wrapper_pid > 0) {
        runs.back()["pgid"] = r.pgid;
        runs.back()["wpid"] = r.wrapper_pid;
        runs.back()["wstart"] = r.wrapper_start;
      }
    }
    j["open_runs"] = std::move(runs);
  }
  if (s.incident) j["incident"] = incident_json(*s.incident);
  put_opt(j, "paused_until", s.paused_until);
  if (s.removed) j["removed"] = true;
  if (!s.removed_as.empty()) {
    j["removed_as"] = s.removed_as;
    j["removed_hint"] = s.removed_hint;
  }
  put_opt(j, "last_start", s.last_start);
  put_opt(j, "last_end", s.last_end);
  put_opt(j, "last_exit_code", s.last_exit_code);
  put_opt(j, "last_duration_ms", s.last_duration_ms);
  if (!s.last_status.empty()) j["last_status"] = s.last_status;
  put_opt(j, "last_success", s.last_success);
  if (s.failed_since_success) j["failed_since_success"] = s.failed_since_success;
  if (s.faulty) j["faulty"] = true;
  if (s.flapping) j["flapping"] = true;
  if (s.slot) {
    j["slot"] = to_us(*s.slot);
    j["slot_runs"] = s.slot_runs;
    j["slot_prompt"] = s.slot_prompt_runs;
    if (s.slot_alerted) j["slot_alerted"] = true;
    if (s.slot_recorded_runs) j["slot_recorded"] = s.slot_recorded_runs;
  }
  if (!s.flips.empty()) {
    json flips = json::array();
    for (Instant f : s.flips) flips.push_back(to_us(f));
    j["flips"] = std::move(flips);
  }
  if (!s.missed_slots.empty()) {
    json missed = json::array();
    for (Instant m : s.missed_slots) missed.push_back(to_us(m));
    j["missed_slots"] = std::move(missed);
  }
  return j;
}

Result<MonitorState> monitor_state_from_json(const json& j) {
  try {
    MonitorState s;
    s.expected = opt_instant(j, "expected");
    s.consecutive_misses = j.value("misses", 0);
    s.consecutive_failures = j.value("failures", 0);
    s.consecutive_good = j.value("good", 0);
    s.consecutive_warnings = j.value("warnings", 0);
    s.recent_outcomes = static_cast<uint64_t>(j.value("recent", int64_t{0}));
    if (j.contains("open_runs"))
      for (const auto& r : j["open_runs"])
        s.open_runs.push_back(OpenRun{r.at("id").get<std::string>(), from_us(r.at("started").get<int64_t>()),
                                      r.value("hung", false), r.value("pgid", int64_t{0}), r.value("wpid", int64_t{0}),
                                      r.value("wstart", uint64_t{0})});
    if (j.contains("incident")) s.incident = incident_from(j["incident"]);
    s.paused_until = opt_instant(j, "paused_until");
    s.removed = j.value("removed", false);
    s.removed_as = j.value("removed_as", "");
    s.removed_hint = j.value("removed_hint", "");
    s.last_start = opt_instant(j, "last_start");
    s.last_end = opt_instant(j, "last_end");
    s.last_exit_code = opt<int>(j, "last_exit_code");
    s.last_duration_ms = opt<int64_t>(j, "last_duration_ms");
    s.last_status = j.value("last_status", "");
    s.last_success = opt_instant(j, "last_success");
    s.failed_since_success = j.value("failed_since_success", 0);
    s.faulty = j.value("faulty", false);
    s.flapping = j.value("flapping", false);
    s.slot = opt_instant(j, "slot");
    s.slot_runs = j.value("slot_runs", 0);
    s.slot_prompt_runs = j.value("slot_prompt", 0);
    s.slot_alerted = j.value("slot_alerted", false);
    // A state saved before this field: its slot's runs were each recorded as they came.
    s.slot_recorded_runs = j.value("slot_recorded", s.slot_alerted ? s.slot_runs : 0);
    if (j.contains("flips"))
      for (const auto& f : j["flips"]) s.flips.push_back(from_us(f.get<int64_t>()));
    if (j.contains("missed_slots"))
      for (const auto& m : j["missed_slots"]) s.missed_slots.push_back(from_us(m.get<int64_t>()));
    return s;
  } catch (const json::exception& e) {
    return fail(std::string("monitor state: ") + e.what());
  }
}

json to_json(const HostState& s) {
  json j = json::object();
  if (s.cron_incident) j["cron_incident"] = incident_json(*s.cron_incident);
  j["suppressed_misses"] = s.suppressed_misses;
  put_opt(j, "last_outage_start", s.last_outage_start);
  put_opt(j, "last_outage_end", s.last_outage_end);
  j["cron_seen_running"] = s.cron_seen_running;
  put_opt(j, "last_seen", s.last_seen);
  put_opt(j, "shutdown_at", s.shutdown_at);
  put_opt(j, "snoozed_until", s.snoozed_until);
  put_opt(j, "snooze_since", s.snooze_since);
  if (!s.snooze_reason.empty()) j["snooze_reason"] = s.snooze_reason;
  if (!s.cron_zone.host_zone.empty()) {
    const CronZoneState& z = s.cron_zone;
    j["cron_zone"] = {{"pid", z.cron_pid}, {"start", z.cron_start}, {"zone", z.zone}, {"host_zone", z.host_zone}};
    put_opt(j["cron_zone"], "warned", z.warned);
  }
  return j;
}

Result<HostState> host_state_from_json(const json& j) {
  try {
    HostState s;
    if (j.contains("cron_incident")) s.cron_incident = incident_from(j["cron_incident"]);
    s.suppressed_misses = j.value("suppressed_misses", 0);
    s.last_outage_start = opt_instant(j, "last_outage_start");
    s.last_outage_end = opt_instant(j, "last_outage_end");
    s.cron_seen_running = j.value("cron_seen_running", true);  // states from before the field: it was
    s.last_seen = opt_instant(j, "last_seen");
    s.shutdown_at = opt_instant(j, "shutdown_at");
    s.snoozed_until = opt_instant(j, "snoozed_until");
    s.snooze_since = opt_instant(j, "snooze_since");
    s.snooze_reason = j.value("snooze_reason", std::string());
    if (j.contains("cron_zone")) {
      const json& z = j["cron_zone"];
      s.cron_zone.cron_pid = z.value("pid", int64_t{0});
      s.cron_zone.cron_start = z.value("start", uint64_t{0});
      s.cron_zone.zone = z.value("zone", "");
      s.cron_zone.host_zone = z.value("host_zone", "");
      s.cron_zone.warned = opt_instant(z, "warned");
    }
    return s;
  } catch (const json::exception& e) {
    return fail(std::string("host state: ") + e.what());
  }
}

json to_json(const Alert& a) {
  json j = {{"kind", kind_name(a.kind)},
            {"kind_id", static_cast<int>(a.kind)},
            {"key", a.key},
            {"name", a.name},
            {"at", to_us(a.at)},
            {"summary", a.summary},
            {"detail", a.detail},
            {"update", a.update},
            {"incident_opened", to_us(a.incident_opened)},
            {"schedule", a.schedule},
            {"timezone", a.timezone},
            {"environment", a.environment},
            {"source", a.source},
            {"signal", a.signal},
            {"oom", a.oom},
            {"output_tail", a.output_tail}};
  put_opt(j, "exit_code", a.exit_code);
  put_opt(j, "duration_ms", a.duration_ms);
  put_opt(j, "expected", a.expected);
  if (a.down_for) j["down_for_s"] = a.down_for->count();
  // For the on-call reader (issue 13): written only when set, read with defaults.
  if (!a.user.empty()) j["user"] = a.user;
  if (!a.command.empty()) j["command"] = a.command;
  put_opt(j, "last_success", a.last_success);
  put_opt(j, "failed_since_success", a.failed_since_success);
  put_opt(j, "peak_memory_bytes", a.peak_memory_bytes);
  put_opt(j, "memory_limit_bytes", a.memory_limit_bytes);
  if (!a.oom_victim.empty()) j["oom_victim"] = a.oom_victim;
  put_opt(j, "affected_jobs", a.affected_jobs);
  if (a.alert_number) j["alert_number"] = a.alert_number;
  if (a.going_quiet) j["going_quiet"] = true;
  if (a.folded_faults) j["folded_faults"] = a.folded_faults;
  return j;
}

Result<Alert> alert_from_json(const json& j) {
  try {
    Alert a;
    a.kind = static_cast<Alert::Kind>(j.at("kind_id").get<int>());
    a.key = j.at("key").get<std::string>();
    a.name = j.value("name", a.key);
    a.at = from_us(j.at("at").get<int64_t>());
    a.summary = j.value("summary", "");
    a.detail = j.value("detail", "");
    a.update = j.value("update", false);
    a.incident_opened = from_us(j.value("incident_opened", int64_t{0}));
    a.schedule = j.value("schedule", "");
    a.timezone = j.value("timezone", "");
    a.environment = j.value("environment", "");
    a.source = j.value("source", "");
    a.signal = j.value("signal", "");
    a.oom = j.value("oom", false);
    a.output_tail = j.value("output_tail", "");
    a.exit_code = opt<int>(j, "exit_code");
    a.duration_ms = opt<int64_t>(j, "duration_ms");
    a.expected = opt_instant(j, "expected");
    if (auto d = opt<int64_t>(j, "down_for_s")) a.down_for = std::chrono::seconds(*d);
    a.user = j.value("user", "");
    a.command = j.value("command", "");
    a.last_success = opt_instant(j, "last_success");
    a.failed_since_success = opt<int>(j, "failed_since_success");
    a.peak_memory_bytes = opt<int64_t>(j, "peak_memory_bytes");
    a.memory_limit_bytes = opt<int64_t>(j, "memory_limit_bytes");
    a.oom_victim = j.value("oom_victim", "");
    a.affected_jobs = opt<int>(j, "affected_jobs");
    a.alert_number = j.value("alert_number", 0);
    a.going_quiet = j.value("going_quiet", false);
    a.folded_faults = j.value("folded_faults", 0);
    return a;
  } catch (const json::exception& e) {
    return fail(std::string("alert: ") + e.what());
  }
}

}  // namespace cronitor::agent
