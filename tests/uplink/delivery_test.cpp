// The delivery from a real state.db outbox over real HTTP on 127.0.0.1, on a real sd-event loop:
// each upstream's documented format, then the faults (refused, 500, 429 + Retry-After, hanging,
// 401) without losing an event or reordering a run.
#include "uplink/delivery.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "agent/state/state_store.h"
#include "agent/state/uplink_outbox.h"
#include "tests/support/http_recorder.h"
#include "uplink/self_heartbeat.h"

namespace cronitor::uplink {
namespace {

namespace fs = std::filesystem;
using cronitor::testing::HttpRecorder;
using nlohmann::json;

constexpr const char* kRecorder = CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py";

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("uplink-delivery-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto s = agent::StateStore::open((dir_ / "state.db").string(), nullptr);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::make_unique<agent::StateStore>(std::move(*s));
    auto o = agent::SqlOutbox::open(store_->db());
    ASSERT_TRUE(o) << o.error().message;
    outbox_ = std::move(*o);
    ASSERT_GE(sd_event_new(&ev_), 0);
    settings_.timeout = std::chrono::milliseconds(500);
    settings_.backoff_base = std::chrono::milliseconds(100);
    settings_.backoff_max = std::chrono::milliseconds(400);
  }
  void TearDown() override {
    deliverer_.reset();
    sd_event_unref(ev_);
    outbox_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void start(std::vector<std::unique_ptr<Upstream>> ups) {
    deliverer_.reset();
    auto d = Deliverer::create(
        ev_, *outbox_, std::move(ups), settings_,
        [this](const Deliverer::Refusal& r) {
          stopped_.push_back(r.upstream + (r.job.empty() ? "" : "/" + r.job) + " " + std::to_string(r.status) + " " +
                             r.url);
        },
        [this](int, const std::string& m) { log_ += m + "\n"; });
    ASSERT_TRUE(d) << d.error().message;
    deliverer_ = std::move(*d);
  }
  /// Runs the loop until `done` holds or `limit` passed.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) sd_event_run(ev_, 20000);
    return done();
  }
  Telemetry event(const std::string& key, const std::string& run, Telemetry::State st) {
    Telemetry t;
    t.key = key;
    t.run_id = run;
    t.state = st;
    t.ts_ms = 1764460800000;
    t.host = "h1";
    if (st != Telemetry::State::kRun) {
      t.exit_code = st == Telemetry::State::kFail ? 137 : 0;
      t.duration_ms = 1500;
      if (st == Telemetry::State::kFail) t.signal = "SIGKILL", t.oom = true;
      t.output_tail = "out of memory\n";
    }
    return t;
  }
  static int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void queue(const Telemetry& t, const MonitorInfo* m = nullptr) {
    ASSERT_TRUE(store_->begin());
    ASSERT_TRUE(deliverer_->enqueue(t, m, now_us()));
    ASSERT_TRUE(store_->commit());
    deliverer_->kick();
  }
  int64_t depth(const std::string& up) { return *outbox_->depth(up); }

  std::unique_ptr<Upstream> cronitor(const HttpRecorder& r) {
    CronitorSettings s;
    s.api_key = "KEY123456";
    s.telemetry_url = r.url("");
    s.api_url = r.url("/api");
    return make_cronitor(s);
  }

