// The runs of a gap from the journal (agent/sources/journal_backfill.h): the systemd manager's
// messages about a timer's service turned into run events, made-up entries first, then a real
// journal file written by systemd-journal-remote (as tests/agent/sources/journal_tail_test.cpp does).
#include "agent/sources/journal_backfill.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "agent/sources/cron_log_watch.h"
#include "tests/support/subprocess.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using cronitor::RunState;

constexpr char kInv1[] = "0123456789abcdef0123456789abcdef";
constexpr char kInv2[] = "1123456789abcdef0123456789abcdef";
constexpr char kInv3[] = "2123456789abcdef0123456789abcdef";
constexpr uint64_t kT0 = 1'764'000'000'000'000;  // 2025-11-24T16:00:00Z, µs
const std::map<std::string, std::string> kServices{{"backup.service", "backup"}};

JournalEntry manager(uint64_t at, const char* id, const std::string& inv, std::string message = "",
                     std::string unit = "backup.service") {
  JournalEntry e;
  e.realtime_usec = at;
  e.pid = 1;
  e.uid = 0;
  e.message_id = id;
  e.unit = std::move(unit);
  e.invocation_id = inv;
  e.message = std::move(message);
  return e;
}

JournalEntry exited(uint64_t at, const std::string& inv, const char* code, int status,
                    const char* kind = "Main process") {
  JournalEntry e = manager(at, kUnitProcessExit, inv, std::string("backup.service: ") + kind + " exited, code=" + code);
  e.exit_code = code;
  e.exit_status = status;
  return e;
}

JournalEntry failed(uint64_t at, const std::string& inv, const char* result) {
  JournalEntry e = manager(at, kUnitFailureResult, inv, "backup.service: Failed with result");
  e.unit_result = result;
  return e;
}

TEST(ManagerRuns, OneshotSuccessAndFailureWithTheirTimesAndExitCodes) {
  const std::vector<JournalEntry> entries{
      manager(kT0, kUnitStarting, kInv1, "Starting backup.service..."),
      manager(kT0 + 1'500'000, kUnitSuccess, kInv1, "backup.service: Deactivated successfully."),
      manager(kT0 + 1'500'100, kUnitStarted, kInv1, "Finished backup.service."),
      manager(kT0 + 60'000'000, kUnitStarting, kInv2, "Starting backup.service..."),
      exited(kT0 + 62'000'000, kInv2, "exited", 3),
      failed(kT0 + 62'000'100, kInv2, "exit-code"),
  };
  auto runs = manager_runs(entries, kServices, "db1", {}, [](const std::string& id) {
    return id == kInv2 ? std::string("disk full\n") : std::string();
  });
  EXPECT_EQ(runs.runs, 2u);
  ASSERT_EQ(runs.events.size(), 4u);
  EXPECT_EQ(runs.events[0].state, RunState::kRun);
  EXPECT_EQ(runs.events[0].key, "backup");
  EXPECT_EQ(runs.events[0].run_id, "01234567-89ab-cdef-0123-456789abcdef") << "the invocation, as the live watch";
  EXPECT_EQ(runs.events[0].ts, "2025-11-24T16:00:00.000Z");
  EXPECT_EQ(runs.events[0].host, "db1");
  EXPECT_EQ(runs.events[1].state, RunState::kComplete);
  EXPECT_EQ(runs.events[1].ts, "2025-11-24T16:00:01.500Z");
  EXPECT_EQ(runs.events[1].duration_ms, 1500);
  EXPECT_EQ(runs.events[1].exit_code, 0);
  EXPECT_EQ(runs.events[2].state, RunState::kRun);
  EXPECT_EQ(runs.events[2].ts, "2025-11-24T16:01:00.000Z");
  EXPECT_EQ(runs.events[3].state, RunState::kFail);
  EXPECT_EQ(runs.events[3].exit_code, 3);
  EXPECT_EQ(runs.events[3].ts, "2025-11-24T16:01:02.000Z") << "the process's exit";
  EXPECT_EQ(runs.events[3].duration_ms, 2000);
  EXPECT_EQ(runs.events[3].output_tail, "disk full\n");
}

