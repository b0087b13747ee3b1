// Throughput of the uplink delivery: the real Deliverer (libcurl multi on an sd-event loop) fed
// from a real state.db outbox (agent/state/uplink_outbox.cpp), sending Cronitor telemetry to a
// receiver on 127.0.0.1 (libmicrohttpd, one thread, answers 200: the receiver is not the limit).
//   live     events queued in transactions of 200 while the loop delivers them (as the daemon
//            does): delivered events per second over UPLINK_BENCH_SECONDS (default 5)
//   backlog  one hour of a 1,000-job host with every-minute jobs (60,000 runs = 120,000 run and
//            complete events) queued first, then drained: the seconds until the outbox is empty
// usage: uplink_bench [live|backlog|all] [--jobs N] [--runs-per-job N] [--concurrency N]
#include <microhttpd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/state/state_store.h"
#include "agent/state/uplink_outbox.h"
#include "uplink/delivery.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace cronitor;

namespace {

struct Options {
  int jobs = 1000;
  int runs_per_job = 60;
  int concurrency = 32;
  double seconds = 5;
};

/// The receiver: counts requests, answers 200 with an empty body, keeps connections alive.
class Receiver {
 public:
  Receiver() {
    daemon_ =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, nullptr, nullptr,
                         &Receiver::on_request, this, MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT,
                         60u, MHD_OPTION_NOTIFY_CONNECTION, &Receiver::on_connection, this, MHD_OPTION_END);
    if (!daemon_) {
      std::fprintf(stderr, "receiver: MHD_start_daemon failed\n");
      std::exit(1);
    }
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
  }
  ~Receiver() { MHD_stop_daemon(daemon_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint64_t requests() const { return requests_.load(); }
  uint64_t connections() const { return connections_.load(); }  // opened: keep-alive keeps it low

 private:
  static MHD_Result on_request(void* cls, MHD_Connection* c, const char*, const char*, const char*, const char*,
                               size_t* upload_size, void** con_cls) {
    auto* self = static_cast<Receiver*>(cls);
    if (*con_cls == nullptr) {  // first call: headers only
      *con_cls = self;
      return MHD_YES;
    }
    if (*upload_size) {
      *upload_size = 0;
      return MHD_YES;
    }
    self->requests_.fetch_add(1, std::memory_order_relaxed);
    static char empty[1];
    MHD_Response* r = MHD_create_response_from_buffer(0, empty, MHD_RESPMEM_PERSISTENT);
    const MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
  }
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  static void on_connection(void* cls, MHD_Connection*, void**, MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) static_cast<Receiver*>(cls)->connections_.fetch_add(1);
  }
  std::atomic<uint64_t> requests_{0}, connections_{0};
};

struct Bench {
  fs::path dir;
  std::unique_ptr<agent::StateStore> store;
  std::unique_ptr<agent::SqlOutbox> outbox;
  std::unique_ptr<uplink::Deliverer> deliverer;
  sd_event* ev = nullptr;

