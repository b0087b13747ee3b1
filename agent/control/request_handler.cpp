#include "agent/control/request_handler.h"

#include <nlohmann/json.hpp>

namespace cronitor::agent {
namespace {

using nlohmann::json;

constexpr int kMaxHistory = 10000;
// Pauses end before the year 10000 (the microsecond clock and calendar maths stay in range).
constexpr int64_t kMaxUntilUs = 253402300799LL * 1000000;

std::string reply_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

Request reply(std::string text) {
  Request r;
  r.reply = std::move(text);
  return r;
}

// A JSON integer as int64, saturating (nlohmann keeps non-negative numbers as unsigned).
int64_t whole(const json& j) {
  if (j.is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(j.get<uint64_t>(), INT64_MAX));
  return j.get<int64_t>();
}

std::string_view skip_space(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  return s;
}

}  // namespace

bool RequestHandler::is_control(std::string_view line) {
  line = skip_space(line);
  if (line.empty() || line.front() != '{') return false;
  return skip_space(line.substr(1)).starts_with("\"control\"");
}

std::string RequestHandler::control_error(std::string_view why) {
  return reply_line({{"ok", false}, {"error", std::string(why)}});
}

Request RequestHandler::handle(std::string_view line, const Peer& peer, uint64_t mono_usec) {
  if (line.size() > cronitor::kMaxLineBytes) return reply("err line longer than 64 KiB\n");
  if (is_control(line)) return control(line, peer);
  return event(line, peer, mono_usec);
}

std::optional<std::string> RequestHandler::refuse(const cronitor::RunEvent& ev, uid_t sender) const {
  if (sender != 0 && ev.uid != static_cast<int64_t>(sender))
    return "uid " + std::to_string(ev.uid) + " does not match the sender's uid " + std::to_string(sender);
  if (auto owner = owner_of_(ev.key); owner && !may_report(*owner, sender))
    return "job \"" + ev.key + "\" does not run as uid " + std::to_string(sender);
  return std::nullopt;
}

Request RequestHandler::event(std::string_view line, const Peer& peer, uint64_t mono_usec) {
  auto ev = cronitor::decode(line);
  if (!ev) {
    // A control request whose first key is not "control" (another client's JSON order).
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("control")) return control(line, peer);
    return reply("err " + ev.error().message.substr(0, 200) + "\n");
  }
  if (auto why = refuse(*ev, peer.uid)) return reply("err " + *why + "\n");
  // A refusal for now, not for good: the wrapper spools the event, and the spool obeys the
  // same budget.
  if (!rate_.take(peer.uid, mono_usec)) return reply("busy rate limit for uid " + std::to_string(peer.uid) + "\n");
  Request r;
  r.kind = Request::Kind::kEvent;
  r.event = std::move(*ev);
  return r;
}

// The host's snooze silences every job's alerts: root's (and the agent's own uid's) alone.
Request RequestHandler::snooze(const nlohmann::json& req, bool admin) {
  if (!admin) return reply(control_error("permission denied: only root may snooze the host"));
  Request r;
  r.kind = Request::Kind::kSnooze;
  auto until = req.find("until_us");
  if (until != req.end() && !until->is_null()) {
    if (!until->is_number_integer() || whole(*until) <= 0 || whole(*until) > kMaxUntilUs)
      return reply(control_error("bad request: \"until_us\" must be microseconds since 1970 before the year 10000"));
    r.until_us = whole(*until);
  }
  if (auto reason = req.find("reason"); reason != req.end() && !reason->is_null()) {
    if (!reason->is_string()) return reply(control_error("bad request: \"reason\" must be a string"));
    for (char ch : reason->get<std::string>()) {
      if (r.reason.size() >= kMaxReasonBytes) break;
      r.reason += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? ' ' : ch;  // one line in logs and alerts
    }
  }
  return r;
}

Request RequestHandler::control(std::string_view line, const Peer& peer) {
  auto req = json::parse(line, nullptr, false);
  if (!req.is_object()) return reply(control_error("bad request: not a JSON object"));
  auto field = req.find("control");
  if (field == req.end() || !field->is_string())
    return reply(control_error("bad request: \"control\" must be a string"));
  const std::string what = field->get<std::string>();
  const bool admin = peer.uid == 0 || peer.uid == admin_uid_;
  Request r;
  if (what == "status") {
    r.kind = Request::Kind::kStatus;
    r.sees_all = admin;
    return r;
  }
  if (what == "snooze") return snooze(req, admin);
  if (what == "advance" && clock_advance_) {  // tests only: a simulated clock, moved by root alone
    if (peer.uid != 0) return reply(control_error("permission denied: only root may advance the simulated clock"));
    auto by = req.find("by_us");
    if (by == req.end() || !by->is_number_integer() || whole(*by) < 0 || whole(*by) > kMaxUntilUs)
      return reply(control_error("bad request: \"by_us\" must be microseconds, 0 or more"));
    r.kind = Request::Kind::kAdvance;
    r.by_us = whole(*by);
    return r;
  }
  if (what != "history" && what != "pause" && what != "resume")
    return reply(control_error("unknown request \"" + what.substr(0, 64) + "\""));
  auto key = req.find("key");
  if (key == req.end() || !key->is_string()) return reply(control_error("bad request: \"key\" must be a string"));
  r.key = key->get<std::string>();
  if (!cronitor::valid_key(r.key)) return reply(control_error("bad request: \"key\" is not a valid monitor key"));
  if (!admin) {
    auto owner = owner_of_(r.key);
    if (!owner || !may_report(*owner, peer.uid))
      return reply(
          control_error("permission denied: uid " + std::to_string(peer.uid) + " does not own \"" + r.key + "\""));
  }
  if (what == "history") {
    r.kind = Request::Kind::kHistory;
    if (auto limit = req.find("limit"); limit != req.end()) {
      if (!limit->is_number_integer()) return reply(control_error("bad request: \"limit\" must be a whole number"));
      r.limit = static_cast<int>(std::clamp<int64_t>(whole(*limit), 1, kMaxHistory));
    }
    return r;
  }
  if (what == "pause") {
    r.kind = Request::Kind::kPause;
    if (auto until = req.find("until_us"); until != req.end() && !until->is_null()) {
      if (!until->is_number_integer() || whole(*until) <= 0 || whole(*until) > kMaxUntilUs)
        return reply(control_error("bad request: \"until_us\" must be microseconds since 1970 before the year 10000"));
      r.until_us = whole(*until);
    }
    return r;
  }
  r.kind = Request::Kind::kResume;
  return r;
}

}  // namespace cronitor::agent