TEST(ManagerRuns, SignalTimeoutAndASimpleServiceStartedWithoutStarting) {
  const std::vector<JournalEntry> entries{
      manager(kT0, kUnitStarted, kInv1, "Started backup.service."),  // Type=simple: no "Starting"
      exited(kT0 + 5'000'000, kInv1, "killed", 9),
      failed(kT0 + 5'000'001, kInv1, "signal"),
      manager(kT0 + 10'000'000, kUnitStarting, kInv2),
      exited(kT0 + 40'000'000, kInv2, "killed", 15),
      failed(kT0 + 40'000'001, kInv2, "timeout"),
  };
  auto runs = manager_runs(entries, kServices, "db1");
  ASSERT_EQ(runs.events.size(), 4u);
  EXPECT_EQ(runs.events[1].state, RunState::kFail);
  EXPECT_EQ(runs.events[1].signal, "SIGKILL");
  EXPECT_EQ(runs.events[1].exit_code, 137);
  EXPECT_EQ(runs.events[3].signal, "SIGTERM");
  EXPECT_TRUE(runs.events[3].timeout);
}

TEST(ManagerRuns, OnlyPid1AsRootOfWatchedServicesCounts) {
  JournalEntry forged = manager(kT0, kUnitStarting, kInv1);
  forged.pid = 4242;  // a user's `logger --journald` may write UNIT= and MESSAGE_ID=, not _PID
  JournalEntry user = manager(kT0, kUnitStarting, kInv2);
  user.uid = 1000;
  const std::vector<JournalEntry> entries{
      forged,
      user,
      manager(kT0, kUnitStarting, kInv3, "", "other.service"),
      manager(kT0 + 1, kUnitSuccess, kInv1),
      manager(kT0 + 1, kUnitSuccess, kInv2),
      manager(kT0 + 1, kUnitSuccess, kInv3, "", "other.service"),
  };
  auto runs = manager_runs(entries, kServices, "db1");
  EXPECT_TRUE(runs.events.empty());
  EXPECT_EQ(runs.unplaced, 2u) << "the two successes of backup.service have no start it can trust";
}

TEST(ManagerRuns, ASkippedStartIsNoRunAndControlProcessesAreNotTheJob) {
  const std::vector<JournalEntry> entries{
      manager(kT0, kUnitStarted, kInv1,
              "backup.service was skipped because of an unmet condition check (ConditionPathExists=/x)."),
      manager(kT0 + 10, kUnitStarting, kInv2),
      exited(kT0 + 20, kInv2, "exited", 1, "Control process"),
      exited(kT0 + 30, kInv2, "exited", 2),
      failed(kT0 + 40, kInv2, "exit-code"),
  };
  auto runs = manager_runs(entries, kServices, "db1");
  EXPECT_EQ(runs.skipped, 1u);
  ASSERT_EQ(runs.events.size(), 2u);
  EXPECT_EQ(runs.events[1].exit_code, 2) << "the main process's status, not ExecStartPre='s";
}

TEST(ManagerRuns, ARunStillGoingAndAnEndOfARunTheAgentSawStart) {
  const std::vector<JournalEntry> entries{
      manager(kT0 + 5'000'000, kUnitSuccess, kInv1),  // started before the gap
      manager(kT0 + 9'000'000, kUnitSuccess, kInv3),  // started before the gap, unseen
      manager(kT0 + 10'000'000, kUnitStarting, kInv2),
  };
  const std::map<std::string, uint64_t> open{{"01234567-89ab-cdef-0123-456789abcdef", kT0}};
  auto runs = manager_runs(entries, kServices, "db1", open);
  EXPECT_EQ(runs.unplaced, 1u);
  ASSERT_EQ(runs.events.size(), 3u);
  EXPECT_EQ(runs.events[1].state, RunState::kComplete);
  EXPECT_EQ(runs.events[1].duration_ms, 5000) << "from the start the agent recorded";
  EXPECT_EQ(runs.events[2].state, RunState::kRun) << "still going: its end comes from the live watch";
  EXPECT_EQ(runs.events[2].run_id, "11234567-89ab-cdef-0123-456789abcdef");
}

