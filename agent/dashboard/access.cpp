#include "agent/dashboard/access.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "common/text.h"
#include "common/unique_fd.h"

namespace cronitor::agent::dashboard {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kMaxTokenFile = 256;

/// A token as written: hex digits only, 32 to 128 of them.
bool token_shaped(std::string_view t) {
  return t.size() >= 32 && t.size() <= 128 &&
         std::all_of(t.begin(), t.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

Result<void> write_token(const std::string& path, const std::string& token) {
  const std::string tmp = path + ".new";
  ::unlink(tmp.c_str());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(Error::from_errno("open", tmp));
  const std::string line = token + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd.get()) != 0) {
    Error e = Error::from_errno("write", tmp);
    ::unlink(tmp.c_str());
    return std::unexpected(e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::from_errno("rename", path);
    ::unlink(tmp.c_str());
    return std::unexpected(e);
  }
  return {};
}

}  // namespace

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    // No randomness is a broken host, not an expected failure: a guessable token is worse.
    if (n < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<size_t>(n);
  }
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> load_or_create_token(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT) return std::unexpected(Error::from_errno("open", path));
    return rotate_token(path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(Error::from_errno("fstat", path));
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_uid != ::geteuid())
    return fail("\"" + path +
                "\" must be a regular file of this user, mode 0600 (cronitor-agent dashboard --new-token "
                "writes a new one)");
  char buf[kMaxTokenFile + 1];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return std::unexpected(Error::from_errno("read", path));
  std::string_view text = trim_space(std::string_view(buf, static_cast<size_t>(n)));
  if (!token_shaped(text))
    return fail("\"" + path + "\" holds no token (cronitor-agent dashboard --new-token writes a new one)");
  return std::string(text);
}

Result<std::string> rotate_token(const std::string& path) {
  std::string token = random_hex(kTokenBytes);
  if (auto w = write_token(path, token); !w) return std::unexpected(w.error());
  return token;
}

bool equal_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t end = header.find(';');
    std::string_view pair = trim_space(header.substr(0, end));
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=')
      return pair.substr(name.size() + 1);
  }
  return {};
}

std::optional<Session> Access::login(std::string_view token, Instant now) {
  if (token_.empty() || !equal_secret(token, token_)) return std::nullopt;
  expire(now);
  if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
  sessions_.push_back(Session{random_hex(32), random_hex(32), now + kSessionLifetime});
  return sessions_.back();
}

const Session* Access::session(std::string_view cookie_header, Instant now) const {
  std::string_view id = cookie_value(cookie_header, kCookieName);
  if (id.empty()) return nullptr;
  const Session* found = nullptr;
  // Every session is compared, so the time taken does not tell which prefix matched.
  for (const auto& s : sessions_)
    if (equal_secret(id, s.id) && now < s.expires) found = &s;
  return found;
}

Verdict Access::check(std::string_view method, std::string_view cookie_header, std::string_view csrf_field,
                      Instant now) const {
  const Session* s = session(cookie_header, now);
  if (!s) return Verdict::kUnauthorized;
  if (method == "GET" || method == "HEAD") return Verdict::kAllow;
  if (csrf_field.empty() || !equal_secret(csrf_field, s->csrf)) return Verdict::kForbidden;
  return Verdict::kAllow;
}

void Access::set_token(std::string token) {
  token_ = std::move(token);
  sessions_.clear();
}

void Access::expire(Instant now) {
  std::erase_if(sessions_, [&](const Session& s) { return now >= s.expires; });
}

std::string Access::set_cookie(const Session& s) {
  return std::string(kCookieName) + "=" + s.id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kSessionLifetime).count());
}

}  // namespace cronitor::agent::dashboard
