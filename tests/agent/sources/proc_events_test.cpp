// The process events decoder (agent/sources/proc_events.h): datagrams built by hand, cut at every
// length, with lengths that lie. The real kernel: proc_events_kernel_test.cpp.
#include "agent/sources/proc_events.h"

#include <gtest/gtest.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>

#include <cstring>

namespace cronitor::agent {
namespace {

using EventKind = ProcEvent::Kind;

std::vector<ProcEvent> decode_events(std::span<const std::byte> bytes, ProcDecodeStats* stats = nullptr) {
  std::vector<ProcEvent> out;
  auto s = decode_proc_datagram(bytes, out);
  if (stats) *stats = s;
  return out;
}

bool same(const ProcEvent& a, const ProcEvent& b) {
  return a.kind == b.kind && a.timestamp_ns == b.timestamp_ns && a.pid == b.pid && a.tgid == b.tgid &&
         a.parent_pid == b.parent_pid && a.parent_tgid == b.parent_tgid && a.exit_code == b.exit_code &&
         a.exit_signal == b.exit_signal && a.ruid == b.ruid && a.euid == b.euid && a.ack_err == b.ack_err;
}

const ProcEvent kEvents[] = {
    {.kind = EventKind::ack, .timestamp_ns = 1, .ack_err = EPERM},
    {.kind = EventKind::fork, .timestamp_ns = 2, .pid = 11, .tgid = 11, .parent_pid = 10, .parent_tgid = 10},
    {.kind = EventKind::exec, .timestamp_ns = 3, .pid = 11, .tgid = 11},
    {.kind = EventKind::uid, .timestamp_ns = 4, .pid = 11, .tgid = 11, .ruid = 1000, .euid = 1001},
    {.kind = EventKind::exit,
     .timestamp_ns = 5,
     .pid = 11,
     .tgid = 11,
     .parent_pid = 10,
     .parent_tgid = 10,
     .exit_code = 7 << 8,
     .exit_signal = SIGCHLD},
};

TEST(ProcEvents, EachKindDecodesAsTheKernelEncodesIt) {
  for (const auto& e : kEvents) {
    SCOPED_TRACE(static_cast<int>(e.kind));
    ProcDecodeStats s;
    auto got = decode_events(encode_proc_datagram(e), &s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(same(got[0], e));
    EXPECT_EQ(s.malformed, 0u);
  }
}

TEST(ProcEvents, SeveralMessagesInOneDatagramAllDecode) {
  std::vector<std::byte> all;
  for (const auto& e : kEvents) {
    auto one = encode_proc_datagram(e);
    all.insert(all.end(), one.begin(), one.end());
  }
  auto got = decode_events(all);
  ASSERT_EQ(got.size(), std::size(kEvents));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(same(got[i], kEvents[i])) << i;
}

TEST(ProcEvents, ADatagramCutAtEveryLengthYieldsNoEventAndIsCounted) {
  const auto whole = encode_proc_datagram(kEvents[4]);
  for (size_t len = 1; len < NLMSG_HDRLEN + sizeof(cn_msg) + sizeof(proc_event); ++len) {
    ProcDecodeStats s;
    auto got = decode_events(std::span(whole).first(len), &s);
    EXPECT_TRUE(got.empty()) << len;
    EXPECT_GE(s.malformed, 1u) << len;
  }
}

// Rewrites bytes of an encoded datagram at `at` with `v`.
template <typename T>
void poke(std::vector<std::byte>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

TEST(ProcEvents, LengthsThatDoNotFitAreMalformedNeverReadPast) {
  const size_t cn_len_at = NLMSG_HDRLEN + offsetof(cn_msg, len);
  {
    auto b = encode_proc_datagram(kEvents[1]);
    poke<uint32_t>(b, 0, static_cast<uint32_t>(b.size() + 64));  // nlmsg_len past the end
    ProcDecodeStats s;
    EXPECT_TRUE(decode_events(b, &s).empty());
    EXPECT_EQ(s.malformed, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[1]);
    poke<uint16_t>(b, cn_len_at, 4000);  // connector length past the message
    ProcDecodeStats s;
    EXPECT_TRUE(decode_events(b, &s).empty());
    EXPECT_EQ(s.malformed, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[1]);
    poke<uint16_t>(b, cn_len_at, 12);  // a fork event too short for its pids
    ProcDecodeStats s;
    EXPECT_TRUE(decode_events(b, &s).empty());
    EXPECT_EQ(s.malformed, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[4]);  // an exit event of a kernel before the parent fields
    poke<uint16_t>(b, cn_len_at, static_cast<uint16_t>(offsetof(proc_event, event_data) + 16));
    auto got = decode_events(b);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].exit_code, 7u << 8);
    EXPECT_EQ(got[0].parent_pid, 0);
  }
}

TEST(ProcEvents, OtherConnectorsKindsAndNetlinkControlAreNotEvents) {
  {
    auto b = encode_proc_datagram(kEvents[2]);
    poke<uint32_t>(b, NLMSG_HDRLEN, CN_IDX_CIFS);
    ProcDecodeStats s;
    EXPECT_TRUE(decode_events(b, &s).empty());
    EXPECT_EQ(s.ignored, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[2]);
    poke<uint32_t>(b, NLMSG_HDRLEN + sizeof(cn_msg), proc_event::PROC_EVENT_COMM);
    ProcDecodeStats s;
    EXPECT_TRUE(decode_events(b, &s).empty());
    EXPECT_EQ(s.ignored, 1u);
    EXPECT_EQ(s.malformed, 0u);
  }
  for (uint16_t type : {uint16_t{NLMSG_NOOP}, uint16_t{NLMSG_ERROR}}) {
    auto b = encode_proc_datagram(kEvents[2]);
    poke<uint16_t>(b, offsetof(nlmsghdr, nlmsg_type), type);
    ProcDecodeStats s;
    EXPECT_TRUE(decode_events(b, &s).empty());
    EXPECT_EQ(s.malformed, type == NLMSG_ERROR ? 1u : 0u);
  }
}

}  // namespace
}  // namespace cronitor::agent
