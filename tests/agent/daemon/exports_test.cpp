// The Prometheus text of the exports part (agent/daemon/exports.h) from a given monitor table
// (configs, states, deadlines), without the daemon: each job's series come from its own state and counters, the
// agent's from what the daemon reports, and a user's job shows as prometheus.user_jobs says.
#include "agent/daemon/exports.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/agent/eval_helpers.h"
#include "tests/support/state_db.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using testing::at;

class ExportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cronitor::testing::test_dir("agent-exports");
    ASSERT_NO_FATAL_FAILURE(cronitor::testing::open_fresh_state_db(dir_, store_));
    Exports::Reads reads;
    reads.now = [this] { return now_; };
    reads.mono_usec = [] { return uint64_t{0}; };
    reads.agent = [] {
      uplink::AgentMetrics a;
      a.events_received = 42;
      a.inotify_rescans = 3;
      return a;
    };
    exports_.emplace(config_, monitors_, *store_, std::move(reads));
  }
  void TearDown() override {
    exports_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void add(MonitorConfig m, MonitorState s) { monitors_.add(std::move(m), std::move(s)); }

  fs::path dir_;
  Config config_;
  MonitorTable monitors_;
  std::optional<StateStore> store_;
  std::optional<Exports> exports_;
  Instant now_ = at("2025-12-01T00:00:00Z");
};

TEST_F(ExportsTest, EachJobsSeriesComeFromItsStateAndItsCountedRuns) {
  MonitorConfig m = testing::monitor("backup", "0 3 * * *");
  m.name = "Nightly backup";
  m.source_file = "/etc/cron.d/backup";
  m.source_line = 2;
  m.user = "root";
  m.uid = 0;
  MonitorState s;
  s.last_start = at("2025-11-30T03:00:00Z");
  s.last_duration_ms = 2500;
  s.last_exit_code = 1;
  s.consecutive_misses = 2;
  s.incident = Incident{};
  s.incident->last_alert = at("2025-12-01T00:00:00Z");  // its reminder is due after the deadline below
  s.expected = at("2025-12-01T03:00:00Z");              // its deadline: the slot and 60 s of grace
  add(m, s);
  add(testing::monitor("quiet", "@daily"), MonitorState{});  // uid -1: shown by key (user_jobs)
  for (auto st : {RunEvent::State::kComplete, RunEvent::State::kComplete, RunEvent::State::kFail,
                  RunEvent::State::kUnknown, RunEvent::State::kRun})
    exports_->count_run(testing::event("backup", "r", st, now_));

  const std::string text = exports_->metrics_text();
  const std::string l = R"(key="backup",name="Nightly backup",source="/etc/cron.d/backup:2",user="root")";
  for (const std::string& line : {
           "cronitor_job_last_start_timestamp_seconds{" + l + "} 1764471600",
           "cronitor_job_last_duration_seconds{" + l + "} 2.5",
           "cronitor_job_last_exit_code{" + l + "} 1",
           "cronitor_job_next_deadline_timestamp_seconds{" + l + "} 1764558060",
           "cronitor_job_incident_open{" + l + "} 1",
           "cronitor_job_consecutive_misses{" + l + "} 2",
           "cronitor_job_runs_total{" + l + ",outcome=\"success\"} 2",
           "cronitor_job_runs_total{" + l + ",outcome=\"failure\"} 1",
           "cronitor_job_runs_total{" + l + ",outcome=\"unknown\"} 1",
           std::string(R"(cronitor_job_incident_open{key="quiet",name="quiet",source="",user=""} 0)"),
           std::string("cronitor_agent_events_received_total 42"),
       })
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
}

TEST_F(ExportsTest, UsersJobsShowAsPrometheusUserJobsSays) {
  MonitorConfig mine = testing::monitor("alice-sync", "@hourly");
  mine.name = "secret name";
  mine.source_file = "/var/spool/cron/crontabs/alice";
  mine.source_line = 1;
  mine.user = "alice";
  mine.uid = 1000;
  add(mine, MonitorState{});
  std::string text = exports_->metrics_text();  // "key": the key and the user, no name or source
  EXPECT_NE(text.find(R"(cronitor_job_incident_open{key="alice-sync",name="alice-sync",source="",user="alice"} 0)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("secret name"), std::string::npos);
  config_.prometheus.user_jobs = "none";
  text = exports_->metrics_text();
  EXPECT_EQ(text.find("alice-sync"), std::string::npos) << text;
}

}  // namespace
}  // namespace cronitor::agent
