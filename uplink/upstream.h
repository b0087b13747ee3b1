// One upstream (Cronitor, Healthchecks.io, Sentry Crons): turns queued telemetry into HTTP
// requests in that service's documented format (what an answer means: retry_rule.h). Pure: no I/O.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "uplink/retry_rule.h"
#include "uplink/settings.h"
#include "uplink/telemetry.h"

namespace cronitor::uplink {

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::string userpwd;               // HTTP basic auth "user:password", or empty
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  /// "cronitor", "healthchecks", "sentry": the outbox's upstream column and the log's name.
  virtual const std::string& name() const = 0;
  /// The request for one run event; `monitor` when the job is known (Sentry's monitor_config).
  virtual HttpRequest telemetry(const Telemetry& t, const MonitorInfo* monitor) const = 0;
  /// A batch upsert of monitors, for upstreams that have one (Cronitor's PUT /monitors).
  virtual std::optional<HttpRequest> sync(const std::vector<MonitorInfo>&) const { return std::nullopt; }
  /// The upsert of one job's check before its first event, for upstreams that have one
  /// (Healthchecks' Management API with an api_key); nullopt: none for this job.
  virtual std::optional<HttpRequest> check(const MonitorInfo&) const { return std::nullopt; }
  /// Check upserts this upstream takes per minute (its API's rate limit); 0: no limit.
  virtual int checks_per_minute() const { return 0; }
  /// Events one job may send per minute; 0: no limit (Sentry: 6 per monitor environment).
  virtual int per_job_per_minute() const { return 0; }
  /// The secrets in this upstream's URLs, for log masking.
  virtual std::vector<std::string> secrets() const = 0;
  /// One job's own secrets in its URLs (a Healthchecks check's UUID: anyone with it can ping).
  virtual std::vector<std::string> secrets_of(const MonitorInfo&) const { return {}; }
};

[[nodiscard]] std::unique_ptr<Upstream> make_cronitor(const CronitorSettings& s);
[[nodiscard]] std::unique_ptr<Upstream> make_healthchecks(const HealthchecksSettings& s);
[[nodiscard]] Result<std::unique_ptr<Upstream>> make_sentry(const SentrySettings& s);
/// Every upstream the settings name (a bad Sentry DSN is an error naming the key).
[[nodiscard]] Result<std::vector<std::unique_ptr<Upstream>>> make_upstreams(const UplinkSettings& s);

/// Sentry's DSN "https://PUBLIC_KEY@HOST/PROJECT_ID" taken apart.
struct SentryDsn {
  std::string scheme, public_key, host, project_id;
};
[[nodiscard]] Result<SentryDsn> parse_sentry_dsn(std::string_view dsn);

/// `s` percent-encoded for a URL query value or path segment (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);
/// A slug from a monitor key: a-z, 0-9, '-' and '_' (what Healthchecks and Sentry accept).
std::string slugify(std::string_view key);
/// A per-monitor slug override (`slug:` / `slug=`): 1 to 50 of a-z, 0-9, '-' and '_', what both
/// Healthchecks.io and Sentry accept (Sentry's limit is 50).
[[nodiscard]] bool valid_slug(std::string_view slug);
/// What is wrong with an upstream identity setting (cronitor_key, healthchecks_uuid,
/// healthchecks_slug, sentry_slug) and its value, or empty when it is fine.
std::string identity_problem(std::string_view setting, std::string_view value);
/// The last `max` bytes of `s`, not splitting a UTF-8 character.
std::string utf8_tail(std::string_view s, size_t max);

}  // namespace cronitor::uplink
