// The incidents with what was sent where (agent/state/incident_log.h), as the dashboard's
// Incidents page and job page show them: open first, each alert's deliveries with the target's
// secret part redacted, alerts outside incidents (test alerts) apart.
#include "agent/state/incident_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agent/state/state_store.h"
#include "tests/agent/eval_helpers.h"
#include "uplink/alert.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using testing::at;

class IncidentLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("incident-log-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto s = StateStore::open((dir_ / "state.db").string(), nullptr);
    ASSERT_TRUE(s);
    store_ = std::make_unique<StateStore>(std::move(*s));
  }
  void TearDown() override { fs::remove_all(dir_); }
  Alert failed(const std::string& key, const char* when, const char* opened) {
    Alert a;
    a.kind = Alert::Kind::kFailed;
    a.key = key;
    a.summary = key + " failed: exit code 1";
    a.at = at(when);
    a.incident_opened = at(opened);
    return a;
  }
  fs::path dir_;
  std::unique_ptr<StateStore> store_;
};

const char* kSecretSlack = "slack:https://hooks.slack.com/services/T000/B000/SECRETSECRET";

TEST_F(IncidentLogTest, OpenFirstWithDeliveriesRedacted) {
  // backup: opened, re-alerted, resolved. db: opened later, still open.
  ASSERT_TRUE(store_->record_action(
      Action{Action::Type::kOpen, failed("backup", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")}, {kSecretSlack},
      at("2026-01-01T00:00:00Z")));
  ASSERT_TRUE(store_->record_action(
      Action{Action::Type::kUpdate, failed("backup", "2026-01-01T00:10:00Z", "2026-01-01T00:00:00Z")}, {kSecretSlack},
      at("2026-01-01T00:10:00Z")));
  Alert ok = failed("backup", "2026-01-01T01:00:00Z", "2026-01-01T00:00:00Z");
  ok.kind = Alert::Kind::kRecovered;
  ASSERT_TRUE(store_->record_action(Action{Action::Type::kResolve, ok}, {kSecretSlack}, ok.at));
  ASSERT_TRUE(
      store_->record_action(Action{Action::Type::kOpen, failed("db", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z")},
                            {}, at("2026-01-02T00:00:00Z")));
  auto due = store_->due_outbox(at("2026-01-03T00:00:00Z"), 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 3u);
  ASSERT_TRUE(store_->outbox_sent((*due)[0].id));
  ASSERT_TRUE(store_->outbox_retry((*due)[1].id, at("2026-01-01T00:11:00Z"), "HTTP 500", true));

  auto log = incident_log(store_->db(), "", 10, true);
  ASSERT_TRUE(log) << log.error().message;
  const auto& inc = (*log)["incidents"];
  ASSERT_EQ(inc.size(), 2u) << log->dump(2);
  EXPECT_EQ(inc[0]["key"], "db");  // open first
  EXPECT_TRUE(inc[0]["resolved"].is_null());
  EXPECT_TRUE(inc[0]["sent"][0]["deliveries"].empty()) << "no target: recorded only";
  EXPECT_EQ(inc[1]["key"], "backup");
  EXPECT_EQ(inc[1]["opened"], "2026-01-01T00:00:00+00:00");
  EXPECT_EQ(inc[1]["resolved"], "2026-01-01T01:00:00+00:00");
  const auto& sent = inc[1]["sent"];
  ASSERT_EQ(sent.size(), 3u);  // newest first: the recovery, the update, the opening
  EXPECT_EQ(sent[2]["at"], "2026-01-01T00:00:00+00:00");
  EXPECT_EQ(sent[2]["deliveries"][0]["state"], "sent");
  EXPECT_EQ(sent[1]["deliveries"][0]["state"], "failed");
  EXPECT_EQ(sent[1]["deliveries"][0]["last_error"], "HTTP 500");
  EXPECT_EQ(sent[0]["deliveries"][0]["state"], "pending");
  EXPECT_EQ(log->dump().find("SECRET"), std::string::npos) << "the webhook's secret path is not shown";
  EXPECT_NE(sent[0]["deliveries"][0]["target"].get<std::string>().find("slack:"), std::string::npos);
  EXPECT_TRUE((*log)["notices"].empty());

  // One job's: only its own, no notices asked.
  auto one = incident_log(store_->db(), "backup", 10, false);
  ASSERT_TRUE(one);
  EXPECT_EQ((*one)["incidents"].size(), 1u);
  EXPECT_FALSE(one->contains("notices"));
}

TEST_F(IncidentLogTest, TestAlertIsANoticeNotAnIncident) {
  const Alert t = uplink::test_alert("db1", at("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(store_->record_action(Action{Action::Type::kNotice, t}, {kSecretSlack}, t.at));
  auto log = incident_log(store_->db(), "", 10, true);
  ASSERT_TRUE(log);
  EXPECT_TRUE((*log)["incidents"].empty());
  ASSERT_EQ((*log)["notices"].size(), 1u);
  EXPECT_EQ((*log)["notices"][0]["summary"], "Test alert from cronitor-agent on db1");
  EXPECT_EQ((*log)["notices"][0]["deliveries"][0]["state"], "pending");
}

/// The plan SQLite makes for `sql`, one step per line.
std::string plan(sql::Db& db, const std::string& sql) {
  auto st = db.prepare("EXPLAIN QUERY PLAN " + sql);
  if (!st) return st.error().message;
  std::string out;
  while (st->step().value_or(false)) out += st->text(3) + "\n";
  return out;
}

// Schema 6 (issue 22): a version-5 state.db (the same tables without the dashboard's indexes) is
// migrated; then the Incidents page's join finds an incident's alerts and their deliveries by
// index (it scanned alerts, then the outbox, for each incident), a job's newest runs come from an
// index in history()'s order (no sort of every stored run), and what was stored reads back.
TEST_F(IncidentLogTest, VersionFiveFileGetsTheIndexesOfTheIncidentJoinAndHistory) {
  ASSERT_TRUE(store_->record_action(
      Action{Action::Type::kOpen, failed("backup", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")}, {kSecretSlack},
      at("2026-01-01T00:00:00Z")));
  Alert ok = failed("backup", "2026-01-01T01:00:00Z", "2026-01-01T00:00:00Z");
  ok.kind = Alert::Kind::kRecovered;
  ASSERT_TRUE(store_->record_action(Action{Action::Type::kResolve, ok}, {kSecretSlack}, ok.at));
  store_.reset();
  const std::string path = (dir_ / "state.db").string();
  {
    auto db = sql::Db::open(path, false);
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db->exec("DROP INDEX IF EXISTS alerts_incident; DROP INDEX IF EXISTS outbox_alert; "
                 "DROP INDEX IF EXISTS runs_key_started; PRAGMA user_version=5;"));
  }
  std::vector<std::string> warnings;
  auto s = StateStore::open(path, &warnings);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(s->db().scalar("PRAGMA user_version").value_or(0), kSchemaVersion);
  EXPECT_EQ(s->db()
                .scalar("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('alerts_incident', "
                        "'outbox_alert', 'runs_key_started')")
                .value_or(0),
            3);
  // The shapes of incident_log()'s join and of history()'s order (incident 1, job "backup").
  const std::string join = plan(s->db(),
                                "SELECT a.id, o.target FROM (SELECT * FROM alerts WHERE ('backup' = '' OR key = "
                                "'backup') AND incident_id IS 1 ORDER BY id DESC LIMIT 20) a LEFT JOIN outbox o ON "
                                "o.alert_id = a.id ORDER BY a.id DESC, o.id");
  EXPECT_NE(join.find("USING INDEX alerts_incident"), std::string::npos) << join;
  EXPECT_NE(join.find("USING INDEX outbox_alert"), std::string::npos) << join;
  // history() takes the newest runs with a start from runs_key_started in order, unsorted.
  const std::string runs = plan(s->db(),
                                "SELECT id FROM runs WHERE key = 'backup' AND started_ms IS NOT NULL ORDER BY "
                                "started_ms DESC, id DESC LIMIT 60");
  EXPECT_NE(runs.find("INDEX runs_key_started"), std::string::npos) << runs;
  EXPECT_EQ(runs.find("TEMP B-TREE"), std::string::npos) << runs;
  EXPECT_EQ(s->db().scalar("SELECT count(*) FROM sqlite_master WHERE name = 'runs_key_start'").value_or(-1), 0);
  auto log = incident_log(s->db(), "backup", 10, false);
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_EQ((*log)["incidents"].size(), 1u);
  ASSERT_EQ((*log)["incidents"][0]["sent"].size(), 2u);
  EXPECT_EQ((*log)["incidents"][0]["sent"][1]["deliveries"].size(), 1u);
}

}  // namespace
}  // namespace cronitor::agent
