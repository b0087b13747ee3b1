// The process events connector (agent/daemon/proc_events.h): datagrams decoded from hand-built
// bytes, cut at every length, and (as root) the real kernel telling a job's exit status to the
// tracker through a cron-shaped tree of processes.
#include "agent/daemon/proc_events.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "agent/daemon/process_tracker.h"

namespace cronitor::agent {
namespace {

using K = ProcEvent::Kind;

std::vector<ProcEvent> decode(std::span<const std::byte> bytes, ProcDecodeStats* stats = nullptr) {
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
    {.kind = K::ack, .timestamp_ns = 1, .ack_err = EPERM},
    {.kind = K::fork, .timestamp_ns = 2, .pid = 11, .tgid = 11, .parent_pid = 10, .parent_tgid = 10},
    {.kind = K::exec, .timestamp_ns = 3, .pid = 11, .tgid = 11},
    {.kind = K::uid, .timestamp_ns = 4, .pid = 11, .tgid = 11, .ruid = 1000, .euid = 1001},
    {.kind = K::exit,
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
    auto got = decode(encode_proc_datagram(e), &s);
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
  auto got = decode(all);
  ASSERT_EQ(got.size(), std::size(kEvents));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(same(got[i], kEvents[i])) << i;
}

TEST(ProcEvents, ADatagramCutAtEveryLengthYieldsNoEventAndIsCounted) {
  const auto whole = encode_proc_datagram(kEvents[4]);
  for (size_t len = 1; len < NLMSG_HDRLEN + sizeof(cn_msg) + sizeof(proc_event); ++len) {
    ProcDecodeStats s;
    auto got = decode(std::span(whole).first(len), &s);
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
    EXPECT_TRUE(decode(b, &s).empty());
    EXPECT_EQ(s.malformed, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[1]);
    poke<uint16_t>(b, cn_len_at, 4000);  // connector length past the message
    ProcDecodeStats s;
    EXPECT_TRUE(decode(b, &s).empty());
    EXPECT_EQ(s.malformed, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[1]);
    poke<uint16_t>(b, cn_len_at, 12);  // a fork event too short for its pids
    ProcDecodeStats s;
    EXPECT_TRUE(decode(b, &s).empty());
    EXPECT_EQ(s.malformed, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[4]);  // an exit event of a kernel before the parent fields
    poke<uint16_t>(b, cn_len_at, static_cast<uint16_t>(offsetof(proc_event, event_data) + 16));
    auto got = decode(b);
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
    EXPECT_TRUE(decode(b, &s).empty());
    EXPECT_EQ(s.ignored, 1u);
  }
  {
    auto b = encode_proc_datagram(kEvents[2]);
    poke<uint32_t>(b, NLMSG_HDRLEN + sizeof(cn_msg), proc_event::PROC_EVENT_COMM);
    ProcDecodeStats s;
    EXPECT_TRUE(decode(b, &s).empty());
    EXPECT_EQ(s.ignored, 1u);
    EXPECT_EQ(s.malformed, 0u);
  }
  for (uint16_t type : {uint16_t{NLMSG_NOOP}, uint16_t{NLMSG_ERROR}}) {
    auto b = encode_proc_datagram(kEvents[2]);
    poke<uint16_t>(b, offsetof(nlmsghdr, nlmsg_type), type);
    ProcDecodeStats s;
    EXPECT_TRUE(decode(b, &s).empty());
    EXPECT_EQ(s.malformed, type == NLMSG_ERROR ? 1u : 0u);
  }
}

// The real kernel, as root: this test process plays cron (the tracker's root). Its child plays
// cron's per-job child and runs `sh -c 'read x; exit 7'` as the job; the job waits on a pipe so
// that its argv is still in /proc when its exec is read, and exits once its start was seen.
TEST(ProcEvents, TheKernelTellsAJobsExitStatusThroughTheTracker) {
  if (::geteuid() != 0) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;

  const std::string cmd = "read x; exit 7";
  ProcessTracker tracker({.job = [&](uid_t uid, std::string_view c) -> std::optional<std::string> {
    if (uid == 0 && c == cmd) return "seven";
    return std::nullopt;
  }});
  const pid_t self[] = {::getpid()};
  tracker.set_roots(self);

  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setpgid(0, 0);  // the test ends the whole tree by this group if it fails half way
    ::close(in[1]);   // only the test holds the write end: closing it ends the job
    const pid_t job = ::fork();
    if (job == 0) {
      ::dup2(in[0], 0);
      ::execl("/bin/sh", "/bin/sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(126);
    }
    int status = 0;
    ::waitpid(job, &status, 0);
    ::_exit(0);
  }
  ::close(in[0]);

  std::vector<ProcRun> runs;
  bool released = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = connector->drain([&](const ProcEvent& e) { tracker.feed(e, read_exec_facts); });
    ASSERT_TRUE(d.has_value()) << d.error().message;
    for (auto& r : tracker.take_runs()) runs.push_back(std::move(r));
    if (!released && !runs.empty()) {  // started: let it end
      released = true;
      ::close(in[1]);
    }
    if (runs.size() >= 2) break;
    pollfd p{connector->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
  }
  if (!released) ::close(in[1]);
  if (runs.size() < 2) ::kill(-child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(runs.size(), 2u) << "lost: " << tracker.counters().losses
                             << ", unreadable: " << tracker.counters().unreadable;
  EXPECT_EQ(runs[0].key, "seven");
  EXPECT_EQ(runs[1].phase, ProcRun::Phase::ended);
  EXPECT_EQ(runs[1].outcome, ProcRun::Outcome::exited);
  EXPECT_EQ(runs[1].exit_code, 7);
  EXPECT_NE(runs[1].pid, child);  // the job's shell, not cron's child
  EXPECT_GT(runs[1].duration_ns(), 0);
}

TEST(ProcEvents, ForgedDatagramsFromALocalProcessAreNotEvents) {
  if (::geteuid() != 0) GTEST_SKIP() << "the process events connector needs root (CAP_NET_ADMIN)";
  auto connector = ProcConnector::open();
  ASSERT_TRUE(connector.has_value()) << connector.error().message;
  // Any local process may unicast to our port: only the kernel (port 0) is believed.
  sockaddr_nl self{};
  socklen_t len = sizeof self;
  ASSERT_EQ(::getsockname(connector->fd(), reinterpret_cast<sockaddr*>(&self), &len), 0);
  int forger = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  ASSERT_GE(forger, 0);
  sockaddr_nl any{};
  any.nl_family = AF_NETLINK;
  ASSERT_EQ(::bind(forger, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  const ProcEvent fake{.kind = K::exit, .pid = 424242, .tgid = 424242, .exit_code = 1 << 8};
  auto bytes = encode_proc_datagram(fake);
  ASSERT_GT(::sendto(forger, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&self), sizeof self), 0);
  ::close(forger);
  size_t foreign = 0;
  bool forged_seen = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (foreign == 0 && std::chrono::steady_clock::now() < deadline) {
    auto d = connector->drain([&](const ProcEvent& e) { forged_seen |= e.pid == 424242; });
    ASSERT_TRUE(d.has_value());
    foreign += d->foreign;
    pollfd p{connector->fd(), POLLIN, 0};
    if (foreign == 0) ::poll(&p, 1, 100);
  }
  EXPECT_EQ(foreign, 1u);
  EXPECT_FALSE(forged_seen);
}

}  // namespace
}  // namespace cronitor::agent
