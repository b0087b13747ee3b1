#include "uplink/alert_sender.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "common/owned.h"
#include "common/unique_fd.h"
#include "common/url_text.h"
#include "uplink/curl_request.h"
#include "uplink/post_child.h"

extern char** environ;

namespace cronitor::uplink {

namespace {

/// curl_global_init once, before the first handle; a function-local static makes concurrent
/// first sends (sender thread, test-alert) safe.
void curl_init_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)rc;
}

}  // namespace

struct AlertSender::Curl {
  Owned<CURL, curl_easy_cleanup> handle;
  Owned<CURLM, curl_multi_cleanup> multi;
  std::mutex mu;  // guards `multi` against cancel() from another thread
};

AlertSender::AlertSender(std::string host, std::chrono::milliseconds timeout)
    : host_(std::move(host)), timeout_(timeout), curl_(std::make_unique<Curl>()) {}

AlertSender::~AlertSender() = default;

std::chrono::milliseconds retry_delay(int attempts, const SendResult& r) {
  return retry_wait(kAlertBackoff, attempts + 1, r.retry_after, 0);  // no jitter: one host's alerts
}

SendResult AlertSender::send(const Alert& alert, const NotifyTarget& target) {
  // Alertmanager's endsAt counts from the moment of sending (an alert may have waited in the outbox).
  const AlertmanagerTiming am{std::chrono::time_point_cast<Instant::duration>(std::chrono::system_clock::now()),
                              std::chrono::seconds(am_resend_s_.load())};
  OutgoingMessage m = format_alert(alert, target, host_, am);
  return target.kind == NotifyTarget::Kind::kEmail ? mail(m) : post(m);
}

SendResult AlertSender::post(const OutgoingMessage& m) {
  if (const std::string exe = post_child(); !exe.empty()) return post_in_child(exe, m);
  return post_here(m);
}

SendResult AlertSender::post_here(const OutgoingMessage& m) {
  curl_init_once();
  if (!curl_->handle) curl_->handle.reset(curl_easy_init());
  CURL* c = curl_->handle.get();
  if (!c) return {false, true, "curl_easy_init failed"};
  curl_easy_reset(c);
  CurlRequest request(HttpRequest{"POST", m.url, m.body, m.headers, {}},
                      {timeout_, std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(5)), 300});
  request.apply(c);
  auto rc = static_cast<CURLcode>(perform(c));
  if (cancelled_.load()) return {false, true, "cancelled: the agent is stopping"};
  if (rc != CURLE_OK) return {false, true, "POST " + redact_url(m.url) + ": " + curl_easy_strerror(rc)};
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const Verdict v = classify(status);
  if (v == Verdict::kDone) return {true, false, {}};
  curl_off_t retry_after = 0;  // Slack, Discord and Teams send it with their 429s
  curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
  const std::string& response = request.answer();
  return {false, v == Verdict::kRetry, "HTTP " + std::to_string(status) + (response.empty() ? "" : ": " + response),
          std::chrono::seconds(v == Verdict::kRetry ? std::max<curl_off_t>(retry_after, 0) : 0)};
}

// curl_easy_perform would hold a stopping agent for up to the whole timeout (a receiver that
// accepts and never answers: 10 s); a multi handle's poll is woken by cancel() at once.
int AlertSender::perform(void* easy) {
  CURL* c = easy;
  {
    std::lock_guard lock(curl_->mu);
    if (!curl_->multi) curl_->multi.reset(curl_multi_init());
  }
  CURLM* m = curl_->multi.get();
  if (!m) return CURLE_OUT_OF_MEMORY;
  if (curl_multi_add_handle(m, c) != CURLM_OK) return CURLE_FAILED_INIT;
  CURLcode rc = CURLE_OK;
  bool done = false;
  while (!done && !cancelled_.load()) {
    int running = 0;
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      rc = CURLE_FAILED_INIT;
      break;
    }
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &left))
      if (msg->msg == CURLMSG_DONE) {
        rc = msg->data.result;
        done = true;
      }
    if (!done && running == 0) break;
    if (!done) curl_multi_poll(m, nullptr, 0, 1000, nullptr);
  }
  curl_multi_remove_handle(m, c);
  return rc;
}

void AlertSender::cancel() {
  cancelled_.store(true);
  {
    std::lock_guard lock(child_mu_);
    if (child_ > 0) ::kill(child_, SIGKILL);
  }
  std::lock_guard lock(curl_->mu);
  if (curl_->multi) curl_multi_wakeup(curl_->multi.get());
}

SendResult AlertSender::mail(const OutgoingMessage& m) {
  const char* env = std::getenv("CRONITOR_SENDMAIL");
  std::string sendmail = env && *env ? env : "/usr/sbin/sendmail";
  if (::access(sendmail.c_str(), X_OK) != 0) return {false, false, "\"" + sendmail + "\" not found: cannot send email"};
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return {false, true, "pipe failed"};
  UniqueFd read_end(in[0]), write_end(in[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, read_end.get(), 0);
  const char* argv[] = {sendmail.c_str(), "-t", "-oi", nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, sendmail.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  read_end.reset();
  if (rc != 0) return {false, true, "spawning \"" + sendmail + "\" failed"};
  size_t off = 0;
  while (off < m.body.size()) {
    ssize_t n = ::write(write_end.get(), m.body.data() + off, m.body.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  write_end.reset();  // sendmail reads to the end before it sends and exits
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, false, {}};
  return {false, true,
          "\"" + sendmail + "\" exited with status " +
              std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))};
}

}  // namespace cronitor::uplink
