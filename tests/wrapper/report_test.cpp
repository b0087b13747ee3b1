// Where events go: the agent socket when it answers, the spool when it is absent, refusing,
// hanging or rejecting, and one stderr line when even the spool fails (full, read-only).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tests/support/event_server.h"
#include "tests/wrapper/wrapper_harness.h"

namespace cronitor::testing {
namespace {

std::vector<RunEvent> decode_all(const std::vector<std::string>& lines) {
  std::vector<RunEvent> out;
  for (const auto& l : lines) {
    auto e = decode(l);
    EXPECT_TRUE(e) << e.error().message;
    if (e) out.push_back(*e);
  }
  return out;
}

void expect_run_then_end(const std::vector<RunEvent>& events, int exit_code) {
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].state, RunState::kRun);
  EXPECT_TRUE(is_terminal(events[1].state));
  EXPECT_EQ(events[1].exit_code, exit_code);
  EXPECT_EQ(events[0].run_id, events[1].run_id);
}

TEST(Report, AgentUpGetsBothEventsAndNothingIsSpooled) {
  TempDir dir;
  EventServer server(dir / "agent.sock", EventServer::Mode::kAck);
  auto r = run_wrapper(dir, {"up", "--", "echo hello; exit 3"},
                       {"CRONITOR_ACK_TIMEOUT_MS=1000"});  // a loaded CI box may be slow
  EXPECT_EQ(r.result.exit_code, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "");
  ASSERT_TRUE(server.wait_for_lines(2, std::chrono::seconds(5)));
  auto events = decode_all(server.lines());
  expect_run_then_end(events, 3);
  EXPECT_EQ(events[1].output_tail, "hello\n");
  EXPECT_TRUE(spool_events(dir / "spool").empty());
}

