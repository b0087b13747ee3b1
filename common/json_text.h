// JSON text without a JSON library, for hot paths (the wrapper's events, the agent's state rows).
#pragma once

#include <string>
#include <string_view>

namespace cronitor {

/// Appends `s` to `out` as a quoted JSON string; `s` must already be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

}  // namespace cronitor
