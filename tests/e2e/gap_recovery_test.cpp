// The runs of a gap (issue 17 item 7): the agent starts with a state.db that says it last ran
// 150 s ago, and the journal (a real journal file, CRONITOR_JOURNAL) holds the timer's runs of
// that time. They are recorded at their own times, the failed one is alerted once and marked as
// recovered from the journal, none is missed, and a run the wrapper spooled meanwhile is not doubled.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

constexpr char kRemote[] = "/lib/systemd/systemd-journal-remote";
constexpr char kBoot[] = "0123456789abcdef0123456789abcdef";

std::string wire_ts(int64_t us) {
  const time_t s = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  ::gmtime_r(&s, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(us / 1000 % 1000));
  return buf;
}

class GapRecovery : public DaemonTest {
 protected:
  GapRecovery() : DaemonTest("agent-gap") {}
  void SetUp() override {
    if (!fs::exists(kRemote)) GTEST_SKIP() << kRemote << " missing (apt-get install systemd-journal-remote)";
    const fs::path units = root_ / "etc/systemd/system";
    fs::create_directories(units / "timers.target.wants");
    fs::create_directories(root_ / "run/systemd/system");  // a host that runs systemd
    std::ofstream(units / "backup.timer") << "[Timer]\nOnCalendar=" << calendar_ << "\nAccuracySec=1s\n\n"
                                          << "[Install]\nWantedBy=timers.target\n";
    std::ofstream(units / "backup.service") << "[Service]\nType=oneshot\nExecStart=/usr/local/bin/backup\n";
    fs::create_symlink("../backup.timer", units / "timers.target.wants/backup.timer");
    ::setenv("CRONITOR_JOURNAL", journal().c_str(), 1);
  }
  void TearDown() override {
    DaemonTest::TearDown();
    ::unsetenv("CRONITOR_JOURNAL");
  }
  std::string journal() const { return (dir_ / "gap.journal").string(); }
  /// The gap the tests make: `key` runs once (a ping) and the agent stops; then its last sign of
  /// life is put `ago_us` back, and the job waits for its first slot (of `period_us`) after that.
  /// `slots_end`: the journal holds runs of slots before it, 2 s before now and over 2 s before
  /// the ping's run, since a run of the key within 2 s of one recorded under another id is that
  /// run (agent/README.md; CI failed once with a slot's run 1.8 s before the ping).
  struct Gap {
    int64_t then = 0, first_slot = 0, slots_end = 0;
  };
  void ping_and_stop(const std::string& key, int64_t ago_us, int64_t period_us, Gap* gap) {
    const int64_t ping_us = wall_now_us();  // the ping's run starts here or later
    ASSERT_EQ(agent({"ping", key, "--state", "complete"}).exit_code, 0);
    ASSERT_TRUE(wait_until([&] { return json::parse(agent({"history", key, "--json"}).out).size() == 1; }, 10s));
    daemon_.stop(SIGTERM);
    gap->then = wall_now_us() - ago_us;
    gap->first_slot = gap->then / period_us * period_us + period_us;
    sql("UPDATE host SET state = json_set(state, '$.last_seen', " + std::to_string(gap->then) + ")");
    sql("UPDATE jobs SET state = json_set(state, '$.expected', " + std::to_string(gap->first_slot) + ") WHERE key = '" +
        key + "'");
    gap->slots_end = std::min(wall_now_us() - 2'000'000, ping_us - 2'500'000);
  }
  void write_config(const std::string& hook_url, const std::string& defaults = "") {
    std::ofstream(config()) << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket()
                            << "\nspool_dir: " << box_.spool() << "\nhostname: gap-host\n"
                            << "discovery: {root: " << root_.string() << ", crontabs: false, systemd: true}\n"
                            << "defaults:\n  alert_rate_limit: 0\n"
                            << defaults << "notify:\n  default: [\"webhook:" << hook_url << "\"]\n";
    fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  }
  Output agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.insert(args.end(), {"--config", config()});
    return run_command(args);
  }
  std::string query(const std::string& statement) {
    auto r = run_command({"/usr/bin/python3", "-c",
                          "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                          (dir_ / "state/state.db").string(), statement});
    return r.exit_code == 0 ? r.out : "error: " + r.err;
  }
  void sql(const std::string& statement) {
    auto r = run_command({"/usr/bin/python3", "-c",
                          "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
                          (dir_ / "state/state.db").string(), statement});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  /// The manager's messages of one run of backup.service (as systemd 252 logs a Type=oneshot).
  void run_entries(int64_t start, int64_t end, const std::string& invocation, int status) {
    const std::string common =
        "_PID=1\n_UID=0\n_COMM=systemd\nUNIT=backup.service\nINVOCATION_ID=" + invocation + "\nMESSAGE_ID=";
    entry(start, common + "7d4958e842da4a758f6c1cdc7b36dcc5\nJOB_TYPE=start\n", "Starting backup.service...");
    if (status != 0) {
      entry(end,
            common + "98e322203f7a4ed290d09fe03c09fe15\nEXIT_CODE=exited\nEXIT_STATUS=" + std::to_string(status) + "\n",
            "backup.service: Main process exited, code=exited, status=" + std::to_string(status) + "/NOTIMPLEMENTED");
      entry(end + 1, common + "d9b373ed55a64feb8242e02dbe79a49c\nUNIT_RESULT=exit-code\n",
            "backup.service: Failed with result 'exit-code'.");
      entry(end + 2, common + "be02cf6855d2428ba40df7e9d022f03d\nJOB_RESULT=failed\n",
            "Failed to start backup.service.");
    } else {
      entry(end, common + "7ad2d189f7e94e70a38c781354912448\n", "backup.service: Deactivated successfully.");
      entry(end + 1, common + "39f53479d3a045ac8e11786248231fbf\nJOB_RESULT=done\n", "Finished backup.service.");
    }
  }
  void entry(int64_t at, const std::string& fields, const std::string& message) {
    export_ += "__REALTIME_TIMESTAMP=" + std::to_string(at) + "\n__MONOTONIC_TIMESTAMP=" + std::to_string(at / 2) +
               "\n_BOOT_ID=" + kBoot + "\n" + fields + "MESSAGE=" + message + "\n\n";
  }
  void write_journal() {
    const std::string in = (dir_ / "entries.export").string();
    std::ofstream(in) << export_;
    fs::remove(journal());
    auto r = run_command({"/bin/sh", "-c", std::string(kRemote) + " -o " + journal() + " - < " + in});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  /// A run the wrapper spooled while the agent was down (root's file, finished).
  void spool_run(const std::string& key, int64_t start, int64_t end) {
    const std::string id = "5f0e7c1a-1b2c-4d3e-8f40-0123456789ab";
    const std::string head =
        R"({"v":1,"key":")" + key + R"(","run_id":")" + id + R"(","host":"gap-host","pid":4242,"uid":0,)";
    std::ofstream(fs::path(box_.spool()) / (id + ".jsonl"))
        << head << R"("state":"run","ts":")" << wire_ts(start) << "\"}\n"
        << head << R"("state":"complete","ts":")" << wire_ts(end)
        << R"(","exit_code":0,"signal":null,"oom":false,"timeout":false,"duration_ms":)" << (end - start) / 1000
        << R"(,"output_tail":"","metrics":{},"error":null,"peak_memory_bytes":null})"
        << "\n";
    fs::permissions(fs::path(box_.spool()) / (id + ".jsonl"), fs::perms::owner_read | fs::perms::owner_write);
  }
  static std::vector<json> events(HttpRecorder& hook, const std::string& kind) {
    std::vector<json> out;
    for (const auto& r : hook.requests()) {
      auto body = json::parse(r.value("body", std::string()), nullptr, false);
      if (body.is_object() && body.value("event", "") == kind) out.push_back(body);
    }
    return out;
  }

  std::string calendar_ = "*:*:00";  // the timer's OnCalendar=
  const fs::path root_ = dir_ / "root";
  std::string export_;
};

