// The `# cronitor:` settings that `wrap --adopt` writes above a line it adopted from an
// upstream's own tool (instrumented.h), and reading them back for `unwrap` and discovery.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/instrumented.h"

namespace cronitor::discovery {

/// The settings `wrap --adopt` adds to the line's `# cronitor:` comment:
/// `adopted=TOOL SETTING=ID [environment=ENV] original="COMMAND"` ('%', '"' and control bytes of
/// COMMAND percent-encoded, so that the comment stays one line and one value).
std::string adoption_settings(const Instrumentation& i, std::string_view original);

/// An adoption found in a `# cronitor:` comment line.
struct Adoption {
  Instrumentation what;     // adopted = true, original set
  std::size_t begin = 0;    // where the adoption's settings start in the line (the blank before them)
  std::size_t end = 0;      // and end (a trailing '\r' stays outside)
  bool whole_line = false;  // the comment holds nothing else: `wrap --adopt` added the line
};
std::optional<Adoption> parse_adoption(std::string_view comment_line);

}  // namespace cronitor::discovery
