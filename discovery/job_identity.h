// Stable keys and readable names for jobs.
#pragma once

#include <string>
#include <string_view>

namespace cronitor::discovery {

/// Collapses runs of blanks to one space and trims: editing whitespace keeps a job's key.
std::string normalize_blanks(std::string_view s);

/// A key derived from content that stays when lines are reordered or comments edited:
/// 12 hex digits of a 64-bit FNV-1a hash over the parts (each normalized).
std::string derive_key(std::string_view kind, std::string_view user, std::string_view schedule,
                       std::string_view command);

/// A readable name after what a shell command runs: "backup-db" for
/// "cd /srv && /usr/local/bin/backup-db.sh --full > /dev/null". Guards (test, [ ], command -v),
/// `cd`, assignments and wrappers (nice, flock, timeout, ...) are skipped. Never empty.
std::string derive_name(std::string_view command);

/// Lowercase letters, digits and '-' only, at most 64 characters ("Nightly Report" -> "nightly-report").
std::string slugify(std::string_view s);

}  // namespace cronitor::discovery
