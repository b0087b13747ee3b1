#include "uplink/curl_request.h"

#include <curl/curl.h>

#include <algorithm>

namespace cronitor::uplink {

void CurlRequest::HeadersFree::operator()(curl_slist* list) const { curl_slist_free_all(list); }

CurlRequest::CurlRequest(HttpRequest request, Limits limits) : request_(std::move(request)), limits_(limits) {
  auto append = [this](const char* header) {
    // The list's head stays the same once it has one; null: out of memory, the list as it was.
    if (curl_slist* head = curl_slist_append(headers_.get(), header)) {
      (void)headers_.release();
      headers_.reset(head);
    }
  };
  for (const auto& h : request_.headers) append(h.c_str());
  append("Expect:");
}

void CurlRequest::apply(void* easy) {
  CURL* e = easy;
  curl_easy_setopt(e, CURLOPT_URL, request_.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(limits_.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits_.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "cronitor-agent");
  // Reads the whole answer (the connection stays usable), keeps its start.
  curl_easy_setopt(
      e, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* userp) -> size_t {
        auto* self = static_cast<CurlRequest*>(userp);
        std::string& a = self->answer_;
        if (a.size() < self->limits_.answer_bytes)
          a.append(data, std::min(size * n, self->limits_.answer_bytes - a.size()));
        return size * n;
      });
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_.get());
  if (!request_.userpwd.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(e, CURLOPT_USERPWD, request_.userpwd.c_str());
  }
  if (request_.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request_.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_.body.size()));
    if (request_.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request_.method.c_str());
  }
}

}  // namespace cronitor::uplink
