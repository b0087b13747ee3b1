// JSON text for what the CLI prints and sends: bytes that are not UTF-8 (a name from a Latin-1
// crontab) become U+FFFD instead of an exception that would end the command.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cronitor {

inline std::string json_text(const nlohmann::json& j, int indent = 2) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cronitor