cronitor::RunEvent event(const std::string& key, const std::string& id, RunState state, const std::string& ts,
                         int64_t duration_ms = 0) {
  cronitor::RunEvent e;
  e.key = key;
  e.run_id = id;
  e.state = state;
  e.ts = ts;
  e.duration_ms = duration_ms;
  return e;
}

TEST(DropRecorded, ARunRecordedUnderAnotherIdAtTheSameStartIsDropped) {
  std::vector<cronitor::RunEvent> events{
      event("backup", "a", RunState::kRun, "2025-11-24T16:00:00.000Z"),
      event("backup", "a", RunState::kComplete, "2025-11-24T16:00:05.000Z", 5000),
      event("backup", "b", RunState::kFail, "2025-11-24T16:01:03.000Z", 2000),  // start 16:01:01
      event("backup", "c", RunState::kRun, "2025-11-24T16:02:00.000Z"),
      event("other", "d", RunState::kRun, "2025-11-24T16:00:00.000Z"),
  };
  const std::map<std::string, std::vector<RecordedRun>> recorded{
      {"backup",
       {{"spooled", 1'764'000'000'400},  // the wrapper's run, 0.4 s after the journal's start
        {"b", 1'764'000'061'000},        // the same run id: its end may be new
        {"older", 1'764'000'110'000}}},  // 10 s before c: another run
  };
  EXPECT_EQ(drop_recorded(events, recorded), 1u);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].run_id, "b");
  EXPECT_EQ(events[1].run_id, "c");
  EXPECT_EQ(events[2].run_id, "d");
}

TEST(MarkRecovered, FailuresSayWhereTheyCameFrom) {
  std::vector<cronitor::RunEvent> events{event("k", "a", RunState::kRun, "2025-11-24T16:00:00.000Z"),
                                         event("k", "a", RunState::kFail, "2025-11-24T16:00:01.000Z"),
                                         event("k", "b", RunState::kFail, "2025-11-24T16:00:01.000Z")};
  events[2].error = "systemd result \"resources\"";
  mark_recovered(events, "recovered from the journal");
  EXPECT_FALSE(events[0].error);
  EXPECT_EQ(events[1].error, "recovered from the journal");
  EXPECT_EQ(events[2].error, "systemd result \"resources\"; recovered from the journal");
}