  fs::path dir_;
  std::unique_ptr<agent::StateStore> store_;
  std::unique_ptr<agent::SqlOutbox> outbox_;
  sd_event* ev_ = nullptr;
  DeliverySettings settings_;
  std::unique_ptr<Deliverer> deliverer_;
  std::vector<std::string> stopped_;
  std::string log_;
};

TEST_F(DeliveryTest, EachUpstreamGetsARunAndAnOomFailureInItsFormat) {
  HttpRecorder rec(kRecorder, dir_.string());
  ASSERT_GT(rec.port(), 0);
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(cronitor(rec));
  HealthchecksSettings hc;
  hc.ping_key = "pingkey1";
  hc.ping_url = rec.url("/hc");
  ups.push_back(make_healthchecks(hc));
  SentrySettings se;
  se.dsn = "http://pubkey9@127.0.0.1:" + std::to_string(rec.port()) + "/77";
  ups.push_back(std::move(*make_sentry(se)));
  start(std::move(ups));
  MonitorInfo m;
  m.key = "backup";
  m.name = "Backup";
  m.schedule = "*/5 * * * *";
  m.timezone = "UTC";
  const std::string run = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
  ASSERT_TRUE(store_->begin());
  ASSERT_TRUE(deliverer_->enqueue_sync({m}, now_us()));
  ASSERT_TRUE(store_->commit());
  queue(event("backup", run, Telemetry::State::kRun), &m);
  queue(event("backup", run, Telemetry::State::kFail), &m);
  ASSERT_TRUE(run_until([&] { return rec.requests().size() >= 7; }, std::chrono::seconds(10))) << log_;
  auto reqs = rec.requests();
  EXPECT_EQ(reqs.size(), 7u);
  auto find = [&](const std::string& method, const std::string& prefix) -> std::vector<json> {
    std::vector<json> out;
    for (auto& r : reqs)
      if (r["method"] == method && r["path"].get<std::string>().starts_with(prefix)) out.push_back(r);
    return out;
  };
  // Cronitor: the monitor upsert, then run and fail with the same series.
  auto put = find("PUT", "/api/monitors");
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0]["headers"]["Authorization"], "Basic S0VZMTIzNDU2Og==");  // "KEY123456:"
  EXPECT_EQ(json::parse(put[0]["body"].get<std::string>())[0]["schedule"], "*/5 * * * *");
  auto gets = find("GET", "/p/KEY123456/backup?");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_NE(gets[0]["path"].get<std::string>().find("state=run&series=" + run), std::string::npos);
  EXPECT_NE(gets[1]["path"].get<std::string>().find("state=fail&series=" + run), std::string::npos);
  EXPECT_NE(gets[1]["path"].get<std::string>().find("status_code=137"), std::string::npos);
  EXPECT_NE(gets[1]["path"].get<std::string>().find("OOM"), std::string::npos);
  // Healthchecks: /start then /137 with the output as the body.
  auto hcs = find("GET", "/hc/pingkey1/backup/start?rid=" + run);
  EXPECT_EQ(hcs.size(), 1u);
  auto hcf = find("POST", "/hc/pingkey1/backup/137?rid=" + run);
  ASSERT_EQ(hcf.size(), 1u);
  EXPECT_NE(hcf[0]["body"].get<std::string>().find("out of memory"), std::string::npos);
  // Sentry: in_progress with monitor_config, then error, one check_in_id.
  auto se_reqs = find("POST", "/api/77/cron/backup/pubkey9/");
  ASSERT_EQ(se_reqs.size(), 2u);
  auto a = json::parse(se_reqs[0]["body"].get<std::string>());
  auto b = json::parse(se_reqs[1]["body"].get<std::string>());
  EXPECT_EQ(a["status"], "in_progress");
  EXPECT_EQ(a["monitor_config"]["schedule"]["value"], "*/5 * * * *");
  EXPECT_EQ(b["status"], "error");
  EXPECT_EQ(a["check_in_id"], b["check_in_id"]);
  EXPECT_TRUE(run_until([&] { return depth("cronitor") + depth("healthchecks") + depth("sentry") == 0; },
                        std::chrono::seconds(5)));
  EXPECT_EQ(log_.find("KEY123456"), std::string::npos) << "secrets are masked in logs";
}

TEST_F(DeliveryTest, ServerErrorsAreRetriedWithBackoffAndOrderPerRunHolds) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode("500");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(cronitor(rec));
  start(std::move(ups));
  for (int i = 0; i < 5; ++i) {
    const std::string run = "00000000-0000-4000-8000-00000000000" + std::to_string(i);
    queue(event("job" + std::to_string(i % 2), run, Telemetry::State::kRun));
    queue(event("job" + std::to_string(i % 2), run, Telemetry::State::kComplete));
  }
  ASSERT_TRUE(run_until([&] { return rec.requests().size() >= 3; }, std::chrono::seconds(10)));
  EXPECT_EQ(depth("cronitor"), 10);  // nothing is lost while it fails
  auto failing = rec.requests();
  // Half-open circuit: after the first failure one probe at a time, spaced by the back-off.
  for (size_t i = 2; i < failing.size(); ++i)  // [0], [1]: the first two jobs, sent together
    EXPECT_GE(failing[i]["t"].get<double>() - failing[i - 1]["t"].get<double>(), 0.04) << i;
  rec.set_mode("ok");
  ASSERT_TRUE(run_until([&] { return depth("cronitor") == 0; }, std::chrono::seconds(10))) << log_;
  std::map<std::string, std::vector<std::string>> by_run;
  for (auto& r : rec.requests()) {
    if (r["status"] != 200) continue;
    std::string p = r["path"];
    auto s = p.find("series=");
    by_run[p.substr(s + 7, 36)].push_back(p.find("state=run") != std::string::npos ? "run" : "end");
  }
  ASSERT_EQ(by_run.size(), 5u);
  for (auto& [run, seq] : by_run) EXPECT_EQ(seq, (std::vector<std::string>{"run", "end"})) << run;
  EXPECT_NE(log_.find("HTTP 500"), std::string::npos);
  EXPECT_EQ(deliverer_->stats()[0].delivered, 10u);
  EXPECT_GE(deliverer_->stats()[0].failures, 3u);
}