  Bench(const std::string& url, const Options& o) {
    dir = fs::temp_directory_path() / ("uplink-bench-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<std::string> warnings;
    auto s = agent::StateStore::open((dir / "state.db").string(), &warnings);
    if (!s) die("state.db: " + s.error().message);
    store = std::make_unique<agent::StateStore>(std::move(*s));
    auto ob = agent::SqlOutbox::open(store->db());
    if (!ob) die("outbox: " + ob.error().message);
    outbox = std::move(*ob);
    sd_event_new(&ev);
    uplink::CronitorSettings cs;
    cs.api_key = "BENCHKEY";
    cs.telemetry_url = url;
    cs.api_url = url + "/api";
    cs.environment = "bench";
    std::vector<std::unique_ptr<uplink::Upstream>> ups;
    ups.push_back(uplink::make_cronitor(cs));
    uplink::DeliverySettings ds;
    ds.concurrency = o.concurrency;
    ds.max_events = 1'000'000;  // the bench measures delivery, not the bound (default 100,000)
    auto d = uplink::Deliverer::create(ev, *outbox, std::move(ups), ds, nullptr, [](int level, const std::string& m) {
      if (level > 0) std::fprintf(stderr, "uplink: %s\n", m.c_str());
    });
    if (!d) die("deliverer: " + d.error().message);
    deliverer = std::move(*d);
  }
  ~Bench() {
    deliverer.reset();
    outbox.reset();
    store.reset();
    sd_event_unref(ev);
    fs::remove_all(dir);
  }
  [[noreturn]] static void die(const std::string& m) {
    std::fprintf(stderr, "uplink_bench: %s\n", m.c_str());
    std::exit(1);
  }
  uint64_t delivered() const { return deliverer->stats()[0].delivered; }

  /// Queues `n` events (run, complete, run, ... per job) in one transaction.
  void queue(uint64_t first, uint64_t n, int jobs) {
    if (!store->begin()) die("BEGIN");
    const int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (uint64_t i = first; i < first + n; ++i) {
      // Events 2k and 2k+1 are run k's start and end; runs go round the jobs.
      const uint64_t run = i / 2;
      uplink::Telemetry t;
      char key[32], id[64];  // room for any 64-bit run number in both fields
      std::snprintf(key, sizeof key, "job-%04d", static_cast<int>(run % static_cast<uint64_t>(jobs)));
      std::snprintf(id, sizeof id, "%08llx-0000-4000-8000-%012llx", static_cast<unsigned long long>(run),
                    static_cast<unsigned long long>(run));
      t.key = key;
      t.run_id = id;
      t.host = "bench-host";
      t.environment = "bench";
      t.ts_ms = now_ms;
      if (i % 2 == 0) {
        t.state = uplink::Telemetry::State::kRun;
      } else {
        t.state = uplink::Telemetry::State::kComplete;
        t.exit_code = 0;
        t.duration_ms = 1234;
        t.output_tail = "rotated 3 files\n";
      }
      if (auto r = deliverer->enqueue(t, nullptr, now_ms * 1000); !r) die("enqueue: " + r.error().message);
    }
    if (!store->commit()) die("COMMIT");
    deliverer->kick();
  }
};

void backlog(const Options& o) {
  Receiver rx;
  Bench b(rx.url(), o);
  const uint64_t n = static_cast<uint64_t>(o.jobs) * static_cast<uint64_t>(o.runs_per_job) * 2;
  const auto q0 = Clock::now();
  b.queue(0, n, o.jobs);
  const double queued_s = std::chrono::duration<double>(Clock::now() - q0).count();
  const auto t0 = Clock::now();
  while (b.delivered() < n) {
    sd_event_run(b.ev, 100000);
    if (Clock::now() - t0 > std::chrono::minutes(10)) Bench::die("the drain took more than 10 minutes");
  }
  while (*b.outbox->depth("cronitor") > 0) sd_event_run(b.ev, 100000);  // the last rows removed too
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "backlog: %d jobs x %d runs = %llu events queued in %.2f s, drained in %.2f s (%.0f events/s); "
      "receiver got %llu requests on %llu connections\n",
      o.jobs, o.runs_per_job, static_cast<unsigned long long>(n), queued_s, s, static_cast<double>(n) / s,
      static_cast<unsigned long long>(rx.requests()), static_cast<unsigned long long>(rx.connections()));
}

void live(const Options& o) {
  Receiver rx;
  Bench b(rx.url(), o);
  constexpr uint64_t kBatch = 200, kMaxQueued = 5000;
  uint64_t queued = 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(o.seconds);
  while (Clock::now() < end) {
    if (queued - b.delivered() < kMaxQueued) {  // the producer keeps a bounded backlog
      b.queue(queued, kBatch, o.jobs);
      queued += kBatch;
    }
    sd_event_run(b.ev, 0);
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint64_t got = b.delivered();
  std::printf(
      "live: %llu events delivered in %.2f s = %.0f events/s (%llu queued); receiver got %llu requests on %llu "
      "connections\n",
      static_cast<unsigned long long>(got), s, static_cast<double>(got) / s, static_cast<unsigned long long>(queued),
      static_cast<unsigned long long>(rx.requests()), static_cast<unsigned long long>(rx.connections()));
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = "all";
  Options o;
  if (const char* s = std::getenv("UPLINK_BENCH_SECONDS")) o.seconds = std::atof(s);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--jobs")
      o.jobs = next();
    else if (a == "--runs-per-job")
      o.runs_per_job = next();
    else if (a == "--concurrency")
      o.concurrency = next();
    else
      what = a;
  }
  if (o.jobs < 1 || o.runs_per_job < 1 || o.concurrency < 1) {
    std::fprintf(stderr, "usage: uplink_bench [live|backlog|all] [--jobs N] [--runs-per-job N] [--concurrency N]\n");
    return 2;
  }
  if (what == "live" || what == "all") live(o);
  if (what == "backlog" || what == "all") backlog(o);
  return 0;
}
