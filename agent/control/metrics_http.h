// prometheus.listen: GET /metrics served by libmicrohttpd on the agent's own sd-event loop.
// MHD runs without threads of its own (external polling, its epoll set is one io source of the
// loop; MHD_get_timeout arms one loop timer), so a scrape never races the evaluator and the text
// is made on the loop from the daemon's current state. Bounded: only GET /metrics (404 for other
// paths, 405 for other methods), a few connections at a time (all of loopback counts as one
// source), each closed when its request's headers are late or it is idle too long, and slow
// connections make room for new ones (http_admission.h).
// The same server answers the dashboard (dashboard.listen) with a Handler of every request.
#pragma once

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/control/http_admission.h"
#include "agent/control/local_sources.h"
#include "common/error.h"
#include "common/event_source.h"
#include "common/listen_address.h"

struct MHD_Daemon;

namespace cronitor::agent {

class MetricsHttp {
 public:
  struct Limits {
    unsigned connections = 16;          // at once, all peers together
    unsigned per_ip = 8;                // at once from one source (all of 127.0.0.0/8 and ::1 are one)
    unsigned header_timeout_ms = 2000;  // a request's headers must have come by then
    unsigned idle_timeout_s = 10;       // a connection with nothing to do is closed
    size_t connection_memory = 32768;   // request headers beyond this are refused by MHD
    unsigned reuse_ms = 1000;           // a text made this recently is served again, not remade
  };
  /// Called on the loop for every scrape: the exposition text.
  using Render = std::function<std::string()>;
  /// One request as a Handler sees it. A POST's body (a form, at most kMaxBody bytes) is read for
  /// a serve() server only; /metrics never reads one.
  struct Request {
    std::string method, url, cookie;
    std::map<std::string, std::string> query;  // the query string's arguments, decoded
    std::string body;                          // a POST's body as sent (still URL-encoded)
    bool body_too_long = false;                // it was cut at kMaxBody: the handler refuses it
  };
  static constexpr size_t kMaxBody = 8192;
  struct Reply {
    unsigned status = 200;
    std::string content_type = "text/html; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Location, ...
  };
  /// Called on the loop for every request of a server started with serve().
  using Handler = std::function<Reply(const Request&)>;

  /// Binds `address` ("HOST:PORT") and serves on `ev` until destroyed.
  [[nodiscard]] static Result<std::unique_ptr<MetricsHttp>> start(sd_event* ev, const std::string& address,
                                                                  Render render, Limits limits);
  [[nodiscard]] static Result<std::unique_ptr<MetricsHttp>> start(sd_event* ev, const std::string& address,
                                                                  Render render) {
    return start(ev, address, std::move(render), Limits{});
  }
  /// Binds `address` and answers every request with `handler`; `what` names the config key in
  /// errors ("dashboard.listen").
  [[nodiscard]] static Result<std::unique_ptr<MetricsHttp>> serve(sd_event* ev, const std::string& address,
                                                                  Handler handler, std::string what, Limits limits);
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  const std::string& address() const { return address_; }
  uint64_t scrapes() const { return scrapes_; }
  uint64_t renders() const { return renders_; }
  unsigned connections() const;  // open now

 private:
  MetricsHttp() = default;
  void run();  // MHD_run, then the timer from MHD_get_timeout
  static int on_io(sd_event_source*, int, uint32_t, void*);
  static int on_timer(sd_event_source*, uint64_t, void*);
  friend struct MetricsHttpAccess;  // MHD's request callback (metrics_http.cpp)

  [[nodiscard]] static Result<std::unique_ptr<MetricsHttp>> bind(sd_event* ev, const std::string& address,
                                                                 std::unique_ptr<MetricsHttp> self,
                                                                 const std::string& what, Limits limits);

  std::string address_;
  Render render_;
  Handler handler_;  // set: every request goes to it, not /metrics
  sd_event* ev_ = nullptr;
  struct MhdStop {
    void operator()(MHD_Daemon* d) const;  // MHD_stop_daemon
  };
  std::unique_ptr<MHD_Daemon, MhdStop> mhd_;  // stopped by ~MetricsHttp, after its sources
  EventSource io_src_;                        // MHD's epoll set
  EventSource timer_src_;
  std::unique_ptr<HttpAdmission> admission_;
  LocalSources local_;                              // the host's own addresses count as loopback (local_sources.h)
  std::unordered_map<HttpAdmission::Id, int> fds_;  // each open connection's socket, to cut it
  void cut(HttpAdmission::Id id);                   // shuts its socket: MHD closes it at its next read
  uint64_t scrapes_ = 0;
  // A flood of scrapes costs a copy each, not a walk over every monitor: the text is made at
  // most once per reuse_ms (loop clock, CLOCK_MONOTONIC).
  uint64_t reuse_us_ = 0;
  std::string text_;
  uint64_t text_made_us_ = 0;
  uint64_t renders_ = 0;
};

/// Why libmicrohttpd could not be opened (agent/control/mhd_dl.cpp: it is opened on first use),
/// or "" when it opened.
std::string mhd_open_error();

}  // namespace cronitor::agent
