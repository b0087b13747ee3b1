#include "uplink/delivery.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/event_source.h"
#include "common/owned.h"
#include "common/unique_fd.h"
#include "uplink/curl_request.h"
#include "uplink/self_heartbeat.h"

namespace cronitor::uplink {
namespace {

constexpr int kHeadRows = 1024;     // rows looked at per pump and upstream
constexpr size_t kSyncChunk = 500;  // monitors per PUT
constexpr uint64_t kTrimEveryUsec = 10'000'000;
constexpr size_t kAnswerBytes = 512;               // of a server's answer, kept for the log and the alert
constexpr std::string_view kCheckJob = "#check:";  // + the job's key: the outbox job of its check upsert

/// The answer on one line, for logs and alerts.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.empty() ? "(no answer body)" : "\"" + s + "\"";
}

}  // namespace

struct Deliverer::Impl {
  struct Lane {
    std::unique_ptr<Upstream> up;
    std::unordered_set<std::string> busy;  // jobs with a request in flight
    size_t in_flight = 0;
    int failures = 0;         // consecutive; > 0: half-open after the back-off, one probe at a time
    uint64_t open_until = 0;  // CLOCK_MONOTONIC usec: the circuit is open (nothing sent) until then
    std::unordered_map<std::string, std::deque<uint64_t>> recent;  // per-job send times (rate limit)
    std::deque<uint64_t> api_recent;  // check upserts sent in the last minute (the API's rate limit)
    // Jobs whose check upsert is queued (rows of job "#check:KEY", apart so that no ping of the
    // job queued earlier, a spooled run or the first beat, can block it): the job's own rows wait
    // until the check is answered, so its first ping finds the check with its schedule.
    std::unordered_set<std::string> pending_checks;
    // Jobs whose check the upstream refused (404, 409, 410): their rows wait, the others flow;
    // one probe after `retry_max` (the check may have been created by hand meanwhile).
    struct Held {
      long status = 0;
      uint64_t until = 0;
      int64_t since_ms = 0;  // wall clock: what status shows
      std::string url, answer;
    };
    std::unordered_map<std::string, Held> held;
    // A monitor sync chunk the upstream refused (400): the ranges of its monitors still to send,
    // halved at each refusal until the refused monitors stand alone (bisection).
    std::unordered_map<int64_t, std::deque<std::pair<size_t, size_t>>> splits;
    uint64_t next_trim = 0;
    UpstreamStats stats;
  };
  struct Transfer {
    Lane* lane = nullptr;
    int64_t id = 0;
    std::string job;
    std::string shown_url;                  // masked
    std::string kind;                       // "run", "sync" or "check"
    std::pair<size_t, size_t> range{0, 0};  // sync: the monitors of the row sent, [first, second)
    std::string single;                     // sync: the key when one monitor was sent
    std::optional<CurlRequest> http;        // the request, its headers, the start of the answer
    char error[CURL_ERROR_SIZE] = {};
    std::string& answer() { return http->answer(); }
    const std::string& answer() const { return http->answer(); }
  };

  sd_event* ev = nullptr;
  Outbox* outbox = nullptr;
  DeliverySettings settings;
  StopHandler on_stop;
  Log log;
  std::vector<std::unique_ptr<Lane>> lanes;
  Owned<CURLM, curl_multi_cleanup> multi;  // reset by ~Impl, while the members its callbacks reach live
  UniqueFd epfd;                           // curl's sockets
  EventSource epoll_src;                   // epfd in the loop (after epfd: released before it closes)
  EventSource curl_timer;                  // curl's own timeouts
  EventSource wake;                        // the end of a back-off or rate-limit wait
  EventSource pump_src;                    // a defer: remove delivered rows, start more
  std::vector<int64_t> done_ids;
  using Easy = Owned<CURL, curl_easy_cleanup>;
  std::vector<Easy> spare;                 // reset, for the next transfer
  std::unordered_map<CURL*, Easy> active;  // in the multi handle
  std::mt19937_64 rng{std::random_device{}()};