TEST_F(GapRecovery, TheJournalsTimerRunsAreRecordedTheFailureAlertedOnceNoneMissed) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config(hook.url("/hook"));
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  auto st = json::parse(agent({"status", "--json"}).out);
  ASSERT_EQ(st["monitors"].size(), 1u) << st.dump();
  const std::string key = st["monitors"][0]["key"];
  // One run before the stop: the monitor is fed (its slots count). The agent was last seen 150 s
  // ago, waiting for the first minute after that.
  Gap gap;
  ASSERT_NO_FATAL_FAILURE(ping_and_stop(key, 150'000'000, 60'000'000, &gap));
  // The manager ran the timer at every slot since; the second run failed with exit 3. The
  // wrapper of a spooled run reported the first one too (0.3 s after the manager's start).
  std::vector<int64_t> starts;
  const char* ids[] = {"a0000000000000000000000000000001", "a0000000000000000000000000000002",
                       "a0000000000000000000000000000003"};
  for (int64_t slot = gap.first_slot; slot < gap.slots_end && starts.size() < 3; slot += 60'000'000) {
    run_entries(slot + 200'000, slot + 1'200'000, ids[starts.size()], starts.size() == 1 ? 3 : 0);
    starts.push_back(slot + 200'000);
  }
  ASSERT_GE(starts.size(), 2u);
  write_journal();
  spool_run(key, starts[0] + 300'000, starts[0] + 1'300'000);

  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("journal: " + std::to_string(starts.size() - 1) + " run(s)", 10s)) << daemon_.log();
  auto failed = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"failed\""); }, 15s);
  ASSERT_FALSE(failed.is_null()) << daemon_.log();
  auto alert = json::parse(failed["body"].get<std::string>());
  EXPECT_TRUE(has(alert["summary"], "failed: exit code 3")) << alert.dump();
  EXPECT_TRUE(has(alert["summary"], "recovered from the journal")) << alert.dump();
  EXPECT_TRUE(has(alert["detail"], wire_ts(starts[1]).substr(0, 19))) << "its own start time: " << alert.dump();

  auto hist = json::parse(agent({"history", key, "--json"}).out);
  ASSERT_EQ(hist.size(), 1 + starts.size()) << "the ping, the spooled run and the journal's others: " << hist.dump();
  size_t failures = 0;
  for (const auto& r : hist) failures += r.value("status", "") == "failed";
  EXPECT_EQ(failures, 1u) << hist.dump();
  EXPECT_TRUE(events(hook, "missed").empty()) << daemon_.log();
  EXPECT_FALSE(has(daemon_.log(), "missed its run")) << daemon_.log();

  // A restart that reads the same journal again (last_seen put back): nothing twice.
  daemon_.stop(SIGTERM);
  sql("UPDATE host SET state = json_set(state, '$.last_seen', " + std::to_string(gap.then) + ")");
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  ASSERT_TRUE(daemon_.wait_for_log("journal: 0 run(s)", 10s)) << daemon_.log();
  EXPECT_EQ(json::parse(agent({"history", key, "--json"}).out).size(), hist.size());
  // The backfill's alerts are in state.db once its log line is out: one failure alert in all.
  EXPECT_EQ(query("SELECT count(*) FROM alerts WHERE kind = 'failed'"), "1\n") << daemon_.log();
  EXPECT_EQ(events(hook, "failed").size(), 1u) << daemon_.log();
}

