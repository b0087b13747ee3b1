// An alert's HTTP POST made by a short-lived child process, so that the daemon never loads
// libcurl and the ~20 libraries it brings (OpenSSL, Kerberos, LDAP, libssh2, GnuTLS, ...): in a
// minimal Debian 12 system they are 8 MiB of PSS once a first alert was sent (issue 17). The
// child is the agent's own program (`cronitor-agent` with kPostChildArg as its only argument):
// it reads one request on its standard input, posts it in-process (AlertSender::post_here) and
// writes the result on its standard output, then exits. main.cpp turns it on for the program
// (set_post_child("/proc/self/exe")); the test programs post in-process unless a test sets it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "uplink/alert_format.h"
#include "uplink/alert_sender.h"

namespace cronitor::uplink {

inline constexpr std::string_view kPostChildArg = "--post-alert-child";

/// From now on AlertSender::post runs `exe kPostChildArg` per POST ("": in-process again).
void set_post_child(std::string exe);
std::string post_child();

/// The request on the child's standard input and the result on its output: fields as
/// "<length>:<bytes>", so that any byte of a body or header passes.
std::string encode_post_request(const OutgoingMessage& m, std::chrono::milliseconds timeout);
struct PostRequest {
  OutgoingMessage message;
  std::chrono::milliseconds timeout{0};
};
std::optional<PostRequest> decode_post_request(std::string_view text);
std::string encode_send_result(const SendResult& r);
std::optional<SendResult> decode_send_result(std::string_view text);

/// The child's side: one request from fd 0, the result to fd 1. Returns the exit status.
int serve_post_child();

}  // namespace cronitor::uplink