TEST_F(DeliveryTest, RetryAfterIsHonoured) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode("429 1");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(cronitor(rec));
  start(std::move(ups));
  queue(event("job", "00000000-0000-4000-8000-000000000001", Telemetry::State::kRun));
  ASSERT_TRUE(run_until([&] { return rec.requests().size() >= 1; }, std::chrono::seconds(5)));
  rec.set_mode("ok");
  ASSERT_TRUE(run_until([&] { return depth("cronitor") == 0; }, std::chrono::seconds(5))) << log_;
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["status"], 429);
  // The back-off alone would retry after 50-100 ms; Retry-After: 1 holds it a second.
  EXPECT_GE(reqs[1]["t"].get<double>() - reqs[0]["t"].get<double>(), 0.95);
}

TEST_F(DeliveryTest, AHangingReceiverTimesOutAndTheEventIsSentAgain) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode("hang");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(cronitor(rec));
  start(std::move(ups));
  queue(event("job", "00000000-0000-4000-8000-000000000001", Telemetry::State::kRun));
  ASSERT_TRUE(run_until([&] { return deliverer_->stats()[0].failures >= 1; }, std::chrono::seconds(5))) << log_;
  EXPECT_NE(log_.find("Timeout"), std::string::npos) << log_;
  rec.set_mode("ok");
  ASSERT_TRUE(run_until([&] { return depth("cronitor") == 0; }, std::chrono::seconds(5))) << log_;
  EXPECT_EQ(deliverer_->stats()[0].delivered, 1u);
}

TEST_F(DeliveryTest, ARefusedConnectionKeepsEverythingQueuedUntilTheUpstreamIsBack) {
  CronitorSettings s;
  s.api_key = "KEY123456";
  s.telemetry_url = "http://127.0.0.1:1";  // nothing listens on port 1
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(make_cronitor(s));
  start(std::move(ups));
  for (int i = 0; i < 20; ++i)
    queue(event("job" + std::to_string(i), "00000000-0000-4000-8000-0000000000" + std::to_string(10 + i),
                Telemetry::State::kRun));
  ASSERT_TRUE(run_until([&] { return deliverer_->stats()[0].failures >= 2; }, std::chrono::seconds(5)));
  EXPECT_NE(log_.find("Couldn't connect"), std::string::npos) << log_;
  EXPECT_EQ(depth("cronitor"), 20);
  // The receiver is back (a reload with its address): everything goes out.
  HttpRecorder rec(kRecorder, dir_.string());
  std::vector<std::unique_ptr<Upstream>> again;
  again.push_back(cronitor(rec));
  start(std::move(again));
  ASSERT_TRUE(run_until([&] { return depth("cronitor") == 0; }, std::chrono::seconds(10))) << log_;
  EXPECT_EQ(rec.requests().size(), 20u);
}

TEST_F(DeliveryTest, A401StopsTheUpstreamAndIsReportedOnce) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode("401");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(cronitor(rec));
  start(std::move(ups));
  for (int i = 0; i < 3; ++i)
    queue(event("job" + std::to_string(i), "00000000-0000-4000-8000-00000000000" + std::to_string(i),
                Telemetry::State::kRun));
  ASSERT_TRUE(run_until([&] { return !stopped_.empty() && deliverer_->idle(); }, std::chrono::seconds(5)));
  run_until([] { return false; }, std::chrono::milliseconds(300));  // nothing more goes out
  ASSERT_EQ(stopped_.size(), 1u);
  EXPECT_TRUE(stopped_[0].starts_with("cronitor 401 GET http://127.0.0.1:")) << stopped_[0];
  EXPECT_EQ(stopped_[0].find("KEY123456"), std::string::npos) << "the key is masked";
  EXPECT_EQ(depth("cronitor"), 3);  // kept for when the key is fixed
  EXPECT_TRUE(deliverer_->stats()[0].stopped);
  EXPECT_LE(rec.requests().size(), 3u);
}

