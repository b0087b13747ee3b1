// libmicrohttpd's functions that metrics_http.cpp calls, defined here and forwarded to the library
// opened on first use (common/lazy_library.h): libmicrohttpd and GnuTLS with its six libraries
// (2.3 MiB of PSS in a minimal Debian 12 system) are loaded only when /metrics or the dashboard
// listens, which is off by default. Until the library is open, MHD_start_daemon fails (NULL, and
// mhd_open_error() says why); the others are only reached with a daemon or connection, so after.
#include <microhttpd.h>

#include <cstdarg>

#include "agent/control/metrics_http.h"
#include "common/lazy_library.h"

namespace {

cronitor::LazyLibrary& mhd_lib() {
  static cronitor::LazyLibrary lib("libmicrohttpd.so.12");
  return lib;
}

// The function `name` of libmicrohttpd, resolved once; nullptr when it could not be opened.
#define MHD_FN(name) static const auto fn = mhd_lib().function<decltype(&::name)>(#name)

}  // namespace

std::string cronitor::agent::mhd_open_error() { return mhd_lib().load() ? std::string() : mhd_lib().error(); }

extern "C" {

MHD_Daemon* MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void* apc_cls,
                             MHD_AccessHandlerCallback dh, void* dh_cls, ...) {
  MHD_FN(MHD_start_daemon_va);
  if (!fn) return nullptr;
  va_list ap;
  va_start(ap, dh_cls);
  MHD_Daemon* d = fn(flags, port, apc, apc_cls, dh, dh_cls, ap);
  va_end(ap);
  return d;
}

void MHD_stop_daemon(MHD_Daemon* d) {
  MHD_FN(MHD_stop_daemon);
  if (fn) fn(d);
}

MHD_Result MHD_run(MHD_Daemon* d) {
  MHD_FN(MHD_run);
  return fn ? fn(d) : MHD_NO;
}

MHD_Result MHD_get_timeout(MHD_Daemon* d, MHD_UNSIGNED_LONG_LONG* timeout) {
  MHD_FN(MHD_get_timeout);
  return fn ? fn(d, timeout) : MHD_NO;
}

// The info kinds the product asks for (the epoll fd, the connection count, the client's address
// and fd) take no further argument: nothing after `kind` is forwarded.
const MHD_DaemonInfo* MHD_get_daemon_info(MHD_Daemon* d, MHD_DaemonInfoType kind, ...) {
  MHD_FN(MHD_get_daemon_info);
  return fn ? fn(d, kind) : nullptr;
}

const MHD_ConnectionInfo* MHD_get_connection_info(MHD_Connection* c, MHD_ConnectionInfoType kind, ...) {
  MHD_FN(MHD_get_connection_info);
  return fn ? fn(c, kind) : nullptr;
}

int MHD_get_connection_values(MHD_Connection* c, MHD_ValueKind kind, MHD_KeyValueIterator it, void* it_cls) {
  MHD_FN(MHD_get_connection_values);
  return fn ? fn(c, kind, it, it_cls) : -1;
}

const char* MHD_lookup_connection_value(MHD_Connection* c, MHD_ValueKind kind, const char* key) {
  MHD_FN(MHD_lookup_connection_value);
  return fn ? fn(c, kind, key) : nullptr;
}

MHD_Response* MHD_create_response_from_buffer(size_t size, void* buffer, MHD_ResponseMemoryMode mode) {
  MHD_FN(MHD_create_response_from_buffer);
  return fn ? fn(size, buffer, mode) : nullptr;
}

void MHD_destroy_response(MHD_Response* r) {
  MHD_FN(MHD_destroy_response);
  if (fn) fn(r);
}

MHD_Result MHD_add_response_header(MHD_Response* r, const char* header, const char* content) {
  MHD_FN(MHD_add_response_header);
  return fn ? fn(r, header, content) : MHD_NO;
}

MHD_Result MHD_queue_response(MHD_Connection* c, unsigned int status, MHD_Response* r) {
  MHD_FN(MHD_queue_response);
  return fn ? fn(c, status, r) : MHD_NO;
}

}  // extern "C"
