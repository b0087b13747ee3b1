// Crontab lines already instrumented for an upstream by that upstream's own tool: cronitor-cli's
// `cronitor exec KEY`, runitor (`-uuid U` / `-slug S`), `sentry-cli monitors run SLUG --`, and a
// command that ends in a curl ping to a Healthchecks URL. The agent does not wrap them a second
// time; `wrap --adopt` rewrites one to run through cronitor-exec with the same upstream identity
// kept in a `# cronitor:` comment above it, together with the original command, which `unwrap`
// puts back byte for byte. Pure functions: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cronitor::discovery {

/// An upstream identity found in a crontab line (or kept in its comment once adopted).
struct Instrumentation {
  std::string tool;  // "cronitor", "runitor", "sentry-cli", "curl"
  /// The `# cronitor:` setting that carries the identity: cronitor_key, healthchecks_uuid,
  /// healthchecks_slug or sentry_slug; empty when the line does not say it (runitor reading
  /// CHECK_UUID from the environment).
  std::string setting;
  std::string id;             // the identity: a Cronitor key, a check's UUID or slug, a monitor slug
  std::string server;         // where the tool pings when the line says it (runitor -api-url, the URL's base)
  std::string environment;    // sentry-cli -e, cronitor --env: the check's environment
  bool adopted = false;       // the line runs through cronitor-exec with this identity (`wrap --adopt`)
  std::string original;       // adopted: the command as it was, which `unwrap` restores
  std::string not_adoptable;  // why `wrap --adopt` leaves the line as it is; empty: it can adopt it
  /// The tool's options that mean one of this agent's settings, as `# cronitor:` settings
  /// (sentry-cli --check-in-margin 5: "grace=5m"), kept in the adoption comment.
  std::vector<std::string> carried;
  /// The tool's options no setting of this agent carries ("--max-runtime 30"): `wrap --adopt`
  /// names them.
  std::vector<std::string> dropped;

  /// "cronitor", "healthchecks" or "sentry".
  std::string upstream() const;
  /// "runitor: healthchecks uuid 5f0c...": what `discover` shows.
  std::string describe() const;
  bool operator==(const Instrumentation&) const = default;
};

/// What parse_instrumented finds, with what `wrap --adopt` needs to rewrite the line.
struct InstrumentedCommand {
  Instrumentation what;
  std::string inner;    // shell text of the job itself, without the tool (what cronitor-exec runs)
  std::string outside;  // redirections of the tool's output, kept after the wrapped command
};

/// Recognises an instrumented crontab command (verbatim, '%' stdin part included); nullopt for
/// any other command, including ones that only mention a tool (`echo runitor`, a curl elsewhere).
std::optional<InstrumentedCommand> parse_instrumented(std::string_view command);

/// Why a user's own crontab (not root's) cannot adopt this identity, or empty: the agent runs as
/// root and takes from a user's comment only a Healthchecks UUID (which is itself the secret);
/// a slug or key could name another user's check.
std::string user_crontab_refusal(const Instrumentation& i);

/// The adopted command: `EXEC KEY -- 'INNER'` with the tool's redirections after it and the
/// '%' stdin part as it was. Fails when the job cannot be kept as it was, or when the line would
/// pass cron's command limit.
[[nodiscard]] Result<std::string> adopt_command(std::string_view command, const InstrumentedCommand& ic,
                                                std::string_view key, std::string_view exec_path);

}  // namespace cronitor::discovery
