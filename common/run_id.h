// A run's id: a lowercase UUID of version 7 (RFC 9562, section 5.7). Its first 48 bits are the
// Unix time in milliseconds; the other 80 hold the version (7), the variant and 74 random bits, so
// that an id made in a later millisecond sorts after one made earlier. state.db's runs table has a
// unique index on run_id: with random ids (version 4) every new run wrote a leaf of it chosen at
// random, with these they go to its end, the same few pages for a whole commit (README.md,
// Development: "Run ids", with the figures of agent_bench events). Every source of runs makes its
// ids here: cronitor-exec for the runs it wraps, the agent for the runs it sees in cron's log and
// in process events and for the alerts it forwards, and `cronitor-agent ping`. The upstreams take
// any UUID (Healthchecks' rid and Sentry's check_in_id are parsed as UUIDs of any version;
// Cronitor's series is text).
#pragma once

#include <cstdint>
#include <string>

namespace cronitor {

/// A new run id for now (the realtime clock).
std::string new_run_id();

/// A new run id with `unix_ms` (milliseconds since the Unix epoch, clamped to the 48 bits the
/// field holds) as its time.
std::string new_run_id(int64_t unix_ms);

}  // namespace cronitor
