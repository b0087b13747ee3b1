#include "agent/control/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>

namespace cronitor::agent {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// MHD reports why it could not start only through its logger: the latest line is kept for the
// error, and lines while serving go to the log.
thread_local std::string last_mhd_message;

void mhd_log(void*, const char* fmt, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string m(buf);
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  last_mhd_message = m;
  spdlog::debug("libmicrohttpd: {}", m);
}

uint64_t mono_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

MHD_Result answer(MHD_Connection* c, unsigned status, std::string_view body, const char* type,
                  const char* allow = nullptr, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
  for (const auto& [name, value] : headers) MHD_add_response_header(r, name.c_str(), value.c_str());
  const MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

}  // namespace

struct MetricsHttpAccess {
  // Before MHD takes a connection: admitted (maybe in place of a slow one), or closed at once.
  static MHD_Result on_accept(void* cls, const sockaddr* addr, socklen_t len) {
    auto* self = static_cast<MetricsHttp*>(cls);
    const auto v = self->admission_->admit(self->local_.source(addr, len, mono_usec()), mono_usec());
    if (v.evict) self->cut(*v.evict);
    return v.admit ? MHD_YES : MHD_NO;
  }
  static void on_connection(void* cls, MHD_Connection* c, void**, MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<MetricsHttp*>(cls);
    const auto id = reinterpret_cast<HttpAdmission::Id>(c);
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      self->admission_->closed(id);
      self->fds_.erase(id);
      return;
    }
    const MHD_ConnectionInfo* addr = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const MHD_ConnectionInfo* fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const sockaddr* sa = addr ? addr->client_addr : nullptr;
    const socklen_t len = !sa ? 0 : sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    self->admission_->opened(id, self->local_.source(sa, len, mono_usec()), mono_usec());
    if (fd) self->fds_[id] = fd->connect_fd;
  }
  static void on_completed(void* cls, MHD_Connection* c, void** state, MHD_RequestTerminationCode) {
    delete static_cast<MetricsHttp::Request*>(*state);  // a POST's body being read (on_request)
    *state = nullptr;
    static_cast<MetricsHttp*>(cls)->admission_->completed(reinterpret_cast<HttpAdmission::Id>(c), mono_usec());
  }

  static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                               const char* upload, size_t* upload_size, void** state) {
    auto* self = static_cast<MetricsHttp*>(cls);
    // A handler's POST: MHD calls once for the headers, then per piece of the body, then once
    // more with none; the body is kept (bounded) in *state until that last call.
    if (self->handler_ && std::strcmp(method, MHD_HTTP_METHOD_POST) == 0) {
      if (!*state) {
        *state = new MetricsHttp::Request{method, url, "", {}, "", false};
        self->admission_->request(reinterpret_cast<HttpAdmission::Id>(c), mono_usec());
        return MHD_YES;
      }
      auto* pending = static_cast<MetricsHttp::Request*>(*state);
      if (*upload_size > 0) {
        const size_t room = MetricsHttp::kMaxBody - std::min(pending->body.size(), MetricsHttp::kMaxBody);
        if (*upload_size > room) pending->body_too_long = true;
        pending->body.append(upload, std::min(*upload_size, room));
        *upload_size = 0;
        return MHD_YES;
      }
    }
    *upload_size = 0;  // any other body is not read: nothing else takes one
    if (!*state) self->admission_->request(reinterpret_cast<HttpAdmission::Id>(c), mono_usec());
    if (self->handler_) {
      MetricsHttp::Request req{method, url, "", {}, "", false};
      if (auto* pending = static_cast<MetricsHttp::Request*>(*state)) {
        req.body = std::move(pending->body);
        req.body_too_long = pending->body_too_long;
      }
      if (const char* cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE))
        req.cookie = cookie;
      MHD_get_connection_values(
          c, MHD_GET_ARGUMENT_KIND,
          [](void* q, MHD_ValueKind, const char* k, const char* v) {
            static_cast<std::map<std::string, std::string>*>(q)->emplace(k, v ? v : "");
            return MHD_YES;
          },
          &req.query);
      const MetricsHttp::Reply reply = self->handler_(req);
      return answer(c, reply.status, reply.body, reply.content_type.c_str(), nullptr, reply.headers);
    }
    if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0)
      return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served\n", "text/plain; charset=utf-8", "GET");
    if (std::strcmp(url, "/metrics") != 0)
      return answer(c, MHD_HTTP_NOT_FOUND, "not found: this agent serves /metrics only\n", "text/plain; charset=utf-8");
    ++self->scrapes_;
    uint64_t now = 0;
    sd_event_now(self->ev_, CLOCK_MONOTONIC, &now);
    if (self->renders_ == 0 || now >= self->text_made_us_ + self->reuse_us_) {
      self->text_ = self->render_();
      self->text_made_us_ = now;
      ++self->renders_;
    }
    return answer(c, MHD_HTTP_OK, self->text_, kContentType);
  }
};

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::start(sd_event* ev, const std::string& address, Render render,
                                                        Limits limits) {
  std::unique_ptr<MetricsHttp> self(new MetricsHttp());
  self->render_ = std::move(render);
  return bind(ev, address, std::move(self), "prometheus.listen", limits);
}

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::serve(sd_event* ev, const std::string& address, Handler handler,
                                                        std::string what, Limits limits) {
  std::unique_ptr<MetricsHttp> self(new MetricsHttp());
  self->handler_ = std::move(handler);
  return bind(ev, address, std::move(self), what, limits);
}

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::bind(sd_event* ev, const std::string& address,
                                                       std::unique_ptr<MetricsHttp> self, const std::string& what,
                                                       Limits limits) {
  auto addr = parse_listen_address(address);
  if (!addr) return fail(what + " \"" + address + "\": " + addr.error().message);
  self->address_ = address;
  self->reuse_us_ = uint64_t{limits.reuse_ms} * 1000;
  HttpAdmission::Limits admission;
  admission.total = limits.connections;
  admission.per_source = limits.per_ip;
  admission.header_us = uint64_t{limits.header_timeout_ms} * 1000;
  self->admission_ = std::make_unique<HttpAdmission>(admission);
  self->ev_ = ev;
  // No MHD_OPTION_LISTENING_ADDRESS_REUSE: it would set SO_REUSEPORT, and a second agent would
  // then share the port silently instead of failing.
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;  // no MHD_USE_INTERNAL_POLLING_THREAD: the loop polls
  if (addr->addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  const uint16_t port = ntohs(addr->addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr->addr)->sin6_port
                                                               : reinterpret_cast<sockaddr_in*>(&addr->addr)->sin_port);
  last_mhd_message.clear();
  // The limits per source and in total are the admission's (MHD's per-IP limit would count each
  // of loopback's addresses apart); MHD's own limit leaves room for connections cut to make room,
  // which it closes at its next read.
  self->mhd_.reset(MHD_start_daemon(
      flags, port, &MetricsHttpAccess::on_accept, self.get(), &MetricsHttpAccess::on_request, self.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<const sockaddr*>(&addr->addr), MHD_OPTION_CONNECTION_LIMIT,
      limits.connections * 2, MHD_OPTION_CONNECTION_TIMEOUT, limits.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      limits.connection_memory, MHD_OPTION_LISTEN_BACKLOG_SIZE, 16u, MHD_OPTION_NOTIFY_CONNECTION,
      &MetricsHttpAccess::on_connection, self.get(), MHD_OPTION_NOTIFY_COMPLETED, &MetricsHttpAccess::on_completed,
      self.get(), MHD_OPTION_EXTERNAL_LOGGER, &mhd_log, nullptr, MHD_OPTION_END));
  if (!self->mhd_ && !mhd_open_error().empty()) return fail(what + " \"" + address + "\": " + mhd_open_error());
  if (!self->mhd_)
    return fail(what + " \"" + address + "\": cannot serve there" +
                (last_mhd_message.empty() ? std::string() : ": " + last_mhd_message));
  const MHD_DaemonInfo* info = MHD_get_daemon_info(self->mhd_.get(), MHD_DAEMON_INFO_EPOLL_FD);
  if (!info) return fail(what + ": libmicrohttpd has no epoll set");
  if (int r = sd_event_add_io(ev, out_ptr(self->io_src_), info->epoll_fd, EPOLLIN, on_io, self.get()); r < 0)
    return std::unexpected(Error::from_errno("sd_event_add_io", what, -r));
  if (int r = sd_event_add_time(ev, out_ptr(self->timer_src_), CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, self.get());
      r < 0)
    return std::unexpected(Error::from_errno("sd_event_add_time", what, -r));
  sd_event_source_set_enabled(self->timer_src_.get(), SD_EVENT_OFF);
  self->run();
  return self;
}