// A restart under a minute is no downtime: the slots of the gap are judged at once. With a grace
// of 1 s, every slot there would be missed but for the runs the journal holds.
class QuickRestart : public GapRecovery {
 protected:
  QuickRestart() { calendar_ = "*:*:0/10"; }
};

TEST_F(QuickRestart, ARestartUnderAMinuteMissesNoRunTheJournalHolds) {
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  write_config(hook.url("/hook"), "  grace_seconds: 0\n");
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  auto st = json::parse(agent({"status", "--json"}).out);
  ASSERT_EQ(st["monitors"].size(), 1u) << st.dump();
  const std::string key = st["monitors"][0]["key"];
  // Last seen 45 s ago: the timer ran at each 10 s slot since, up to the gap's end.
  Gap gap;
  ASSERT_NO_FATAL_FAILURE(ping_and_stop(key, 45'000'000, 10'000'000, &gap));
  int runs = 0;
  int64_t last_slot = 0;
  for (int64_t slot = gap.first_slot; slot < gap.slots_end; last_slot = slot, slot += 10'000'000, ++runs) {
    char id[33];
    std::snprintf(id, sizeof id, "b%031d", runs);
    run_entries(slot + 100'000, slot + 300'000, id, 0);
  }
  ASSERT_GE(runs, 3);
  write_journal();

  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("journal: " + std::to_string(runs) + " run(s)", 10s)) << daemon_.log();
  EXPECT_EQ(json::parse(agent({"history", key, "--json"}).out).size(), 1u + runs);
  // No miss of a slot the journal's runs served (a miss is alerted at its slot + grace, 1 s). The
  // slots after the start are nobody's here (no manager answers): later misses are left aside.
  EXPECT_EQ(
      query("SELECT count(*) FROM alerts WHERE kind = 'missed' AND at_us < " + std::to_string(last_slot + 10'000'000)),
      "0\n")
      << daemon_.log();
  EXPECT_FALSE(has(daemon_.log(), "the agent was stopped from")) << "under a minute: no downtime window";
}

