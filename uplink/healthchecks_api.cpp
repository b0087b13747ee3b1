#include "uplink/healthchecks_api.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/unique_fd.h"
#include "uplink/upstream.h"
#include "uplink/upstream_schedule.h"

namespace cronitor::uplink {
namespace {

/// `s` cut to `max` characters (the server counts characters, not bytes), at a character boundary.
std::string cut_chars(std::string s, size_t max) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++chars > max) {
      s.resize(i);
      break;
    }
  }
  return s;
}

int64_t unit_seconds(const std::string& unit) {
  if (unit == "minute") return 60;
  if (unit == "hour") return 3600;
  if (unit == "day") return 86400;
  if (unit == "week") return 604800;
  return 0;
}

}  // namespace

std::string healthchecks_slug(const MonitorInfo& m) {
  std::string slug = !m.healthchecks_slug.empty() ? m.healthchecks_slug : !m.slug.empty() ? m.slug : slugify(m.key);
  if (slug.size() > kHealthchecksNameMax) slug.resize(kHealthchecksNameMax);
  return slug;
}

std::optional<nlohmann::json> healthchecks_check_body(const MonitorInfo& m, std::string* why_not) {
  auto no = [&](std::string why) -> std::optional<nlohmann::json> {
    if (why_not) *why_not = std::move(why);
    return std::nullopt;
  };
  if (m.schedule.empty()) return no("it has no clock schedule (@reboot, or none upstream can take)");
  nlohmann::json j = {{"name", cut_chars(m.name.empty() ? m.key : m.name, kHealthchecksNameMax)},
                      {"slug", healthchecks_slug(m)},
                      {"unique", {"slug"}},
                      {"grace", std::clamp(m.grace_seconds, kHealthchecksMinSeconds, kHealthchecksMaxSeconds)},
                      {"desc", m.note},
                      {"channels", "*"}};
  if (is_plain_crontab(m.schedule)) {
    // The server reads a one-line 5-field schedule as cron (guess_kind) and checks it with
    // cronsim; a zone it does not list is refused (400), so only zoneinfo names go.
    if (m.schedule.size() > 100) return no("its crontab is longer than Healthchecks' 100 characters");
    j["schedule"] = m.schedule;
    j["tz"] = m.timezone.empty() ? "UTC" : m.timezone;
    if (!is_iana_zone(j["tz"].get<std::string>())) return no("its zone " + m.timezone + " is not an IANA name");
  } else if (auto iv = parse_interval(m.schedule)) {
    const int64_t period = iv->value * unit_seconds(iv->unit);
    if (period < kHealthchecksMinSeconds || period > kHealthchecksMaxSeconds)
      return no("its period (" + m.schedule + ") is outside Healthchecks' 1 minute to 365 days");
    j["timeout"] = period;
  } else {
    return no("its schedule (" + m.schedule + ") is neither a 5-field crontab nor an interval");
  }
  return j;
}

void CheckLedger::load() {
  last_.clear();
  std::ifstream in(path_);
  if (!in) return;
  std::stringstream buf;
  buf << in.rdbuf();
  auto j = nlohmann::json::parse(buf.str(), nullptr, false);
  if (!j.is_object()) return;
  for (const auto& [k, v] : j.items())
    if (v.is_string()) last_[k] = v.get<std::string>();
}

Result<void> CheckLedger::save() const {
  const std::string text = nlohmann::json(last_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string tmp = path_ + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return std::unexpected(Error::from_errno("open", tmp));
  const bool ok = ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  fd.reset();
  if (!ok) return std::unexpected(Error::from_errno("write", tmp, err));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return std::unexpected(Error::from_errno("rename", path_));
  return {};
}

bool CheckLedger::changed(const std::string& key, const std::string& what) const {
  auto it = last_.find(key);
  return it == last_.end() || it->second != what;
}

}  // namespace cronitor::uplink
