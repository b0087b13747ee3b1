// Notify URLs as text: checked before the first send, and shown without their secrets.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor {

/// An http:// or https:// URL that libcurl will take as written: RFC 3986 characters only (no
/// spaces), a host (a name, IPv4 or a closed [IPv6] literal), a port 1..65535 when given.
[[nodiscard]] Result<void> check_url(std::string_view url);

/// What logs and output may show of a URL: scheme, host and port. Credentials in the userinfo
/// become "***@"; the path and the query (a webhook URL's token) become "/...".
std::string redact_url(std::string_view url);

}  // namespace cronitor