TEST(Report, RunEventArrivesWhileTheJobRuns) {
  TempDir dir;
  EventServer server(dir / "agent.sock", EventServer::Mode::kAck);
  ProcSpec spec;
  // The job waits for a file the test creates only once the run event has arrived.
  spec.argv = {exec_path(), "long", "--", "while [ ! -e " + (dir / "go") + " ]; do sleep 0.01; done; echo done"};
  spec.env = {"CRONITOR_SOCKET=" + (dir / "agent.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh",
              "CRONITOR_ACK_TIMEOUT_MS=1000"};
  spec.stdout_path = dir / "stdout";
  pid_t pid = spawn(spec);
  bool arrived = server.wait_for_lines(1, std::chrono::seconds(10));
  write_file(dir / "go", "");
  auto r = wait_for(pid);
  ASSERT_TRUE(arrived);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_TRUE(server.wait_for_lines(2, std::chrono::seconds(5)));
  auto events = decode_all(server.lines());
  expect_run_then_end(events, 0);
  EXPECT_TRUE(spool_events(dir / "spool").empty());
}

TEST(Report, SocketAbsentSpools) {
  TempDir dir;
  auto r = run_wrapper(dir, {"absent", "--", "exit 0"});
  EXPECT_EQ(r.result.exit_code, 0);
  EXPECT_EQ(r.err, "");
  expect_run_then_end(spool_events(dir / "spool"), 0);
  // One file for the run, private to its owner, in a 1733 folder created on first use.
  auto names = dir_entries(dir / "spool");
  ASSERT_EQ(names.size(), 1u);
  struct stat st {};
  ASSERT_EQ(stat((dir / "spool/" + names[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat((dir / "spool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01733u);
}

TEST(Report, SocketRefusingSpools) {
  TempDir dir;
  make_refusing_socket(dir / "agent.sock");
  auto r = run_wrapper(dir, {"refused", "--", "exit 1"});
  EXPECT_EQ(r.result.exit_code, 1);
  expect_run_then_end(spool_events(dir / "spool"), 1);
}

TEST(Report, HangingAgentIsNotWaitedFor) {
  TempDir dir;
  EventServer server(dir / "agent.sock", EventServer::Mode::kHang);
  auto r = run_wrapper(dir, {"hang", "--", "exit 2"});
  EXPECT_EQ(r.result.exit_code, 2);
  EXPECT_LT(r.result.seconds, 1.0);
  EXPECT_GE(server.connections(), 1u);
  expect_run_then_end(spool_events(dir / "spool"), 2);
}

TEST(Report, AgentThatNeverAcceptsIsNotWaitedFor) {
  TempDir dir;
  EventServer server(dir / "agent.sock", EventServer::Mode::kSilent);
  auto r = run_wrapper(dir, {"silent", "--", "true"});
  EXPECT_EQ(r.result.exit_code, 0);
  EXPECT_LT(r.result.seconds, 1.0);
  expect_run_then_end(spool_events(dir / "spool"), 0);
}

// "err": the agent refuses the event for good (not this user's job, or invalid). The spool would
// refuse it too, so it is not written there; one stderr line says so. The job is unchanged.
TEST(Report, RefusedEventsAreNotSpooled) {
  TempDir dir;
  EventServer server(dir / "agent.sock", EventServer::Mode::kReject);
  auto r = run_wrapper(dir, {"rejected", "--", "echo out; exit 7"}, {"CRONITOR_ACK_TIMEOUT_MS=1000"});
  EXPECT_EQ(r.result.exit_code, 7);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_TRUE(spool_events(dir / "spool").empty());
  EXPECT_NE(r.err.find("the agent did not record the run and fail events of \"rejected\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("test rejects"), std::string::npos) << r.err;
}

TEST(Report, SpoolFilesBelongToTheUserWhoRanTheJob) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to run the wrapper as another user";
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir / "spool").c_str(), 0), 0);
  ASSERT_EQ(chmod((dir / "spool").c_str(), 01733), 0);
  ProcSpec spec;
  spec.argv = {exec_path(), "nobody-job", "--", "id -u"};
  spec.env = {"CRONITOR_SOCKET=" + (dir / "none.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
  spec.stdout_path = dir / "stdout";
  spec.in_child = [] {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(252);
  };
  auto r = wait_for(spawn(spec));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(slurp(dir / "stdout"), "65534\n");
  auto names = dir_entries(dir / "spool");
  ASSERT_EQ(names.size(), 1u);
  struct stat st {};
  ASSERT_EQ(stat((dir / "spool/" + names[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u) << "the agent trusts the file owner";
  auto events = spool_events(dir / "spool");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].uid, 65534);
}

// A small tmpfs mounted for one test and unmounted at the end.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& path, const std::string& options, unsigned long flags = 0) : path_(path) {
    ::mkdir(path.c_str(), 0755);
    if (::mount("tmpfs", path.c_str(), "tmpfs", flags, options.c_str()) == 0)
      mounted_ = true;
    else
      error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

void expect_one_lost_line(const WrapperRun& r) {
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("cronitor-exec: could not record the run and fail events"), std::string::npos) << r.err;
}

TEST(Report, FullSpoolStillRunsTheJobAndSaysWhatWasLost) {
  TempDir dir;
  TmpfsMount fs(dir / "spool", "size=16k,mode=1733");
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << fs.error();
  {
    // Fill it up.
    std::ofstream f(dir / "spool/.filler", std::ios::binary);
    std::string chunk(4096, 'x');
    for (int i = 0; i < 64 && f; ++i) f.write(chunk.data(), chunk.size()), f.flush();
  }
  auto r = run_wrapper(dir, {"full", "--", "echo still runs; exit 4"});
  EXPECT_EQ(r.result.exit_code, 4);
  EXPECT_EQ(r.out, "still runs\n");
  expect_one_lost_line(r);
  EXPECT_NE(r.err.find("No space left"), std::string::npos) << r.err;
  for (const auto& name : dir_entries(dir / "spool"))
    EXPECT_EQ(name, ".filler") << "a failed spool write leaves nothing behind";
}

TEST(Report, ReadOnlySpoolStillRunsTheJobAndSaysWhatWasLost) {
  TempDir dir;
  TmpfsMount fs(dir / "spool", "size=64k,mode=1733", MS_RDONLY);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << fs.error();
  auto r = run_wrapper(dir, {"ro", "--", "echo still runs; exit 5"});
  EXPECT_EQ(r.result.exit_code, 5);
  EXPECT_EQ(r.out, "still runs\n");
  expect_one_lost_line(r);
  EXPECT_NE(r.err.find("Read-only"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cronitor::testing