TEST_F(DeliveryTest, TheQueueIsBoundedAndDropsAreCountedAndLogged) {
  settings_.max_events = 5;
  CronitorSettings s;
  s.api_key = "KEY123456";
  s.telemetry_url = "http://127.0.0.1:1";
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(make_cronitor(s));
  start(std::move(ups));
  for (int i = 0; i < 12; ++i)
    queue(event("job", "00000000-0000-4000-8000-0000000000" + std::to_string(10 + i), Telemetry::State::kRun));
  // A new deliverer trims at its first pump.
  std::vector<std::unique_ptr<Upstream>> again;
  again.push_back(make_cronitor(s));
  start(std::move(again));
  ASSERT_TRUE(run_until([&] { return deliverer_->stats()[0].dropped > 0; }, std::chrono::seconds(5)));
  EXPECT_EQ(deliverer_->stats()[0].dropped, 7u);
  EXPECT_EQ(depth("cronitor"), 5);
  EXPECT_NE(log_.find("dropped 7 queued events"), std::string::npos) << log_;
  // The newest are kept.
  auto head = outbox_->head("cronitor", 10, {});
  ASSERT_TRUE(head);
  EXPECT_NE(head->back().payload.find("-000000000021"), std::string::npos);
}

TEST_F(DeliveryTest, SentryGetsAtMostSixCheckInsPerMinutePerMonitor) {
  HttpRecorder rec(kRecorder, dir_.string());
  SentrySettings se;
  se.dsn = "http://pubkey9@127.0.0.1:" + std::to_string(rec.port()) + "/77";
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(std::move(*make_sentry(se)));
  start(std::move(ups));
  for (int i = 0; i < 8; ++i)
    queue(event("busy", "00000000-0000-4000-8000-0000000000" + std::to_string(10 + i), Telemetry::State::kRun));
  queue(event("other", "00000000-0000-4000-8000-000000000099", Telemetry::State::kRun));
  ASSERT_TRUE(run_until([&] { return rec.requests().size() >= 7; }, std::chrono::seconds(5)));
  run_until([] { return false; }, std::chrono::milliseconds(500));
  EXPECT_EQ(rec.requests().size(), 7u);  // 6 of "busy", 1 of "other"
  EXPECT_EQ(depth("sentry"), 2);         // the rest waits for the next minute
}

