// libcurl's functions that the product calls, defined here and forwarded to libcurl opened on
// first use (common/lazy_library.h): the agent does not load libcurl and the ~20 libraries it
// brings (OpenSSL, Kerberos, LDAP, libssh2, ...) until it sends something. The soname is the
// one the build found (CRONITOR_CURL_SONAME, agent/CMakeLists.txt); the package depends on it
// by name (debian/control). Until libcurl is open, the functions that start work fail as libcurl
// would (curl_global_init: CURLE_FAILED_INIT, curl_easy_init: NULL) and curl_easy_strerror says
// why it could not be opened; the others are only reached with a handle, so after it opened.
#define CURL_DISABLE_TYPECHECK  // the type-checking macros would rename the definitions below
#include <curl/curl.h>

#include <cstdarg>

#include "common/lazy_library.h"

namespace {

cronitor::LazyLibrary& curl_lib() {
  static cronitor::LazyLibrary lib(CRONITOR_CURL_SONAME);
  return lib;
}

// The function `name` of libcurl, resolved once; nullptr when libcurl could not be opened.
#define CURL_FN(name) static const auto fn = curl_lib().function<decltype(&::name)>(#name)

// curl's options and infos take one argument whose type their number tells (curl.h's
// CURLOPTTYPE_* ranges): long, a pointer (object or function), curl_off_t, a blob pointer.
template <typename F, typename H, typename O>
CURLcode forward_option(F fn, H* h, O option, va_list ap) {
  const int o = static_cast<int>(option);
  if (o < CURLOPTTYPE_OBJECTPOINT) return static_cast<CURLcode>(fn(h, option, va_arg(ap, long)));
  if (o >= CURLOPTTYPE_OFF_T && o < CURLOPTTYPE_BLOB)
    return static_cast<CURLcode>(fn(h, option, va_arg(ap, curl_off_t)));
  return static_cast<CURLcode>(fn(h, option, va_arg(ap, void*)));
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
  CURL_FN(curl_global_init);
  return fn ? fn(flags) : CURLE_FAILED_INIT;
}

const char* curl_easy_strerror(CURLcode code) {
  CURL_FN(curl_easy_strerror);
  if (fn) return fn(code);
  static const std::string why = "libcurl could not be opened: " + curl_lib().error();
  return why.c_str();
}

CURL* curl_easy_init(void) {
  CURL_FN(curl_easy_init);
  return fn ? fn() : nullptr;
}

void curl_easy_cleanup(CURL* h) {
  CURL_FN(curl_easy_cleanup);
  if (fn) fn(h);
}

void curl_easy_reset(CURL* h) {
  CURL_FN(curl_easy_reset);
  if (fn) fn(h);
}

CURLcode curl_easy_perform(CURL* h) {
  CURL_FN(curl_easy_perform);
  return fn ? fn(h) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  CURL_FN(curl_easy_setopt);
  if (!fn) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  const CURLcode rc = forward_option(fn, h, option, ap);
  va_end(ap);
  return rc;
}

CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  CURL_FN(curl_easy_getinfo);
  if (!fn) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);  // every CURLINFO writes through a pointer
  va_end(ap);
  return fn(h, info, out);
}

curl_slist* curl_slist_append(curl_slist* list, const char* s) {
  CURL_FN(curl_slist_append);
  return fn ? fn(list, s) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  CURL_FN(curl_slist_free_all);
  if (fn) fn(list);
}

CURLM* curl_multi_init(void) {
  CURL_FN(curl_multi_init);
  return fn ? fn() : nullptr;
}

CURLMcode curl_multi_cleanup(CURLM* m) {
  CURL_FN(curl_multi_cleanup);
  return fn ? fn(m) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_add_handle(CURLM* m, CURL* h) {
  CURL_FN(curl_multi_add_handle);
  return fn ? fn(m, h) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_remove_handle(CURLM* m, CURL* h) {
  CURL_FN(curl_multi_remove_handle);
  return fn ? fn(m, h) : CURLM_BAD_HANDLE;
}

CURLMsg* curl_multi_info_read(CURLM* m, int* left) {
  CURL_FN(curl_multi_info_read);
  return fn ? fn(m, left) : nullptr;
}

CURLMcode curl_multi_perform(CURLM* m, int* running) {
  CURL_FN(curl_multi_perform);
  return fn ? fn(m, running) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_poll(CURLM* m, curl_waitfd extra[], unsigned n, int timeout_ms, int* numfds) {
  CURL_FN(curl_multi_poll);
  return fn ? fn(m, extra, n, timeout_ms, numfds) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_wakeup(CURLM* m) {
  CURL_FN(curl_multi_wakeup);
  return fn ? fn(m) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_socket_action(CURLM* m, curl_socket_t s, int ev_bitmask, int* running) {
  CURL_FN(curl_multi_socket_action);
  return fn ? fn(m, s, ev_bitmask, running) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_setopt(CURLM* m, CURLMoption option, ...) {
  CURL_FN(curl_multi_setopt);
  if (!fn) return CURLM_BAD_HANDLE;
  va_list ap;
  va_start(ap, option);
  const CURLMcode rc = static_cast<CURLMcode>(forward_option(fn, m, option, ap));
  va_end(ap);
  return rc;
}

}  // extern "C"
