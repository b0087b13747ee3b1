#include "agent/config/config_uplink.h"

#include "common/duration.h"
#include "common/listen_address.h"
#include "uplink/upstream.h"

namespace cronitor::agent {
namespace {

/// Reads these sections' values, reporting to the document's one collector.
struct Ctx {
  YamlErrors& errors;
  void error(const YAML::Node& at, const std::string& key, std::string message) {
    errors.add(at, key, std::move(message));
  }
  bool str(const YAML::Node& n, const std::string& key, std::string& out) {
    if (!n.IsScalar() || n.Scalar().size() > 4096) {
      error(n, key, "expected a string (at most 4096 bytes)");
      return false;
    }
    out = n.Scalar();
    return true;
  }
  void url(const YAML::Node& n, const std::string& key, std::string& out) {
    std::string v;
    if (!str(n, key, v)) return;
    if (!v.starts_with("https://") && !v.starts_with("http://"))
      return error(n, key, "needs an http:// or https:// URL");
    out = v;
  }
  void boolean(const YAML::Node& n, const std::string& key, bool& out) {
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, out)) error(n, key, "expected true or false");
  }
  /// A secret: non-empty, printable, no spaces (it goes into URLs).
  void secret(const YAML::Node& n, const std::string& key, std::string& out) {
    std::string v;
    if (!str(n, key, v)) return;
    if (v.empty() || v.find_first_of(" \t\r\n/?#") != std::string::npos)
      return error(n, key, "must be a non-empty key without spaces, '/', '?' or '#'");
    out = v;
  }
  void seconds(const YAML::Node& n, const std::string& key, std::chrono::milliseconds& out) {
    auto d = n.IsScalar() ? parse_duration(n.Scalar()) : fail("expected a duration");
    if (!d || d->count() <= 0) return error(n, key, d ? "must be positive" : d.error().message);
    out = *d;
  }
  bool map(const YAML::Node& n, const std::string& key) {
    if (n.IsMap()) return true;
    error(n, key, "expected a mapping");
    return false;
  }
};

/// `uplink.heartbeat`: false, true, or {key:, interval:, grace:}. The interval is whole minutes
/// (Sentry's interval schedule has no seconds; Cronitor's "every N minutes" follows it).
void parse_heartbeat(Ctx& c, const YAML::Node& v, const std::string& key, uplink::HeartbeatSettings& out) {
  if (v.IsScalar()) return c.boolean(v, key, out.enabled);
  if (!c.map(v, key)) return;
  out.enabled = true;
  for (const auto& e : v) {
    const std::string f = e.first.Scalar(), fk = key + "." + f;
    if (f == "key") {
      std::string s;
      if (!c.str(e.second, fk, s)) continue;
      if (!uplink::valid_slug(s))
        c.error(e.second, fk, "must be 1 to 50 of a-z, 0-9, '-' and '_' (a key every upstream takes as it is)");
      else
        out.key = s;
    } else if (f == "interval" || f == "grace") {
      std::chrono::milliseconds ms{0};
      c.seconds(e.second, fk, ms);
      if (ms.count() <= 0) continue;
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(ms);
      if (f == "grace") {
        if (s < std::chrono::minutes(1) || s > std::chrono::days(28))
          c.error(e.second, fk, "must be from 1 minute to 28 days");
        else
          out.grace = s;
      } else if (s.count() % 60 != 0 || s < std::chrono::minutes(1) || s > std::chrono::days(1)) {
        c.error(e.second, fk,
                "must be whole minutes from 1 minute to 1 day (Sentry's interval schedules count minutes)");
      } else {
        out.interval = s;
      }
    } else if (f == "enabled") {
      c.boolean(e.second, fk, out.enabled);
    } else {
      c.error(e.first, fk, "unknown key (known: key, interval, grace, enabled)");
    }
  }
}

}  // namespace