TEST(GapSince, TheLastSignOfLifeAtMostAWeekBack) {
  using namespace std::chrono;
  const schedule::Instant now{seconds(1'764'000'000)};
  EXPECT_FALSE(gap_since_usec(std::nullopt, now)) << "a first start has no gap";
  EXPECT_EQ(gap_since_usec(now - seconds(120), now), 1'763'999'880'000'000u);
  EXPECT_EQ(gap_since_usec(now - hours(24 * 30), now), 1'764'000'000'000'000u - 7ull * 24 * 3600 * 1000000);
  EXPECT_FALSE(gap_since_usec(now + seconds(5), now)) << "a last_seen ahead of the clock";
}

// A real journal file: systemd-journal-remote writes it from entries in the export format.
class BackfillJournal : public ::testing::Test {
 protected:
  static constexpr char kRemote[] = "/lib/systemd/systemd-journal-remote";
  void SetUp() override {
    if (!fs::exists(kRemote)) GTEST_SKIP() << kRemote << " missing (apt-get install systemd-journal-remote)";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void entry(uint64_t at, const std::string& fields, const std::string& message) {
    export_ += "__REALTIME_TIMESTAMP=" + std::to_string(at) +
               "\n__MONOTONIC_TIMESTAMP=" + std::to_string(at - kT0 + 1) +
               "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n" + fields + "MESSAGE=" + message + "\n\n";
  }
  void pid1(uint64_t at, const char* id, const char* inv, const std::string& more, const std::string& message) {
    entry(at,
          std::string("_PID=1\n_UID=0\n_COMM=systemd\nUNIT=backup.service\nMESSAGE_ID=") + id +
              "\nINVOCATION_ID=" + inv + "\n" + more,
          message);
  }
  std::string write() {
    const std::string in = (dir_ / "entries.export").string(), out = (dir_ / "test.journal").string();
    FILE* f = std::fopen(in.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fwrite(export_.data(), 1, export_.size(), f);
    std::fclose(f);
    auto r = cronitor::testing::run_command({"/bin/sh", "-c", std::string(kRemote) + " -o " + out + " - < " + in});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  fs::path dir_ = fs::temp_directory_path() / ("journal-backfill-" + std::to_string(::getpid()));
  std::string export_;
};

TEST_F(BackfillJournal, ThePid1MessagesOfTheGapWithTheOutputOfFailedRuns) {
  pid1(kT0, kUnitStarting, kInv1, "JOB_TYPE=start\n", "Starting backup.service...");  // before the gap
  pid1(kT0 + 1'000'000, kUnitSuccess, kInv1, "", "backup.service: Deactivated successfully.");
  pid1(kT0 + 60'000'000, kUnitStarting, kInv2, "JOB_TYPE=start\n", "Starting backup.service...");
  entry(kT0 + 60'500'000,
        std::string("_PID=777\n_UID=0\n_SYSTEMD_UNIT=backup.service\n_SYSTEMD_INVOCATION_ID=") + kInv2 + "\n",
        "rsync: disk full");
  // A user's forgery of the manager's words: journald wrote its real pid and uid beside them.
  entry(kT0 + 60'600'000,
        std::string("_PID=4242\n_UID=1000\nUNIT=backup.service\nMESSAGE_ID=") + kUnitSuccess +
            "\nINVOCATION_ID=" + kInv2 + "\n",
        "backup.service: Deactivated successfully.");
  pid1(kT0 + 61'000'000, kUnitProcessExit, kInv2, "EXIT_CODE=exited\nEXIT_STATUS=3\n",
       "backup.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED");
  pid1(kT0 + 61'000'100, kUnitFailureResult, kInv2, "UNIT_RESULT=exit-code\n",
       "backup.service: Failed with result 'exit-code'.");
  pid1(kT0 + 200'000'000, kUnitStarting, kInv3, "JOB_TYPE=start\n", "Starting backup.service...");  // after
  const std::string file = write();
  auto read = read_manager_entries({file}, kT0 + 30'000'000, kT0 + 120'000'000);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_FALSE(read->cut);
  ASSERT_EQ(read->entries.size(), 3u) << "the gap's PID 1 entries only";
  EXPECT_EQ(read->entries[1].exit_code, "exited");
  EXPECT_EQ(read->entries[1].exit_status, 3);
  EXPECT_EQ(read->entries[2].unit_result, "exit-code");
  EXPECT_EQ(read->tails[kInv2], "rsync: disk full\n");
  auto runs = manager_runs(read->entries, kServices, "db1", {}, [&](const std::string& id) { return read->tails[id]; });
  ASSERT_EQ(runs.events.size(), 2u);
  EXPECT_EQ(runs.events[1].state, RunState::kFail);
  EXPECT_EQ(runs.events[1].exit_code, 3);
  EXPECT_EQ(runs.events[1].output_tail, "rsync: disk full\n");

  auto capped = read_manager_entries({file}, kT0, kT0 + 120'000'000, 2);
  ASSERT_TRUE(capped);
  EXPECT_TRUE(capped->cut);
  EXPECT_EQ(capped->entries.size(), 2u);
}

TEST_F(BackfillJournal, CronLinesOfTheGapFromItsStart) {
  const std::string cron = "SYSLOG_IDENTIFIER=CRON\n_UID=0\n_PID=4711\n";
  entry(kT0, cron, "(root) CMD (/usr/sbin/before)");
  entry(kT0 + 60'000'000, cron, "(root) CMD (/usr/sbin/backup)");
  auto source = CronLogSource::journal_files({write()}, kT0 + 30'000'000);
  ASSERT_TRUE(source) << source.error().message;
  bool more = false;
  const auto lines = (*source)->read(more);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].message, "(root) CMD (/usr/sbin/backup)");
  EXPECT_EQ(lines[0].unix_ms, static_cast<int64_t>((kT0 + 60'000'000) / 1000));
}

}  // namespace
}  // namespace cronitor::agent