// Contract (issue 19, item 4): Healthchecks answers 404 to a ping of a slug it does not know (or
// when the account is at its check limit with ?create=1); that holds back that one check only.
TEST_F(DeliveryTest, A404ForOneSlugHoldsBackThatJobOnlyAndNamesIt) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode("rules\n/pk_abc/unknown-job/\t404\tnot found");
  HealthchecksSettings hs;
  hs.ping_key = "pk_abc";
  hs.ping_url = rec.url("");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(make_healthchecks(hs));
  settings_.backoff_max = std::chrono::milliseconds(60000);  // no probe of the held slug within the test
  start(std::move(ups));
  for (int i = 0; i < 4; ++i) {
    const std::string run = "00000000-0000-4000-8000-00000000000" + std::to_string(i);
    queue(event("unknown job", run, Telemetry::State::kRun));
    queue(event("unknown job", run, Telemetry::State::kComplete));
  }
  for (int i = 0; i < 5; ++i) {
    const std::string run = "00000000-0000-4000-8000-00000000010" + std::to_string(i);
    queue(event("job" + std::to_string(i), run, Telemetry::State::kRun));
    queue(event("job" + std::to_string(i), run, Telemetry::State::kComplete));
  }
  auto ok = [&] {
    size_t n = 0;
    for (auto& r : rec.requests()) n += r["status"] == 200;
    return n;
  };
  ASSERT_TRUE(run_until([&] { return ok() == 10 && deliverer_->idle(); }, std::chrono::seconds(10))) << log_;
  run_until([] { return false; }, std::chrono::milliseconds(300));  // nothing more of the held job goes out
  size_t refused = 0;
  for (auto& r : rec.requests()) refused += r["status"] == 404;
  EXPECT_EQ(refused, 1u) << "one refused ping, then the job waits";
  ASSERT_EQ(stopped_.size(), 1u);
  EXPECT_TRUE(stopped_[0].starts_with("healthchecks/unknown job 404 GET")) << stopped_[0];
  EXPECT_NE(log_.find("unknown job"), std::string::npos) << log_;
  EXPECT_NE(log_.find("\"not found\""), std::string::npos) << "the server's answer is in the log: " << log_;
  const auto st = deliverer_->stats()[0];
  EXPECT_FALSE(st.stopped);
  EXPECT_EQ(st.delivered, 10u) << "only what was accepted counts as delivered";
  EXPECT_EQ(st.held, 1u);
  // What `status` shows of it: the job, since when, the server's answer.
  ASSERT_EQ(st.held_jobs.size(), 1u);
  EXPECT_EQ(st.held_jobs[0].job, "unknown job");
  EXPECT_EQ(st.held_jobs[0].status, 404);
  EXPECT_EQ(st.held_jobs[0].answer, "\"not found\"");  // quoted, as in the log
  EXPECT_NE(st.held_jobs[0].url.find("/unknown-job"), std::string::npos) << st.held_jobs[0].url;
  EXPECT_EQ(st.held_jobs[0].url.find("pk_abc"), std::string::npos) << "the ping key is masked";
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_LE(st.held_jobs[0].since_ms, now_ms);
  EXPECT_GT(st.held_jobs[0].since_ms, now_ms - 60000);
  EXPECT_EQ(depth("healthchecks"), 8) << "the held job's events stay queued";
}

// Contract (issue 19, item 2): Cronitor answers 400 to a monitor PUT with an invalid monitor in
// it; the chunk is split until the refused monitors stand alone, every other monitor is synced.
TEST_F(DeliveryTest, ARefusedSyncChunkIsSplitUntilTheRefusedMonitorsAreFound) {
  HttpRecorder rec(kRecorder, dir_.string());
  rec.set_mode(
      "rules\n\"key\":\"bad-17\"\t400\tschedule: invalid cron expression\n"
      "\"key\":\"bad-42\"\t400\tgrace_seconds: must be positive");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(cronitor(rec));
  start(std::move(ups));
  std::vector<MonitorInfo> ms;
  for (int i = 0; i < 60; ++i) {
    MonitorInfo m;
    m.key = (i == 17 || i == 42 ? "bad-" : "m-") + std::to_string(i);
    m.name = m.key;
    m.schedule = "0 3 * * *";
    ms.push_back(m);
  }
  ASSERT_TRUE(store_->begin());
  ASSERT_TRUE(deliverer_->enqueue_sync(ms, now_us()));
  ASSERT_TRUE(store_->commit());
  deliverer_->kick();
  ASSERT_TRUE(run_until([&] { return depth("cronitor") == 0 && deliverer_->idle(); }, std::chrono::seconds(10)))
      << log_;
  std::set<std::string> synced;
  size_t puts = 0;
  for (auto& r : rec.requests()) {
    ++puts;
    if (r["status"] != 200) continue;
    for (auto& m : json::parse(r["body"].get<std::string>())) synced.insert(m["key"]);
  }
  EXPECT_EQ(synced.size(), 58u) << "every monitor but the refused two";
  EXPECT_FALSE(synced.contains("bad-17"));
  EXPECT_LE(puts, 30u) << "bisection, not one request per monitor";
  EXPECT_NE(log_.find("monitor bad-17 refused: HTTP 400 \"schedule: invalid cron expression\""), std::string::npos)
      << log_;
  EXPECT_NE(log_.find("monitor bad-42 refused: HTTP 400 \"grace_seconds: must be positive\""), std::string::npos)
      << log_;
  EXPECT_EQ(deliverer_->stats()[0].rejected, 2u);
  std::printf("sync of 60 monitors with 2 refused: %zu PUTs\n", puts);
}