void MetricsHttp::MhdStop::operator()(MHD_Daemon* d) const { MHD_stop_daemon(d); }

// In this order: the loop stops watching MHD's epoll set, then MHD stops, while the members its
// completion callbacks reach (admission_, fds_) still live.
MetricsHttp::~MetricsHttp() {
  io_src_.reset();
  timer_src_.reset();
  mhd_.reset();
}

unsigned MetricsHttp::connections() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(mhd_.get(), MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  return info ? info->num_connections : 0;
}

void MetricsHttp::cut(HttpAdmission::Id id) {
  if (auto it = fds_.find(id); it != fds_.end()) ::shutdown(it->second, SHUT_RDWR);
}

void MetricsHttp::run() {
  for (const auto id : admission_->expired(mono_usec())) cut(id);  // headers overdue
  // At the connection limit MHD takes its listening socket out of its epoll set, and puts it back
  // at the start of the next MHD_run: when this run closed connections, run once more, or the
  // clients waiting in the backlog would wait for an event that never comes.
  const unsigned before = connections();
  MHD_run(mhd_.get());
  if (connections() < before) MHD_run(mhd_.get());
  // MHD's own deadlines (idle connections) and the admission's (late headers) as one loop timer.
  MHD_UNSIGNED_LONG_LONG ms = 0;
  std::optional<uint64_t> at = admission_->next_deadline();
  if (MHD_get_timeout(mhd_.get(), &ms) == MHD_YES)
    at = std::min<uint64_t>(at.value_or(UINT64_MAX), mono_usec() + ms * 1000);
  if (at) {
    sd_event_source_set_time(timer_src_.get(), *at);
    sd_event_source_set_enabled(timer_src_.get(), SD_EVENT_ONESHOT);
  } else {
    sd_event_source_set_enabled(timer_src_.get(), SD_EVENT_OFF);
  }
}

int MetricsHttp::on_io(sd_event_source*, int, uint32_t, void* ud) {
  static_cast<MetricsHttp*>(ud)->run();
  return 0;
}

int MetricsHttp::on_timer(sd_event_source*, uint64_t, void* ud) {
  static_cast<MetricsHttp*>(ud)->run();
  return 0;
}

}  // namespace cronitor::agent
