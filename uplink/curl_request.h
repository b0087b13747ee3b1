// The one way the agent's two HTTP senders put a request on a libcurl handle: the alert sender
// (AlertSender::post_here, blocking, in its child process) and the upstreams' Deliverer (libcurl
// multi on the daemon's loop). Both send http and https only, follow no redirect, raise no
// signal, say "cronitor-agent", bound the transfer and its connect, skip "Expect: 100-continue",
// and keep the start of the answer for logs and alerts. What an answer means and when to try
// again is the one retry rule (retry_rule.h). The two differ only in how they wait for the
// transfer, which each owns, and in the limits below.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "uplink/upstream.h"

struct curl_slist;

namespace cronitor::uplink {

/// One request and what its transfer keeps: the header list libcurl reads and the answer's start.
class CurlRequest {
 public:
  struct Limits {
    std::chrono::milliseconds timeout;          // the whole transfer
    std::chrono::milliseconds connect_timeout;  // the connection alone
    size_t answer_bytes;                        // of the answer kept; the rest is read and dropped
  };
  CurlRequest(HttpRequest request, Limits limits);
  CurlRequest(const CurlRequest&) = delete;
  CurlRequest& operator=(const CurlRequest&) = delete;

  /// Sets a fresh or reset easy handle (a CURL*) to send this request; this object must outlive
  /// the transfer.
  void apply(void* easy);
  const HttpRequest& request() const { return request_; }
  /// The start of the answer (a caller may word a refusal that came without one).
  std::string& answer() { return answer_; }
  const std::string& answer() const { return answer_; }

 private:
  HttpRequest request_;
  Limits limits_;
  std::string answer_;
  struct HeadersFree {
    void operator()(curl_slist* list) const;  // curl_slist_free_all
  };
  std::unique_ptr<curl_slist, HeadersFree> headers_;
};

}  // namespace cronitor::uplink