// Issue 17 item 7: while the upstreams are unreachable, only the newest of the agent's own
// heartbeats waits (no hour of beats replayed when they are back), beside every queued run event;
// once back, each upstream gets that one beat, in its format.
// The beat that replaces the queued one finds it by index: a backlog of runs during an outage
// (up to max_events rows) is not read on each beat (schema version 5).
TEST_F(DeliveryTest, AHeartbeatFindsTheQueuedOneByIndexNotByReadingTheBacklog) {
  auto plan = store_->db().prepare(
      "EXPLAIN QUERY PLAN DELETE FROM uplink_outbox WHERE upstream = 'sentry' AND job = 'h' AND kind = 'heartbeat'");
  ASSERT_TRUE(plan) << plan.error().message;
  std::string detail;
  while (true) {
    auto row = plan->step();
    ASSERT_TRUE(row) << row.error().message;
    if (!*row) break;
    detail += plan->text(3) + "\n";
  }
  EXPECT_NE(detail.find("USING INDEX uplink_outbox_kind (upstream=? AND kind=? AND job=?)"), std::string::npos)
      << detail;
}

TEST_F(DeliveryTest, AnOutageKeepsOnlyTheNewestHeartbeatAndEveryRun) {
  auto all_three = [](const std::string& base, int port) {
    std::vector<std::unique_ptr<Upstream>> ups;
    CronitorSettings c;
    c.api_key = "KEY123456";
    c.telemetry_url = base;
    ups.push_back(make_cronitor(c));
    HealthchecksSettings hc;
    hc.ping_key = "pingkey1";
    hc.ping_url = base + "/hc";
    ups.push_back(make_healthchecks(hc));
    SentrySettings se;
    se.dsn = "http://pubkey9@127.0.0.1:" + std::to_string(port) + "/77";
    ups.push_back(std::move(*make_sentry(se)));
    return ups;
  };
  start(all_three("http://127.0.0.1:1", 1));  // nothing listens on port 1
  HeartbeatSettings hb;
  const MonitorInfo m = heartbeat_monitor(hb, "h1");
  const int64_t t0 = 1764460800000;
  for (int i = 0; i < 30; ++i) {  // half an hour of beats, a minute apart, with a run among them
    ASSERT_TRUE(store_->begin());
    ASSERT_TRUE(deliverer_->enqueue_heartbeat(heartbeat_beat(hb, "h1", t0 + i * 60000), m, now_us()));
    if (i % 10 == 0) {
      const std::string run = "00000000-0000-4000-8000-0000000000" + std::to_string(10 + i);
      ASSERT_TRUE(deliverer_->enqueue(event("backup", run, Telemetry::State::kRun), nullptr, now_us()));
    }
    ASSERT_TRUE(store_->commit());
    deliverer_->kick();
    sd_event_run(ev_, 1000);
  }
  ASSERT_TRUE(run_until([&] { return deliverer_->stats()[0].failures >= 1; }, std::chrono::seconds(5))) << log_;
  for (const char* up : {"cronitor", "healthchecks", "sentry"}) EXPECT_EQ(depth(up), 1 + 3) << up;
  HttpRecorder rec(kRecorder, dir_.string());
  start(all_three(rec.url(""), rec.port()));
  ASSERT_TRUE(run_until([&] { return rec.requests().size() >= 3u + 3 * 3; }, std::chrono::seconds(10))) << log_;
  ASSERT_TRUE(run_until([&] { return depth("cronitor") + depth("healthchecks") + depth("sentry") == 0; },
                        std::chrono::seconds(5)))
      << log_;
  std::vector<json> beats;
  for (auto& r : rec.requests())
    if (r["path"].get<std::string>().find("cronitor-agent-h1") != std::string::npos) beats.push_back(r);
  ASSERT_EQ(beats.size(), 3u) << "one beat per upstream, the newest";
  EXPECT_EQ(rec.requests().size(), 3u + 3 * 3) << "and every run event";
  for (auto& r : beats) {
    const std::string p = r["path"];
    if (p.starts_with("/p/")) {
      EXPECT_EQ(p, "/p/KEY123456/cronitor-agent-h1?state=complete&host=h1&stamp=1764462540.000");
    } else if (p.starts_with("/hc/")) {
      EXPECT_EQ(p, "/hc/pingkey1/cronitor-agent-h1");
      EXPECT_EQ(r["method"], "GET");
    } else {
      EXPECT_EQ(p, "/api/77/cron/cronitor-agent-h1/pubkey9/");
      const json body = json::parse(r["body"].get<std::string>());
      EXPECT_EQ(body["status"], "ok");
      ASSERT_TRUE(body.contains("monitor_config")) << body.dump();
      EXPECT_EQ(body["monitor_config"]["schedule"]["type"], "interval");
    }
  }
}