  ~Impl() {
    if (multi) {
      // Still-running transfers: their rows stay queued and go out after the next start.
      std::vector<CURL*> handles;
      for (const auto& a : active) handles.push_back(a.first);
      for (CURL* e : handles) finish(e, false);
      multi.reset();
    }
    spare.clear();
    if (!done_ids.empty()) (void)outbox->remove(done_ids);
  }

  uint64_t mono() const {
    uint64_t t = 0;
    sd_event_now(ev, CLOCK_MONOTONIC, &t);
    return t;
  }

  void say(int level, const std::string& m) const {
    if (log) log(level, m);
  }

  // ---- curl <-> sd-event ----
  // curl's sockets live in an epoll set of our own, itself one io source of the loop: curl may
  // close a socket and get the same number back before it says so, which a per-socket sd-event
  // source would not survive; epoll_ctl errors here are harmless and handled.
  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      ::epoll_ctl(self->epfd.get(), EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    epoll_event e{};
    e.events = (what & CURL_POLL_IN ? uint32_t{EPOLLIN} : 0u) | (what & CURL_POLL_OUT ? uint32_t{EPOLLOUT} : 0u);
    e.data.fd = fd;
    if (::epoll_ctl(self->epfd.get(), EPOLL_CTL_MOD, fd, &e) != 0 && errno == ENOENT)
      ::epoll_ctl(self->epfd.get(), EPOLL_CTL_ADD, fd, &e);
    return 0;
  }
  static int on_io(sd_event_source*, int, uint32_t, void* ud) {
    auto* self = static_cast<Impl*>(ud);
    epoll_event events[64];
    int n = ::epoll_wait(self->epfd.get(), events, 64, 0);
    for (int i = 0; i < n; ++i) {
      const uint32_t r = events[i].events;
      int flags = (r & EPOLLIN ? CURL_CSELECT_IN : 0) | (r & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                  (r & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      int running = 0;
      curl_multi_socket_action(self->multi.get(), events[i].data.fd, flags, &running);
    }
    self->reap();
    return 0;
  }
  static int on_curl_timer_cfg(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) return sd_event_source_set_enabled(self->curl_timer.get(), SD_EVENT_OFF) < 0 ? -1 : 0;
    sd_event_source_set_time(self->curl_timer.get(), self->mono() + static_cast<uint64_t>(timeout_ms) * 1000);
    sd_event_source_set_enabled(self->curl_timer.get(), SD_EVENT_ONESHOT);
    return 0;
  }
  static int on_curl_timer(sd_event_source*, uint64_t, void* ud) {
    auto* self = static_cast<Impl*>(ud);
    int running = 0;
    curl_multi_socket_action(self->multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);
    self->reap();
    return 0;
  }
  static int on_wake(sd_event_source*, uint64_t, void* ud) {
    static_cast<Impl*>(ud)->pump();
    return 0;
  }
  static int on_pump(sd_event_source*, void* ud) {
    static_cast<Impl*>(ud)->pump();
    return 0;
  }
  void schedule_pump() { sd_event_source_set_enabled(pump_src.get(), SD_EVENT_ONESHOT); }

  // ---- completions ----
  void reap() {
    int left = 0;
    bool any = false;
    while (CURLMsg* m = curl_multi_info_read(multi.get(), &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      Transfer* t = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      long status = 0;
      if (m->data.result == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      curl_off_t retry_after = 0;
      curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
      outcome(*t, m->data.result, status, retry_after);
      finish(e, true);
      any = true;
    }
    if (any) schedule_pump();
  }

  void finish(CURL* e, bool reuse) {
    Transfer* t = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    curl_multi_remove_handle(multi.get(), e);
    Easy easy;  // released at the end, unless kept for reuse
    if (auto it = active.find(e); it != active.end()) {
      easy = std::move(it->second);
      active.erase(it);
    }
    if (t) {
      t->lane->busy.erase(t->job);
      --t->lane->in_flight;
      delete t;
    }
    if (easy && reuse && spare.size() < 256) {
      curl_easy_reset(e);
      spare.push_back(std::move(easy));
    }
  }

  void outcome(Transfer& t, CURLcode result, long status, curl_off_t retry_after) {
    Lane& l = *t.lane;
    const std::string& name = l.up->name();
    // A check upsert is named by its job; once answered for good, the job's own rows go (at once,
    // even if a ping of it was refused before the check existed).
    const std::string who = t.kind == "check" ? t.job.substr(kCheckJob.size()) : t.job;
    auto check_settled = [&] {
      if (t.kind != "check") return;
      l.pending_checks.erase(who);
      if (l.held.erase(who)) l.stats.held = l.held.size();
    };
    Verdict v = classify(status);
    if (v == Verdict::kHold && t.kind != "run") v = Verdict::kPermanent;  // the monitors API itself is not there
    // Healthchecks' API answers 403 when the account is at its check limit (401 is a bad key):
    // that check alone waits, its pings behind it.
    if (t.kind == "check" && status == 403) {
      v = Verdict::kHold;
      if (t.answer().empty()) t.answer() = "the account is at its check limit";
    }
    switch (v) {
      case Verdict::kDone:
        if (l.failures > 0)
          say(0, "uplink " + name + ": delivering again after " + std::to_string(l.failures) + " failed attempts");
        l.failures = 0;
        if (auto h = l.held.find(t.job); h != l.held.end()) {
          l.held.erase(h);
          l.stats.held = l.held.size();
          say(0, "uplink " + name + ": " + t.job + " is accepted again; its held events follow");
        }
        ++l.stats.delivered;
        check_settled();
        if (t.kind == "check")
          say(0, "uplink " + name + ": the check of " + who + (status == 201 ? " created" : " updated") +
                     " with its schedule and grace (HTTP " + std::to_string(status) + ")");
        sync_part_done(l, t);
        return;
      case Verdict::kReject:
        if (t.kind == "sync" && t.range.second - t.range.first > 1) {
          split(l, t, status);
          return;
        }
        ++l.stats.rejected;
        check_settled();
        if (t.kind == "check")
          say(1, "uplink " + name + ": the check of " + who + " was refused: HTTP " + std::to_string(status) + " " +
                     one_line(t.answer()) + "; its pings go on by slug, the check keeps the settings it has");
        else if (t.kind == "sync")
          say(1, "uplink " + name + ": monitor " + t.single + " refused: HTTP " + std::to_string(status) + " " +
                     one_line(t.answer()) + "; the other monitors are synced");
        else
          say(1, "uplink " + name + ": " + t.job + ": " + t.shown_url + " answered " + std::to_string(status) + " " +
                     one_line(t.answer()) + "; this event is dropped (" + std::to_string(l.stats.rejected) +
                     " rejected so far)");
        sync_part_done(l, t);
        return;
      case Verdict::kHold: {
        auto [h, first] = l.held.try_emplace(t.job);
        if (first)
          h->second.since_ms =
              std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
        h->second.status = status;
        h->second.url = t.shown_url;
        h->second.answer = one_line(t.answer());
        h->second.until = mono() + static_cast<uint64_t>(settings.backoff_max.count()) * 1000;
        l.stats.held = l.held.size();
        if (first) {
          say(2, "uplink " + name + ": " + who + ": " + t.shown_url + " answered " + std::to_string(status) + " " +
                     one_line(t.answer()) +
                     "; holding back this job's events (the others keep flowing), trying again every " +
                     std::to_string(settings.backoff_max.count() / 1000) + " s");
          if (on_stop) on_stop(Refusal{name, who, status, t.shown_url, one_line(t.answer())});
        }
        return;
      }
      case Verdict::kPermanent:
        if (!l.stats.stopped) {
          l.stats.stopped = true;
          l.stats.stop_status = status;
          say(2, "uplink " + name + ": " + t.shown_url + " answered " + std::to_string(status) + " " +
                     one_line(t.answer()) +
                     "; stopping this upstream until the config is fixed and reloaded (events stay queued)");
          if (on_stop) on_stop(Refusal{name, "", status, t.shown_url, one_line(t.answer())});
        }
        return;
      case Verdict::kRetry:
        break;
    }
    ++l.stats.failures;
    ++l.failures;
    // The one retry rule (retry_rule.h), with jitter: hosts that failed together do not retry together.
    const auto wait = retry_wait({settings.backoff_base, settings.backoff_max}, l.failures,
                                 std::chrono::seconds(retry_after), std::uniform_real_distribution<>(0, 1)(rng));
    const uint64_t delay = static_cast<uint64_t>(wait.count()) * 1000;
    l.open_until = std::max(l.open_until, mono() + delay);
    const std::string why = status ? "HTTP " + std::to_string(status) : std::string(curl_easy_strerror(result));
    if (l.failures == 1 || l.failures % 20 == 0)
      say(1, "uplink " + name + ": " + t.shown_url + ": " + why + "; retrying in " + std::to_string(delay / 1000) +
                 " ms (" + std::to_string(l.failures) + " failures in a row)");
  }

  /// A row's request is answered for good: the row goes, unless it is a sync chunk with parts left.
  void sync_part_done(Lane& l, const Transfer& t) {
    if (auto sp = l.splits.find(t.id); sp != l.splits.end()) {
      sp->second.pop_front();
      if (!sp->second.empty()) return;  // the next part goes at the next pump
      l.splits.erase(sp);
    }
    done_ids.push_back(t.id);
  }

  /// A refused chunk of monitors: send each half again, so the refused ones are found with
  /// 2·log2(N) requests per refused monitor while the rest are synced.
  void split(Lane& l, const Transfer& t, long status) {
    auto& parts = l.splits[t.id];
    if (parts.empty()) {
      say(1, "uplink " + l.up->name() + ": a sync of " + std::to_string(t.range.second - t.range.first) +
                 " monitors answered " + std::to_string(status) + " " + one_line(t.answer()) +
                 "; sending it in parts to find the refused monitors");
    } else {
      parts.pop_front();
    }
    const size_t mid = t.range.first + (t.range.second - t.range.first) / 2;
    parts.emplace_front(mid, t.range.second);
    parts.emplace_front(t.range.first, mid);
  }

  // ---- sending ----
  void start(Lane& l, QueuedRow& row) {
    auto j = nlohmann::json::parse(row.payload, nullptr, false);
    HttpRequest req;
    bool ok = false;
    std::pair<size_t, size_t> range{0, 0};
    std::string single;
    std::vector<std::string> secrets = l.up->secrets();  // and the job's own (a check's UUID)
    if (!j.is_discarded() && row.kind == "sync" && j.is_array()) {
      std::vector<MonitorInfo> ms;
      for (const auto& x : j)
        if (auto m = monitor_from_json(x)) ms.push_back(std::move(*m));
      range = {0, ms.size()};
      if (auto sp = l.splits.find(row.id); sp != l.splits.end() && !sp->second.empty()) range = sp->second.front();
      range.second = std::min(range.second, ms.size());
      range.first = std::min(range.first, range.second);
      std::vector<MonitorInfo> part(ms.begin() + static_cast<ptrdiff_t>(range.first),
                                    ms.begin() + static_cast<ptrdiff_t>(range.second));
      if (part.size() == 1) single = part[0].key;
      if (auto r = l.up->sync(part)) req = std::move(*r), ok = true;
    } else if (!j.is_discarded() && row.kind == "check") {
      if (auto m = monitor_from_json(j)) {
        if (auto r = l.up->check(*m)) req = std::move(*r), ok = true;
      }
    } else if (!j.is_discarded() && j.contains("t")) {
      if (auto t = telemetry_from_json(j["t"])) {
        std::optional<MonitorInfo> m;
        if (j.contains("m")) m = monitor_from_json(j["m"]);
        req = l.up->telemetry(*t, m ? &*m : nullptr);
        if (m)
          for (auto& x : l.up->secrets_of(*m)) secrets.push_back(std::move(x));
        ok = true;
      }
    }
    if (!ok) {  // unreadable: never deliverable
      ++l.stats.rejected;
      done_ids.push_back(row.id);
      return;
    }
    Easy easy;
    if (spare.empty()) {
      easy.reset(curl_easy_init());
    } else {
      easy = std::move(spare.back());
      spare.pop_back();
    }
    if (!easy) return;
    CURL* e = easy.get();
    auto* t = new Transfer;
    t->lane = &l;
    t->id = row.id;
    t->job = row.job;
    t->kind = row.kind;
    t->range = range;
    t->single = std::move(single);
    t->shown_url = mask(req.method + " " + req.url, secrets);
    t->http.emplace(std::move(req), CurlRequest::Limits{settings.timeout, settings.timeout, kAnswerBytes});
    t->http->apply(e);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    l.busy.insert(row.job);
    ++l.in_flight;
    active.emplace(e, std::move(easy));
    curl_multi_add_handle(multi.get(), e);
  }

  void pump() {
    if (!done_ids.empty()) {
      if (auto r = outbox->remove(done_ids); !r)
        say(2, "uplink: removing delivered rows: " + r.error().message);  // resent after a restart
      done_ids.clear();
    }
    const uint64_t now = mono();
    uint64_t next_wake = UINT64_MAX;
    for (auto& lp : lanes) {
      Lane& l = *lp;
      if (l.stats.stopped) continue;
      if (now >= l.next_trim) trim(l, now);
      if (now < l.open_until) {
        next_wake = std::min(next_wake, l.open_until);
        continue;
      }
      // After a failure the circuit is half-open: one probe, and more only once it succeeded.
      const size_t limit = l.failures > 0 ? 1 : static_cast<size_t>(std::max(1, settings.concurrency));
      if (l.in_flight >= limit) continue;
      // Rows of jobs already in flight are skipped, so look further than the free slots, but not
      // at all 1024 every time: a pump follows each few completions, and reading (and copying)
      // payloads that are skipped was the drain's largest cost (uplink/README.md, figures).
      const auto free_slots = static_cast<int>(limit - l.in_flight);
      std::vector<std::string> held;  // jobs waiting out a refusal: their rows are not even read
      for (const auto& [job, h] : l.held)
        if (now < h.until) held.push_back(job), next_wake = std::min(next_wake, h.until);
      auto rows = outbox->head(l.up->name(), std::min(kHeadRows, 8 * free_slots + 32), held);
      if (!rows) {
        say(2, "uplink " + l.up->name() + ": reading the outbox: " + rows.error().message);
        continue;
      }
      std::unordered_set<std::string> seen;
      const int per_minute = l.up->per_job_per_minute();
      for (auto& row : *rows) {
        if (l.in_flight >= limit) break;
        if (!seen.insert(row.job).second || l.busy.contains(row.job)) continue;  // order per job
        if (row.kind != "check" && !l.pending_checks.empty() && l.pending_checks.contains(row.job)) continue;
        if (row.kind == "check" && l.up->checks_per_minute() > 0) {  // the API's own rate limit
          auto& times = l.api_recent;
          while (!times.empty() && times.front() + 60'000'000 <= now) times.pop_front();
          if (times.size() >= static_cast<size_t>(l.up->checks_per_minute())) {
            next_wake = std::min(next_wake, times.front() + 60'000'000);
            continue;
          }
          times.push_back(now);
        }
        if (per_minute > 0) {
          auto& times = l.recent[row.job];
          while (!times.empty() && times.front() + 60'000'000 <= now) times.pop_front();
          if (times.size() >= static_cast<size_t>(per_minute)) {
            next_wake = std::min(next_wake, times.front() + 60'000'000);
            continue;
          }
          times.push_back(now);
        }
        start(l, row);
      }
      if (per_minute > 0 && l.recent.size() > 10000)
        std::erase_if(l.recent,
                      [&](const auto& kv) { return kv.second.empty() || kv.second.back() + 60'000'000 <= now; });
    }
    if (!done_ids.empty()) schedule_pump();  // unreadable rows were dropped: remove them
    if (next_wake != UINT64_MAX) {
      sd_event_source_set_time(wake.get(), next_wake);
      sd_event_source_set_enabled(wake.get(), SD_EVENT_ONESHOT);
    }
    int running = 0;
    curl_multi_socket_action(multi.get(), CURL_SOCKET_TIMEOUT, 0, &running);  // start what was added
    reap();
  }

  void trim(Lane& l, uint64_t now) {
    l.next_trim = now + kTrimEveryUsec;
    const int64_t wall_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    auto n = outbox->trim(l.up->name(), settings.max_events, wall_us - settings.max_age.count() * 1'000'000);
    if (!n) {
      say(2, "uplink " + l.up->name() + ": trimming the outbox: " + n.error().message);
    } else if (*n > 0) {
      l.stats.dropped += static_cast<uint64_t>(*n);
      say(1, "uplink " + l.up->name() + ": dropped " + std::to_string(*n) + " queued events older than " +
                 std::to_string(settings.max_age.count()) + " s or beyond " + std::to_string(settings.max_events) +
                 " queued; " + std::to_string(l.stats.dropped) + " dropped since start");
    }
  }
};

Deliverer::Deliverer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Deliverer::~Deliverer() = default;

Result<std::unique_ptr<Deliverer>> Deliverer::create(sd_event* ev, Outbox& outbox,
                                                     std::vector<std::unique_ptr<Upstream>> upstreams,
                                                     DeliverySettings settings, StopHandler on_stop, Log log) {
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) return fail(std::string("curl_global_init: ") + curl_easy_strerror(global));
  auto impl = std::make_unique<Impl>();
  impl->ev = ev;
  impl->outbox = &outbox;
  impl->settings = settings;
  impl->on_stop = std::move(on_stop);
  impl->log = std::move(log);
  for (auto& u : upstreams) {
    auto lane = std::make_unique<Impl::Lane>();
    lane->stats.name = u->name();
    lane->up = std::move(u);
    impl->lanes.push_back(std::move(lane));
  }
  impl->multi.reset(curl_multi_init());
  if (!impl->multi) return fail("curl_multi_init failed");
  Impl* p = impl.get();
  curl_multi_setopt(p->multi.get(), CURLMOPT_SOCKETFUNCTION, Impl::on_socket);
  curl_multi_setopt(p->multi.get(), CURLMOPT_SOCKETDATA, p);
  curl_multi_setopt(p->multi.get(), CURLMOPT_TIMERFUNCTION, Impl::on_curl_timer_cfg);
  curl_multi_setopt(p->multi.get(), CURLMOPT_TIMERDATA, p);
  p->epfd.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!p->epfd) return std::unexpected(Error::from_errno("epoll_create1", "uplink"));
  int r = sd_event_add_io(ev, out_ptr(p->epoll_src), p->epfd.get(), EPOLLIN, Impl::on_io, p);
  if (r >= 0)
    r = sd_event_add_time(ev, out_ptr(p->curl_timer), CLOCK_MONOTONIC, UINT64_MAX, 1000, Impl::on_curl_timer, p);
  if (r >= 0) r = sd_event_add_time(ev, out_ptr(p->wake), CLOCK_MONOTONIC, UINT64_MAX, 10000, Impl::on_wake, p);
  if (r >= 0) r = sd_event_add_defer(ev, out_ptr(p->pump_src), Impl::on_pump, p);
  if (r < 0) return std::unexpected(Error::from_errno("sd_event_add", "uplink", -r));
  sd_event_source_set_enabled(p->curl_timer.get(), SD_EVENT_OFF);
  sd_event_source_set_enabled(p->wake.get(), SD_EVENT_OFF);
  sd_event_source_set_enabled(p->pump_src.get(), SD_EVENT_ONESHOT);  // what a previous run left queued
  return std::unique_ptr<Deliverer>(new Deliverer(std::move(impl)));
}

Result<void> Deliverer::enqueue(const Telemetry& t, const MonitorInfo* monitor, int64_t now_us) {
  nlohmann::json j = {{"t", to_json(t)}};
  if (monitor) j["m"] = to_json(*monitor);
  QueuedRow row;
  row.job = t.key;
  row.kind = "run";
  row.created_us = now_us;
  row.payload = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (auto& l : impl_->lanes) {
    row.upstream = l->up->name();
    if (auto r = impl_->outbox->push(row); !r) return r;
  }
  return {};
}

Result<void> Deliverer::enqueue_heartbeat(const Telemetry& t, const MonitorInfo& monitor, int64_t now_us) {
  nlohmann::json j = {{"t", to_json(t)}, {"m", to_json(monitor)}};
  QueuedRow row;
  row.job = t.key;
  row.kind = std::string(kHeartbeatKind);
  row.created_us = now_us;
  row.payload = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (auto& l : impl_->lanes) {
    row.upstream = l->up->name();
    if (auto r = impl_->outbox->replace(row); !r) return r;
  }
  return {};
}

Result<void> Deliverer::enqueue_sync(const std::vector<MonitorInfo>& monitors, int64_t now_us) {
  for (auto& l : impl_->lanes) {
    if (!l->up->sync({})) continue;
    for (size_t i = 0; i < monitors.size(); i += kSyncChunk) {
      nlohmann::json list = nlohmann::json::array();
      for (size_t k = i; k < std::min(monitors.size(), i + kSyncChunk); ++k) list.push_back(to_json(monitors[k]));
      QueuedRow row{0,      l->up->name(), "#monitors",
                    "sync", now_us,        list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
      if (auto r = impl_->outbox->push(row); !r) return r;
    }
  }
  return {};
}

Result<void> Deliverer::enqueue_checks(const std::vector<MonitorInfo>& monitors, int64_t now_us) {
  for (auto& l : impl_->lanes) {
    for (const auto& m : monitors) {
      if (!l->up->check(m)) continue;
      QueuedRow row{0,       l->up->name(), std::string(kCheckJob) + m.key,
                    "check", now_us,        to_json(m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
      if (auto r = impl_->outbox->push(row); !r) return r;
      l->pending_checks.insert(m.key);
    }
  }
  return {};
}

void Deliverer::kick() { impl_->schedule_pump(); }

std::vector<UpstreamStats> Deliverer::stats() const {
  std::vector<UpstreamStats> out;
  for (const auto& l : impl_->lanes) {
    out.push_back(l->stats);
    for (const auto& [job, h] : l->held)  // a held check upsert is shown by its job's key
      out.back().held_jobs.push_back(
          {job.starts_with(kCheckJob) ? job.substr(kCheckJob.size()) : job, h.status, h.since_ms, h.url, h.answer});
    std::sort(out.back().held_jobs.begin(), out.back().held_jobs.end(),
              [](const HeldJob& a, const HeldJob& b) { return a.job < b.job; });
  }
  return out;
}

bool Deliverer::idle() const {
  for (const auto& l : impl_->lanes)
    if (l->in_flight) return false;
  int pump = SD_EVENT_OFF;
  sd_event_source_get_enabled(impl_->pump_src.get(), &pump);
  return pump == SD_EVENT_OFF;
}

}  // namespace cronitor::uplink
