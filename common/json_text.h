// JSON text without a JSON library, for hot paths (the wrapper's events, the agent's state rows).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cronitor {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are invalid
/// (overlong forms, surrogates and code points above U+10FFFF count as invalid).
size_t utf8_seq_len(std::string_view s, size_t i);

/// A valid UTF-8 copy of `s`: each invalid byte (and NUL unless keep_nul) becomes U+FFFD. For
/// text from files users write (a crontab in Latin-1) on its way into JSON, logs and alerts.
std::string valid_utf8(std::string_view s, bool keep_nul = false);

/// Appends `s` to `out` as a quoted JSON string; an invalid UTF-8 byte becomes \ufffd.
void append_json_string(std::string& out, std::string_view s);

}  // namespace cronitor