// Issue 19: a Healthchecks check's UUID is its secret (anyone with it can ping): masked in the
// log, the alert and `status` as keys are. A check upsert the API refuses with 403 (the account
// is at its check limit) holds back that job alone, named; the other job's check and pings go.
TEST_F(DeliveryTest, AChecksUuidIsMaskedAndACheckLimitHoldsBackThatJobOnly) {
  HttpRecorder rec(kRecorder, dir_.string());
  const std::string key32 = "0123456789abcdef0123456789abcdef", uuid = "5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37";
  rec.set_mode("healthchecks " + key32 + " pk_abc 1");  // room for one check
  HealthchecksSettings hs;
  hs.ping_key = "pk_abc";
  hs.ping_url = rec.url("/hc");
  hs.api_key = key32;
  hs.api_url = rec.url("");
  std::vector<std::unique_ptr<Upstream>> ups;
  ups.push_back(make_healthchecks(hs));
  settings_.backoff_max = std::chrono::milliseconds(60000);
  start(std::move(ups));
  MonitorInfo adopted, first, second;
  adopted.key = "adopted";
  adopted.healthchecks_uuid = uuid;  // the fake knows no such check: 404
  first.key = "first";
  first.schedule = "*/5 * * * *";
  second.key = "second";
  second.schedule = "0 3 * * *";
  ASSERT_TRUE(store_->begin());
  ASSERT_TRUE(deliverer_->enqueue_checks({adopted, first, second}, now_us()));
  ASSERT_TRUE(store_->commit());
  queue(event("adopted", "00000000-0000-4000-8000-000000000001", Telemetry::State::kRun), &adopted);
  queue(event("first", "00000000-0000-4000-8000-000000000002", Telemetry::State::kRun), &first);
  queue(event("second", "00000000-0000-4000-8000-000000000003", Telemetry::State::kRun), &second);
  ASSERT_TRUE(
      run_until([&] { return deliverer_->stats()[0].held == 2 && deliverer_->idle(); }, std::chrono::seconds(10)))
      << log_;
  // The two upserts go out together and the fake has room for one: whichever it answers first is
  // created, the other refused (the order the two connections reach it is not ours to fix).
  const bool first_won = log_.find("the check of first created") != std::string::npos;
  const std::string created = first_won ? "first" : "second", refused = first_won ? "second" : "first";
  EXPECT_NE(log_.find("the check of " + created + " created"), std::string::npos) << log_;
  EXPECT_EQ(log_.find("the check of " + refused + " created"), std::string::npos) << log_;
  std::string paths;
  for (auto& r : rec.requests()) paths += r["method"].get<std::string>() + " " + r["path"].get<std::string>() + "\n";
  EXPECT_EQ(rec.requests().size(), 4u) << "no upsert for the adopted check; one check created, one refused\n" << paths;
  EXPECT_NE(paths.find("GET /hc/pk_abc/" + created + "/start"), std::string::npos) << paths;
  EXPECT_EQ(paths.find("/hc/pk_abc/" + refused + "/"), std::string::npos) << "its pings wait for its check\n" << paths;
  const auto st = deliverer_->stats()[0];
  ASSERT_EQ(st.held_jobs.size(), 2u);
  EXPECT_EQ(st.held_jobs[0].job, "adopted");
  EXPECT_EQ(st.held_jobs[0].url.find(uuid), std::string::npos) << st.held_jobs[0].url;
  EXPECT_NE(st.held_jobs[0].url.find("5f0c…"), std::string::npos) << st.held_jobs[0].url;
  EXPECT_EQ(st.held_jobs[1].job, refused);
  EXPECT_EQ(st.held_jobs[1].status, 403);
  EXPECT_EQ(st.held_jobs[1].answer, "\"the account is at its check limit\"");
  EXPECT_EQ(log_.find(uuid), std::string::npos) << log_;
  EXPECT_EQ(log_.find(key32), std::string::npos) << log_;
  for (const auto& s : stopped_) EXPECT_EQ(s.find(uuid), std::string::npos) << s;
}

}  // namespace
}  // namespace cronitor::uplink