void parse_uplink(const YAML::Node& n, uplink::UplinkSettings& out, YamlErrors& errors) {
  Ctx c{errors};
  if (n.IsNull()) return;
  if (!c.map(n, "uplink")) return;
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    const std::string key = "uplink." + k;
    const YAML::Node& v = kv.second;
    if (k == "cronitor") {
      if (!c.map(v, key)) continue;
      uplink::CronitorSettings s;
      for (const auto& e : v) {
        const std::string f = e.first.Scalar(), fk = key + "." + f;
        if (f == "api_key")
          c.secret(e.second, fk, s.api_key);
        else if (f == "telemetry_url")
          c.url(e.second, fk, s.telemetry_url);
        else if (f == "api_url")
          c.url(e.second, fk, s.api_url);
        else if (f == "sync_monitors")
          c.boolean(e.second, fk, s.sync_monitors);
        else if (f == "environment")
          c.str(e.second, fk, s.environment);
        else
          c.error(e.first, fk, "unknown key (known: api_key, telemetry_url, api_url, sync_monitors, environment)");
      }
      if (s.api_key.empty() && !v["api_key"]) c.error(v, key + ".api_key", "missing: Cronitor needs an API key");
      out.cronitor = s;
    } else if (k == "healthchecks") {
      if (!c.map(v, key)) continue;
      uplink::HealthchecksSettings s;
      for (const auto& e : v) {
        const std::string f = e.first.Scalar(), fk = key + "." + f;
        if (f == "ping_key")
          c.secret(e.second, fk, s.ping_key);
        else if (f == "ping_url")
          c.url(e.second, fk, s.ping_url);
        else if (f == "create")
          c.boolean(e.second, fk, s.create);
        else if (f == "api_key")
          c.secret(e.second, fk, s.api_key);
        else if (f == "api_url")
          c.url(e.second, fk, s.api_url);
        else
          c.error(e.first, fk, "unknown key (known: ping_key, ping_url, create, api_key, api_url)");
      }
      // The server refuses any other length with 401 (hc/api/decorators.py): said here, not at
      // the first upsert. A read-only key (hcr_...) cannot create checks.
      if (!s.api_key.empty() && (s.api_key.size() != 32 || s.api_key.starts_with("hcr_")))
        c.error(v["api_key"], key + ".api_key",
                "expected the project's read-write API key (32 characters, Settings > API Access)");
      if (s.ping_key.empty() && !v["ping_key"])
        c.error(v, key + ".ping_key", "missing: slug URLs need the project's ping key");
      out.healthchecks = s;
    } else if (k == "sentry") {
      if (!c.map(v, key)) continue;
      uplink::SentrySettings s;
      for (const auto& e : v) {
        const std::string f = e.first.Scalar(), fk = key + "." + f;
        if (f == "dsn") {
          if (c.str(e.second, fk, s.dsn))
            if (auto d = uplink::parse_sentry_dsn(s.dsn); !d) c.error(e.second, fk, d.error().message);
        } else if (f == "environment") {
          c.str(e.second, fk, s.environment);
        } else {
          c.error(e.first, fk, "unknown key (known: dsn, environment)");
        }
      }
      if (!v["dsn"]) c.error(v, key + ".dsn", "missing: Sentry needs the project's DSN");
      out.sentry = s;
    } else if (k == "heartbeat") {
      parse_heartbeat(c, v, key, out.heartbeat);
    } else if (k == "timeout") {
      c.seconds(v, key, out.delivery.timeout);
    } else if (k == "max_events") {
      int64_t x = 0;
      if (!v.IsScalar() || !YAML::convert<int64_t>::decode(v, x) || x < 1 || x > 100000000)
        c.error(v, key, "expected a whole number from 1 to 100000000");
      else
        out.delivery.max_events = x;
    } else if (k == "max_age") {
      std::chrono::milliseconds ms{0};
      c.seconds(v, key, ms);
      if (ms.count() > 0) out.delivery.max_age = std::chrono::duration_cast<std::chrono::seconds>(ms);
    } else if (k == "retry_min" || k == "retry_max") {
      c.seconds(v, key, k == "retry_min" ? out.delivery.backoff_base : out.delivery.backoff_max);
    } else if (k == "forward_user_keys") {
      c.boolean(v, key, out.forward_user_keys);
    } else {
      c.error(kv.first, key,
              "unknown key (known: cronitor, healthchecks, sentry, heartbeat, timeout, max_events, max_age, "
              "retry_min, retry_max, forward_user_keys)");
    }
  }
}

namespace {

/// An address to listen on (`prometheus.listen`, `dashboard.listen`): kept only when valid.
void parse_listen(Ctx& c, const YAML::Node& value, const std::string& key, std::string& out) {
  std::string v;
  if (!c.str(value, key, v)) return;
  if (auto a = parse_listen_address(v); !a)
    c.error(value, key, a.error().message + " (got \"" + v + "\")");
  else
    out = v;
}

}  // namespace

void parse_prometheus(const YAML::Node& n, uplink::PrometheusSettings& out, YamlErrors& errors) {
  Ctx c{errors};
  if (n.IsNull()) return;
  if (!c.map(n, "prometheus")) return;
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar(), key = "prometheus." + k;
    if (k == "listen") {
      parse_listen(c, kv.second, key, out.listen);
    } else if (k == "textfile") {
      std::string v;
      if (!c.str(kv.second, key, v)) continue;
      if (v.empty() || v[0] != '/' || !v.ends_with(".prom"))
        c.error(kv.second, key, "must be an absolute path ending in .prom");
      else
        out.textfile = v;
    } else if (k == "user_jobs") {
      std::string v;
      if (!c.str(kv.second, key, v)) continue;
      if (v != "key" && v != "all" && v != "none")
        c.error(kv.second, key, "must be key, all or none");
      else
        out.user_jobs = v;
    } else {
      c.error(kv.first, key, "unknown key (known: listen, textfile, user_jobs)");
    }
  }
}

void parse_dashboard(const YAML::Node& n, std::string& listen, bool& allow_remote, YamlErrors& errors) {
  Ctx c{errors};
  if (n.IsNull()) return;
  if (!c.map(n, "dashboard")) return;
  YAML::Node listen_node;
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar(), key = "dashboard." + k;
    if (k == "listen") {
      parse_listen(c, kv.second, key, listen);
      listen_node = kv.second;
    } else if (k == "allow_remote") {
      c.boolean(kv.second, key, allow_remote);
    } else {
      c.error(kv.first, key, "unknown key (known: listen, allow_remote)");
    }
  }
  // The pages show every user's commands and output: another host reaching them is a choice.
  if (auto a = parse_listen_address(listen); !listen.empty() && a && !a->loopback() && !allow_remote) {
    c.error(listen_node, "dashboard.listen",
            "\"" + listen +
                "\" is not a loopback address: the dashboard shows every user's commands and output; set "
                "dashboard.allow_remote: true to serve it there, or listen on 127.0.0.1");
    listen.clear();
  }
}

}  // namespace cronitor::agent
