#include "agent/alert_sender.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <type_traits>

#include "agent/url_text.h"

extern char** environ;

namespace cronitor::agent {

namespace {

/// libcurl, loaded with dlopen on the first send: with its TLS, LDAP and Kerberos libraries it
/// would double the resident size of an agent that never alerts.
struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  std::string error;
};

const CurlApi& curl_api() {
  static const CurlApi api = [] {
    CurlApi a{};
    void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = ::dlopen("libcurl-gnutls.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      a.error = std::string("loading libcurl: ") + ::dlerror();
      return a;
    }
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
      if (!fn && a.error.empty()) a.error = std::string("libcurl has no ") + name;
    };
    sym(a.global_init, "curl_global_init");
    sym(a.easy_init, "curl_easy_init");
    sym(a.easy_cleanup, "curl_easy_cleanup");
    sym(a.easy_reset, "curl_easy_reset");
    sym(a.easy_setopt, "curl_easy_setopt");
    sym(a.easy_perform, "curl_easy_perform");
    sym(a.easy_getinfo, "curl_easy_getinfo");
    sym(a.easy_strerror, "curl_easy_strerror");
    sym(a.slist_append, "curl_slist_append");
    sym(a.slist_free_all, "curl_slist_free_all");
    if (a.error.empty()) a.global_init(CURL_GLOBAL_DEFAULT);
    return a;
  }();
  return api;
}

}  // namespace

struct AlertSender::Curl {
  struct Cleanup {
    void operator()(CURL* c) const { curl_api().easy_cleanup(c); }
  };
  std::unique_ptr<CURL, Cleanup> handle;
};

namespace {

size_t keep_some(char* data, size_t size, size_t n, void* userdata) {
  auto* s = static_cast<std::string*>(userdata);
  if (s->size() < 300) s->append(data, std::min(size * n, 300 - s->size()));
  return size * n;
}

struct SlistFree {
  void operator()(curl_slist* l) const { curl_api().slist_free_all(l); }
};

}  // namespace

AlertSender::AlertSender(std::string host, std::chrono::milliseconds timeout)
    : host_(std::move(host)), timeout_(timeout), curl_(std::make_unique<Curl>()) {}

AlertSender::~AlertSender() = default;

std::chrono::seconds retry_delay(int attempts) {
  int64_t s = 5;
  for (int i = 0; i < attempts && s < 3600; ++i) s *= 2;
  return std::chrono::seconds(std::min<int64_t>(s, 3600));
}

SendResult AlertSender::send(const Alert& alert, const NotifyTarget& target) {
  OutgoingMessage m = format_alert(alert, target, host_);
  return target.kind == NotifyTarget::Kind::kEmail ? mail(m) : post(m);
}

SendResult AlertSender::post(const OutgoingMessage& m) {
  const CurlApi& api = curl_api();
  if (!api.error.empty()) return {false, true, api.error};
  if (!curl_->handle) curl_->handle.reset(api.easy_init());
  CURL* c = curl_->handle.get();
  if (!c) return {false, true, "curl_easy_init failed"};
  api.easy_reset(c);
  std::unique_ptr<curl_slist, SlistFree> headers;
  curl_slist* raw = nullptr;
  for (const auto& h : m.headers) raw = api.slist_append(raw, h.c_str());
  raw = api.slist_append(raw, "Expect:");
  headers.reset(raw);
  std::string response;
  api.easy_setopt(c, CURLOPT_URL, m.url.c_str());
  api.easy_setopt(c, CURLOPT_POST, 1L);
  api.easy_setopt(c, CURLOPT_POSTFIELDS, m.body.data());
  api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(m.body.size()));
  api.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  api.easy_setopt(c, CURLOPT_USERAGENT, "cronitor-agent");
  api.easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(timeout_.count(), 5000)));
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_some);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &response);
  CURLcode rc = api.easy_perform(c);
  if (rc != CURLE_OK) return {false, true, "POST " + redact_url(m.url) + ": " + api.easy_strerror(rc)};
  long status = 0;
  api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return {true, false, {}};
  bool retry = status == 429 || status >= 500 || status == 408;
  return {false, retry, "HTTP " + std::to_string(status) + (response.empty() ? "" : ": " + response)};
}

SendResult AlertSender::mail(const OutgoingMessage& m) {
  const char* env = std::getenv("CRONITOR_SENDMAIL");
  std::string sendmail = env && *env ? env : "/usr/sbin/sendmail";
  if (::access(sendmail.c_str(), X_OK) != 0) return {false, false, "\"" + sendmail + "\" not found: cannot send email"};
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return {false, true, "pipe failed"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  const char* argv[] = {sendmail.c_str(), "-t", "-oi", nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, sendmail.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  if (rc != 0) {
    ::close(in[1]);
    return {false, true, "spawning \"" + sendmail + "\" failed"};
  }
  size_t off = 0;
  while (off < m.body.size()) {
    ssize_t n = ::write(in[1], m.body.data() + off, m.body.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(in[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, false, {}};
  return {false, true,
          "\"" + sendmail + "\" exited with status " +
              std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))};
}

}  // namespace cronitor::agent
