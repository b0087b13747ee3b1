// Bounded disk use: state.db on a real 3 MiB tmpfs holds thousands of runs; when that disk is full
// the agent says so once (log and status), jobs keep their exit codes and output, what it cannot
// store waits in the wrapper spool, and it recovers on its own when space returns. A corrupt
// state.db is moved aside and the agent starts afresh. Mounts: run under `flock /work/.host.lock`.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/event.h"
#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/subprocess.h"
#include "wrapper/agent_client.h"

namespace {

using namespace cronitor::testing;

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

std::string tail(const std::string& s) { return s.substr(s.size() > 3000 ? s.size() - 3000 : 0); }

class DiskFull : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    fs::remove_all(dir_);
    fs::create_directories(state_);
    ::setenv("CRONITOR_SOCKET", socket_.c_str(), 1);
    ::setenv("CRONITOR_SPOOL", spool_.c_str(), 1);
    ::setenv("CRONITOR_ACK_TIMEOUT_MS", "2000", 1);
  }
  void TearDown() override {
    agent_.stop(SIGTERM);
    if (::getenv("KEEP_LOG"))
      fs::copy_file(dir_ / "daemon.log", "/tmp/sec-alerts-disk.log", fs::copy_options::overwrite_existing);
    if (mounted_) {
      EXPECT_EQ(::umount2(state_.c_str(), 0), 0) << std::strerror(errno);
    }
    fs::remove_all(dir_);
  }
  void mount_small() {
    ASSERT_EQ(::mount("tmpfs", state_.c_str(), "tmpfs", 0, "size=3m,mode=0755"), 0) << std::strerror(errno);
    mounted_ = true;
  }
  std::string config() {
    const std::string path = (dir_ / "agent.yaml").string();
    std::ofstream(path) << "state_dir: " << state_.string() << "\n"
                        << "socket: " << socket_ << "\n"
                        << "spool_dir: " << spool_ << "\n"
                        << "hostname: disk-host\n"
                        << "discovery: {crontabs: false, systemd: false}\n"
                        << "notify:\n  ops: [\"webhook:http://127.0.0.1:9/unused\"]\n"
                        << "defaults:\n  notify: [ops]\n"
                        << "monitors:\n  - key: disk-job\n    schedule: every 1 hour\n"
                        // Every run kept: retention.runs (1,000) is applied as runs come.
                        << "retention: {runs: 10000}\n";
    return path;
  }
  /// One run over the agent socket, as the wrapper reports it; true when both events were acked.
  bool socket_run(int n) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", n);
    cronitor::RunEvent e;
    e.key = "disk-job";
    e.run_id = id;
    e.host = "disk-host";
    e.pid = ::getpid();
    e.uid = 0;
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    e.ts = cronitor::format_timestamp_ms(ms);
    if (!cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000)) return false;
    e.state = cronitor::RunState::kComplete;
    e.duration_ms = 3;
    e.output_tail = "backup of volume " + std::to_string(n) + " done\n";
    e.ts = cronitor::format_timestamp_ms(ms + 3);
    return static_cast<bool>(cronitor::wrapper::send_to_agent(socket_, cronitor::encode(e), 2000000));
  }
  int64_t runs_stored() const {
    sqlite3* db = nullptr;
    int64_t n = -1;
    if (sqlite3_open_v2((state_ / "state.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 2000);
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs WHERE ended_ms IS NOT NULL", -1, &st, nullptr) ==
              SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
  }
  uint64_t used_bytes() const {
    struct statvfs v {};
    ::statvfs(state_.c_str(), &v);
    return static_cast<uint64_t>(v.f_blocks - v.f_bfree) * v.f_frsize;
  }
  nlohmann::json status(const std::string& cfg) const {
    auto r = run_command({kAgent, "status", "--json", "--config", cfg});
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  fs::path dir_ = fs::temp_directory_path() / ("disk-full-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::path state_ = dir_ / "state";
  std::string socket_ = (dir_ / "agent.sock").string();
  std::string spool_ = (dir_ / "spool").string();
  bool mounted_ = false;
  AgentProcess agent_{kAgent, (dir_ / "daemon.log").string()};
};

TEST_F(DiskFull, SmallDiskHoldsThousandsOfRunsThenFullIsSaidOnceAndRecovers) {
  mount_small();
  const std::string cfg = config();
  ASSERT_TRUE(agent_.start(cfg, socket_)) << agent_.log();
  // Thousands of runs fit in 3 MiB: the log is checkpointed and cut back, not left to grow.
  constexpr int kRuns = 3000;
  int acked = 0;
  uint64_t peak = 0;
  for (int i = 0; i < kRuns; ++i) {
    acked += socket_run(i) ? 1 : 0;
    if (i % 100 == 0) peak = std::max(peak, used_bytes());
  }
  peak = std::max(peak, used_bytes());
  EXPECT_EQ(acked, kRuns) << agent_.log().substr(0, 3000);
  EXPECT_EQ(runs_stored(), kRuns);
  std::printf(
      "disk: %d runs on a 3 MiB tmpfs, peak use %.2f MiB (state.db %.2f MiB, WAL %.2f MiB)\n", kRuns,
      static_cast<double>(peak) / (1 << 20), static_cast<double>(fs::file_size(state_ / "state.db")) / (1 << 20),
      fs::exists(state_ / "state.db-wal") ? static_cast<double>(fs::file_size(state_ / "state.db-wal")) / (1 << 20)
                                          : 0.0);
  EXPECT_LT(peak, 3u << 20);

  // Fill the disk to the last byte.
  {
    std::FILE* f = std::fopen((state_ / "filler").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  // Jobs run through the real wrapper keep their exit code and output. The log file and state.db's
  // free pages still have room for some commits; each run's 3 KB output tail uses them up fast,
  // then runs wait in the spool.
  int full_runs = 0;
  while (full_runs < 300 && agent_.log().find("is full") == std::string::npos) {
    auto r = run_command(
        {kExec, "disk-job", "--",
         "echo out-" + std::to_string(full_runs) + "; echo err >&2; head -c 3000 /dev/zero | tr '\\0' x >&2; exit 3"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "out-" + std::to_string(full_runs) + "\n");
    EXPECT_EQ(r.err.substr(0, 4), "err\n") << r.err;
    ++full_runs;
  }
  for (int i = 0; i < 3; ++i) {  // and a few more once it is known to be full
    auto r = run_command({kExec, "disk-job", "--", "echo more; exit 0"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "more\n");
    ++full_runs;
  }
  std::printf("disk full: said after %d wrapper runs on the full disk; log lines saying so: %zu\n", full_runs - 3,
              count_of(agent_.log(), "is full:"));
  ASSERT_TRUE(agent_.wait_for_log("is full", 5s)) << tail(agent_.log());
  EXPECT_EQ(count_of(agent_.log(), "is full:"), 1u) << tail(agent_.log());
  const int64_t stored_while_full = runs_stored();
  EXPECT_LT(stored_while_full, kRuns + full_runs);
  size_t spooled = 0;
  for (const auto& e : fs::directory_iterator(spool_)) spooled += e.is_regular_file();
  EXPECT_GE(spooled, 1u);
  auto st = status(cfg);
  ASSERT_TRUE(st.is_object());
  ASSERT_TRUE(st["disk_full"].is_object()) << st.dump();
  EXPECT_EQ(st["disk_full"]["state_dir"], state_.string());
  auto table = run_command({kAgent, "status", "--config", cfg});
  EXPECT_NE(table.out.find("DISK FULL under " + state_.string()), std::string::npos) << table.out;

  // Space returns: the agent notices by itself, stores the spooled runs, and status is clear.
  fs::remove(state_ / "filler");
  ASSERT_TRUE(agent_.wait_for_log("disk space is back", 15s)) << tail(agent_.log());
  EXPECT_TRUE(wait_until([&] { return runs_stored() == kRuns + full_runs; }, 10s)) << runs_stored();
  EXPECT_TRUE(status(cfg)["disk_full"].is_null());
  EXPECT_EQ(count_of(agent_.log(), "is full:"), 1u);
  // The next run is acknowledged again.
  EXPECT_TRUE(socket_run(kRuns + 100));
}

TEST_F(DiskFull, CorruptStateDbIsMovedAsideAndTheAgentWorks) {
  {
    std::ofstream f(state_ / "state.db", std::ios::binary);
    f << "SQLite format 3";
    f << std::string(8192, '\x5a');
  }
  const std::string cfg = config();
  ASSERT_TRUE(agent_.start(cfg, socket_)) << agent_.log();
  EXPECT_TRUE(agent_.wait_for_log("moved aside", 5s)) << agent_.log();
  bool aside = false;
  for (const auto& e : fs::directory_iterator(state_))
    aside |= e.path().filename().string().starts_with("state.db.corrupt-");
  EXPECT_TRUE(aside);
  auto r = run_command({kExec, "disk-job", "--", "echo still here; exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "still here\n");
  EXPECT_TRUE(wait_until([&] { return runs_stored() == 1; }, 15s)) << runs_stored();
  EXPECT_FALSE(has_entries(spool_));
}

}  // namespace
