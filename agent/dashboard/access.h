// Who may see the dashboard: the page shows every user's commands and output, so it is root's.
// A random login token in a 0600 file under the state folder is exchanged for a session cookie;
// every POST also carries the session's CSRF token. Pure but for the token file: "now" is an input.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "schedule/zone.h"

namespace cronitor::agent::dashboard {

using schedule::Instant;

/// The login token's file name under the state folder.
inline constexpr std::string_view kTokenFile = "dashboard.token";
/// The session cookie's name.
inline constexpr std::string_view kCookieName = "cronitor_session";
/// The form field every POST carries its CSRF token in.
inline constexpr std::string_view kCsrfField = "csrf";
/// What a request without a valid session gets with its 401: one line, how to get in.
inline constexpr std::string_view kLoginHint =
    "Not logged in: open the URL that `sudo cronitor-agent dashboard` prints.\n";
/// A session lasts this long after its login.
inline constexpr std::chrono::hours kSessionLifetime{12};
/// Sessions kept at once; a login beyond it ends the oldest (a bound on what logins can fill).
inline constexpr size_t kMaxSessions = 32;

/// `bytes` random bytes from getrandom(2) as lower-case hex.
std::string random_hex(size_t bytes);

/// The token in `path`; when the file does not exist, a new random one written there 0600. A file
/// others can read or write, a symlink or one that holds no token is an error (not trusted).
[[nodiscard]] Result<std::string> load_or_create_token(const std::string& path);
/// A new random token written to `path` (0600, renamed into place), which it returns.
[[nodiscard]] Result<std::string> rotate_token(const std::string& path);

/// One logged-in browser.
struct Session {
  std::string id;    // the cookie's value, random
  std::string csrf;  // what its POST forms carry, random
  Instant expires{};
};

/// What to do with one request.
enum class Verdict {
  kAllow,
  kUnauthorized,  // no valid session: 401 with kLoginHint
  kForbidden,     // a POST whose CSRF token is missing or wrong: 403
};

/// The sessions of one login token.
class Access {
 public:
  explicit Access(std::string token) : token_(std::move(token)) {}

  /// A new session when `token` is the login token (compared in constant time), else nullopt.
  std::optional<Session> login(std::string_view token, Instant now);
  /// The live session whose id the Cookie header `cookie_header` carries, or null.
  const Session* session(std::string_view cookie_header, Instant now) const;
  /// The verdict on a request: `method` GET/HEAD/POST..., its Cookie header, and for a POST the
  /// value of its kCsrfField form field.
  Verdict check(std::string_view method, std::string_view cookie_header, std::string_view csrf_field,
                Instant now) const;
  /// A rotated token: every session of the old one ends.
  void set_token(std::string token);
  /// Forgets expired sessions.
  void expire(Instant now);

  size_t session_count() const { return sessions_.size(); }

  /// The Set-Cookie header value for `s`: HttpOnly, SameSite=Strict, Path=/, Max-Age its lifetime.
  static std::string set_cookie(const Session& s);

 private:
  std::string token_;
  std::vector<Session> sessions_;  // oldest first
};

/// `a == b` in time that depends on their lengths only, not on where they differ.
bool equal_secret(std::string_view a, std::string_view b);
/// The value of cookie `name` in a Cookie header ("a=1; cronitor_session=XYZ"), or "".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace cronitor::agent::dashboard
