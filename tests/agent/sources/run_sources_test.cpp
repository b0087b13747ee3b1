// The registry of run sources (agent/sources/run_sources.h): a source registered gets each step of
// the lifecycle, with the core's loop, config and sink, in the order the sources were registered;
// the typed lookup finds a source by its class; each source sets its own keys of the status.
#include "agent/sources/run_sources.h"

#include <gtest/gtest.h>
#include <systemd/sd-event.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cronitor::agent {
namespace {

struct Sink : RunSink {
  std::vector<cronitor::RunEvent> runs;
  void take_runs(std::vector<cronitor::RunEvent> events) override {
    for (auto& e : events) runs.push_back(std::move(e));
  }
};

// Writes each step it is given, with what the env held then, to the test's log.
class FakeSource : public RunSource {
 public:
  FakeSource(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
  void configure(const SourceEnv& env) override {
    log_.push_back(name_ + ":configure mode=" + env.config.mode + (env.ev ? " loop" : " no-loop"));
  }
  void attach(const SourceEnv& env) override { log_.push_back(name_ + ":attach" + (env.ev ? " loop" : " no-loop")); }
  void start(const SourceEnv& env) override {
    log_.push_back(name_ + ":start");
    cronitor::RunEvent ev;
    ev.key = name_;
    ev.host = env.host;
    env.sink.take_runs({ev});
  }
  void stop() override { log_.push_back(name_ + ":stop"); }
  void status(nlohmann::json& reply) const override { reply[name_] = {{"live", true}}; }

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

// A second class, to tell the typed lookup's answers apart.
class OtherSource : public RunSource {
 public:
  int configured = 0;
  void configure(const SourceEnv&) override { ++configured; }
};

class RunSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sd_event_new(&ev_), 0); }
  void TearDown() override { sd_event_unref(ev_); }
  Config config_;
  std::string host_ = "db1";
  Sink sink_;
  RunSources sources_{{.config = config_, .host = host_, .now = [] { return Instant{}; }, .sink = sink_}};
  sd_event* ev_ = nullptr;
};

TEST_F(RunSourcesTest, EachStepReachesEverySourceInTheOrderRegistered) {
  std::vector<std::string> log;
  sources_.add(std::make_unique<FakeSource>("a", log));
  sources_.add(std::make_unique<FakeSource>("b", log));
  sources_.configure();  // at start: no loop yet
  sources_.attach(ev_);
  config_.mode = "upstream";  // a reload: the core's config assigned anew, then the sources told
  sources_.configure();
  sources_.start();
  sources_.stop();
  EXPECT_EQ(log,
            (std::vector<std::string>{"a:configure mode=standalone no-loop", "b:configure mode=standalone no-loop",
                                      "a:attach loop", "b:attach loop", "a:configure mode=upstream loop",
                                      "b:configure mode=upstream loop", "a:start", "b:start", "a:stop", "b:stop"}));
  EXPECT_EQ(sources_.env().ev, ev_);
  // Their runs reached the core's sink, with the host the core named.
  ASSERT_EQ(sink_.runs.size(), 2u);
  EXPECT_EQ(sink_.runs[0].key, "a");
  EXPECT_EQ(sink_.runs[1].key, "b");
  EXPECT_EQ(sink_.runs[1].host, "db1");
}

TEST_F(RunSourcesTest, TheTypedLookupFindsASourceByItsClass) {
  std::vector<std::string> log;
  EXPECT_EQ(sources_.find<OtherSource>(), nullptr);
  FakeSource& fake = sources_.add(std::make_unique<FakeSource>("a", log));
  EXPECT_EQ(sources_.find<OtherSource>(), nullptr);
  OtherSource& other = sources_.add(std::make_unique<OtherSource>());
  EXPECT_EQ(sources_.find<FakeSource>(), &fake);
  EXPECT_EQ(sources_.find<OtherSource>(), &other);
  EXPECT_EQ(sources_.size(), 2u);
  sources_.configure();
  EXPECT_EQ(other.configured, 1);
}

TEST_F(RunSourcesTest, EachSourceSetsItsOwnKeysOfTheStatus) {
  std::vector<std::string> log;
  sources_.add(std::make_unique<FakeSource>("a", log));
  sources_.add(std::make_unique<OtherSource>());  // no keys of its own
  sources_.add(std::make_unique<FakeSource>("b", log));
  nlohmann::json reply = {{"ok", true}};
  sources_.status(reply);
  EXPECT_EQ(reply, nlohmann::json({{"ok", true}, {"a", {{"live", true}}}, {"b", {{"live", true}}}}));
}

}  // namespace
}  // namespace cronitor::agent
