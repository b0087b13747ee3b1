// The JSON layer under decode (common/event.cpp), for the differential tests that hold its two
// parsers together: simdjson parses every line of up to kFastJsonBytes; a line it refuses goes to
// nlohmann_json, whose verdict stands.
#pragma once

#include <cstddef>
#include <string_view>

namespace cronitor {

/// The longest line simdjson is asked about (agent_bench's run and end lines are 151 and 303
/// bytes; an end's output_tail is at most 8 KiB of text, more when escaped). Longer lines go to
/// nlohmann_json.
inline constexpr size_t kFastJsonBytes = 8192;

/// True when simdjson accepts `text` as one JSON value (false past kFastJsonBytes too).
bool fast_json_accepts(std::string_view text);

}  // namespace cronitor
