#include "agent/sources/oom_kill_log.h"

#include <algorithm>
#include <charconv>

#include "common/text.h"

namespace cronitor::agent {
namespace {

constexpr size_t kMaxText = 4096;  // a kmsg line is at most ~1 KiB; anything longer is not ours
constexpr size_t kMaxName = 64;    // TASK_COMM_LEN is 16; cgroup paths are cut for messages
constexpr size_t kMaxMemcg = 512;
constexpr size_t kMaxComm = 15;  // TASK_COMM_LEN - 1: the longest name the kernel prints
// The limit record comes right before the kill of the same OOM event (dump_header): pair them
// only when this close, so a limit of another cgroup's OOM is never taken.
constexpr auto kLimitPairing = std::chrono::seconds(2);
// The run's clock (the wrapper's) and the kernel's print time may differ by scheduling.
constexpr auto kSlack = std::chrono::seconds(2);

/// The digits at the start of `s`.
std::string_view leading_digits(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  return s.substr(0, n);
}

/// "NkB" right after `key` in `text` (e.g. "anon-rss:"), as bytes.
std::optional<int64_t> kb_after(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  auto n = whole_number<int64_t>(leading_digits(text.substr(at + key.size())));
  if (!n || *n > (int64_t{1} << 50)) return std::nullopt;
  return *n * 1024;
}

std::string clip(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

std::optional<KmsgRecord> parse_kmsg_record(std::string_view raw) {
  const size_t semi = raw.find(';');
  if (semi == std::string_view::npos || semi > 128) return std::nullopt;
  std::string_view prefix = raw.substr(0, semi);
  KmsgRecord r;
  std::string_view parts[4];
  size_t n = 0, pos = 0;
  while (n < 4 && pos <= prefix.size()) {  // LEVEL,SEQ,USEC,FLAGS[,more fields later kernels add]
    size_t end = prefix.find(',', pos);
    if (end == std::string_view::npos) end = prefix.size();
    parts[n++] = prefix.substr(pos, end - pos);
    pos = end + 1;
  }
  if (n < 3) return std::nullopt;
  auto level = whole_number<int>(parts[0]);
  auto seq = whole_number<uint64_t>(parts[1]);
  auto usec = whole_number<uint64_t>(parts[2]);
  if (!level || !seq || !usec) return std::nullopt;
  r.level = *level;
  r.seq = *seq;
  r.usec = *usec;
  std::string_view text = raw.substr(semi + 1);
  if (size_t nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);  // dictionary follows
  if (text.size() > kMaxText) return std::nullopt;
  r.text = text;
  return r;
}

std::optional<OomLine> parse_oom_line(std::string_view text) {
  OomLine l;
  // The task name (comm, 15 bytes) is the process's own choice (prctl PR_SET_NAME): it may hold
  // "pid=", ") total-vm:" or commas. Every field is read from the kernel's fixed text around it:
  // the line's start, the pid before the name, the sizes after the last ") total-vm:", and the
  // summary's ",pid=N,uid=N" at the very end (agent/README.md, "Security model").
  std::string_view killed;
  for (std::string_view head :
       {"Out of memory: Killed process ", "Memory cgroup out of memory: Killed process ", "Killed process "})
    if (text.starts_with(head)) {
      killed = text.substr(head.size());
      break;
    }
  if (!killed.empty()) {
    // "Out of memory: Killed process 1234 (name) total-vm:...", "Memory cgroup " before it since
    // 4.19; older kernels said "Killed process 1234 (name) total-vm:..." on a line of its own.
    std::string_view rest = killed;
    auto pid = whole_number<int64_t>(leading_digits(rest));
    rest = rest.substr(leading_digits(rest).size());
    if (!pid || *pid <= 0 || !rest.starts_with(" (")) return std::nullopt;
    rest = rest.substr(2);
    // Only numbers follow "total-vm:", so the last ") total-vm:" ends the name.
    const size_t vm = rest.rfind(") total-vm:");
    const size_t close = vm != std::string_view::npos ? vm : rest.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    l.kind = OomLine::Kind::kKilled;
    l.pid = *pid;
    l.task = clip(rest.substr(0, close), kMaxName);
    const std::string_view sizes = rest.substr(close);
    auto anon = kb_after(sizes, "anon-rss:");
    auto file = kb_after(sizes, "file-rss:");
    auto shmem = kb_after(sizes, "shmem-rss:");
    if (anon) l.rss_bytes = *anon + file.value_or(0) + shmem.value_or(0);
    return l;
  }
  if (text.starts_with("oom-kill:")) {
    // "oom-kill:constraint=C,nodemask=N,cpuset=P,mems_allowed=M[,oom_memcg=P],task_memcg=P,task=NAME,
    // pid=N,uid=N": pid and uid are the last two fields, numbers; the name comes before them.
    const std::string_view list = text.substr(9);
    const size_t u = list.rfind(",uid=");
    if (u == std::string_view::npos || !whole_number<int64_t>(list.substr(u + 5))) return std::nullopt;
    const size_t p = list.rfind(",pid=", u);
    if (p == std::string_view::npos) return std::nullopt;
    auto n = whole_number<int64_t>(list.substr(p + 5, u - p - 5));
    if (!n || *n <= 0) return std::nullopt;
    l.kind = OomLine::Kind::kSummary;
    l.pid = *n;
    // ",task=" is the first one within a comm's length of ",pid=" (a name holding ",task=" comes
    // later); the cgroup paths before it may hold commas.
    const std::string_view head = list.substr(0, p);
    size_t t = head.rfind(",task=");
    while (t != std::string_view::npos && t > 0) {
      const size_t earlier = head.rfind(",task=", t - 1);
      if (earlier == std::string_view::npos || p - earlier - 6 > kMaxComm) break;
      t = earlier;
    }
    if (t != std::string_view::npos) {
      l.task = clip(head.substr(t + 6), kMaxName);
      if (size_t m = head.rfind(",task_memcg=", t); m != std::string_view::npos)
        l.memcg = clip(head.substr(m + 12, t - m - 12), kMaxMemcg);
    }
    // The constraint is the first field, before any name or path.
    if (list.starts_with("constraint=")) l.constraint = clip(list.substr(11, list.find(',') - 11), kMaxName);
    return l;
  }
  if (text.starts_with("memory: usage ")) {
    l.kind = OomLine::Kind::kMemLimit;
    l.usage_bytes = kb_after(text, "usage ");
    l.limit_bytes = kb_after(text, "limit ");
    if (!l.limit_bytes) return std::nullopt;
    return l;
  }
  return std::nullopt;
}

std::string OomKill::describe() const {
  return (task.empty() ? std::string("a process") : task) + " (pid " + std::to_string(pid) + ")";
}

OomKillLog::OomKillLog(PgidOf pgid_of, AncestorsOf ancestors_of)
    : pgid_of_(std::move(pgid_of)), ancestors_of_(std::move(ancestors_of)) {}

OomKill& OomKillLog::kill_of(int64_t pid, Instant at) {
  // The two lines of one kill are printed together: the same pid within a few seconds.
  for (auto it = kills_.rbegin(); it != kills_.rend() && it - kills_.rbegin() < 8; ++it)
    if (it->pid == pid && at - it->at < kLimitPairing) return *it;
  while (!kills_.empty() && (kills_.size() >= kMaxKills || at - kills_.front().at > kKeep)) kills_.pop_front();
  OomKill k;
  k.pid = pid;
  k.at = at;
  // Read at once: the victim is dying and its parent reaps it soon after (the pid alone still
  // names a run whose group leader it was).
  if (pgid_of_) k.pgid = pgid_of_(pid).value_or(0);
  if (ancestors_of_) k.ancestors = ancestors_of_(pid);
  if (pending_limit_ && at - pending_limit_at_ < kLimitPairing) k.limit_bytes = pending_limit_;
  kills_.push_back(std::move(k));
  return kills_.back();
}

void OomKillLog::on_record(std::string_view raw, Instant at, uint64_t mono_now_usec) {
  auto rec = parse_kmsg_record(raw);
  if (!rec) return;
  auto line = parse_oom_line(rec->text);
  if (!line) return;
  // Its own time: now, minus how long ago (by the monotonic clock) the kernel printed it.
  const uint64_t ago = mono_now_usec > rec->usec ? mono_now_usec - rec->usec : 0;
  const Instant when = at - std::chrono::microseconds(std::min<uint64_t>(ago, uint64_t{1} << 40));
  switch (line->kind) {
    case OomLine::Kind::kMemLimit:
      pending_limit_ = line->limit_bytes;
      pending_limit_at_ = when;
      return;
    case OomLine::Kind::kSummary: {
      OomKill& k = kill_of(line->pid, when);
      if (k.task.empty()) k.task = line->task;  // the "Killed process" line's name is exact
      k.memcg = line->memcg;
      if (line->constraint != "CONSTRAINT_MEMCG") k.limit_bytes.reset();  // a global OOM: no cgroup limit
      return;
    }
    case OomLine::Kind::kKilled: {
      OomKill& k = kill_of(line->pid, when);
      k.task = line->task;
      k.rss_bytes = line->rss_bytes;
      return;
    }
  }
}

OomKillLog::Verdict OomKillLog::judge_by(const std::function<bool(const OomKill&)>& mine,
                                         const std::function<bool(const OomKill&)>& known, Instant start,
                                         Instant end) const {
  Verdict v;
  bool unknown_owner = false;
  for (const auto& k : kills_) {
    if (k.at + kSlack < start || k.at > end + kSlack) continue;
    if (mine(k)) {
      v.kind = Verdict::Kind::kOom;
      v.kill = k;
      return v;
    }
    // Prefer naming a kill whose owner is unknown: that one may have been the run's.
    if (!v.other || (!known(k) && !unknown_owner)) v.other = k;
    unknown_owner |= !known(k);
  }
  const bool watched_all = watching_since_ && *watching_since_ <= start &&
                           !(last_loss_ && *last_loss_ + kSlack >= start && *last_loss_ <= end + kSlack);
  v.kind = unknown_owner ? Verdict::Kind::kAmbiguous : watched_all ? Verdict::Kind::kNotOom : Verdict::Kind::kUnknown;
  return v;
}

OomKillLog::Verdict OomKillLog::judge(int64_t pgid, Instant start, Instant end) const {
  return judge_by([pgid](const OomKill& k) { return pgid > 0 && (k.pid == pgid || k.pgid == pgid); },
                  [](const OomKill& k) { return k.pgid != 0; }, start, end);
}

OomKillLog::Verdict OomKillLog::judge_process(int64_t pid, Instant start, Instant end) const {
  return judge_by(
      [pid](const OomKill& k) {
        return pid > 0 && (k.pid == pid || std::find(k.ancestors.begin(), k.ancestors.end(), pid) != k.ancestors.end());
      },
      [](const OomKill& k) { return !k.ancestors.empty(); }, start, end);
}

}  // namespace cronitor::agent