// A package file's cron job, observed from cron's lines in the journal: the lines of the gap are
// read through the live cron-log tracker, from the agent's last sign of life.
TEST_F(GapRecovery, CronLinesOfTheGapAreRunsAndTheFailureIsAlertedOnce) {
  fs::create_directories(root_ / "etc/cron.d");
  fs::create_directories(root_ / "var/lib/dpkg/info");
  std::ofstream(root_ / "etc/cron.d/pkgjob") << "* * * * * root /usr/local/bin/pkgsync\n";
  std::ofstream(root_ / "var/lib/dpkg/info/fakepkg.list") << "/etc/cron.d\n/etc/cron.d/pkgjob\n";
  HttpRecorder hook(kRecorder, dir_.string());
  ASSERT_GT(hook.port(), 0);
  std::ofstream(config()) << "state_dir: " << (dir_ / "state").string() << "\nsocket: " << socket()
                          << "\nspool_dir: " << box_.spool() << "\nhostname: gap-host\n"
                          << "discovery: {root: " << root_.string()
                          << ", crontabs: true, systemd: false, auto_wrap: false, cron_log: journal}\n"
                          << "defaults:\n  alert_rate_limit: 0\n"
                          << "notify:\n  default: [\"webhook:" << hook.url("/hook") << "\"]\n";
  fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  write_journal();  // empty: the first start reads nothing
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  auto st = json::parse(agent({"status", "--json"}).out);
  ASSERT_EQ(st["monitors"].size(), 1u) << st.dump();
  const std::string key = st["monitors"][0]["key"];
  daemon_.stop(SIGTERM);

  const int64_t then = wall_now_us() - 150'000'000;
  sql("UPDATE host SET state = json_set(state, '$.last_seen', " + std::to_string(then) + ")");
  // cron -L 15 as journald stores it: CMD, then (for the failure) the error line, then END, from
  // the cron child (root) whose pid journald recorded. A line before the gap is not read.
  auto cron = [&](int64_t at, int pid, const std::string& message) {
    entry(at, "SYSLOG_IDENTIFIER=CRON\n_UID=0\n_COMM=cron\n_PID=" + std::to_string(pid) + "\n", message);
  };
  const int64_t m1 = then / 60'000'000 * 60'000'000 + 60'000'000 + 1'000'000, m2 = m1 + 60'000'000;
  cron(then - 30'000'000, 500, "(root) CMD (/usr/local/bin/pkgsync)");
  cron(then - 29'000'000, 500, "(root) END (/usr/local/bin/pkgsync)");
  cron(m1, 501, "(root) CMD (/usr/local/bin/pkgsync)");
  cron(m1 + 2'000'000, 501, "(root) END (/usr/local/bin/pkgsync)");
  cron(m2, 502, "(root) CMD (/usr/local/bin/pkgsync)");
  cron(m2 + 3'000'000, 502, "(CRON) error (grandchild #503 failed with exit status 3)");
  cron(m2 + 3'000'001, 502, "(root) END (/usr/local/bin/pkgsync)");
  write_journal();

  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("journal: 2 run(s)", 10s)) << daemon_.log();
  auto failed = hook.wait_for([](const json& r) { return has(r.value("body", ""), "\"failed\""); }, 15s);
  ASSERT_FALSE(failed.is_null()) << daemon_.log();
  auto alert = json::parse(failed["body"].get<std::string>());
  EXPECT_TRUE(has(alert["summary"], "failed: exit code 3: recovered from the journal")) << alert.dump();
  EXPECT_TRUE(has(alert["detail"], wire_ts(m2).substr(0, 19))) << alert.dump();
  auto hist = json::parse(agent({"history", key, "--json"}).out);
  ASSERT_EQ(hist.size(), 2u) << hist.dump();
  EXPECT_EQ(hist[0]["status"], "failed");
  EXPECT_EQ(hist[0]["duration_ms"], 3000);

  // Read again (last_seen put back): the same lines give new run ids, recorded already: dropped.
  daemon_.stop(SIGTERM);
  sql("UPDATE host SET state = json_set(state, '$.last_seen', " + std::to_string(then) + ")");
  ASSERT_TRUE(daemon_.start(config(), socket())) << daemon_.log();
  EXPECT_TRUE(daemon_.wait_for_log("journal: 0 run(s)", 10s)) << daemon_.log();
  EXPECT_TRUE(has(daemon_.log(), "2 recorded before under another id")) << daemon_.log();
  EXPECT_EQ(json::parse(agent({"history", key, "--json"}).out).size(), 2u);
  EXPECT_EQ(query("SELECT count(*) FROM alerts WHERE kind = 'failed'"), "1\n") << daemon_.log();
}

}  // namespace
