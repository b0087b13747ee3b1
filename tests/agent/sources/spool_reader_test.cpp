#include "agent/sources/spool_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/sources/event_adapter.h"
#include "tests/agent/test_values.h"

namespace cronitor::agent {
namespace {

using test_values::kRunUuid1;
using test_values::kRunUuid2;

namespace fs = std::filesystem;

cronitor::RunEvent wire(const std::string& run_id, RunState state, int64_t uid, const std::string& ts) {
  cronitor::RunEvent e;
  e.key = "job";
  e.run_id = run_id;
  e.state = state;
  e.ts = ts;
  e.host = "h";
  e.pid = 42;
  e.uid = uid;
  if (state == RunState::kMetric) e.metrics["count"] = 3;
  return e;
}

constexpr const char* kId3 = "33333333-3333-4333-8333-333333333333";

class SpoolReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("agent-spool-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text, uid_t owner = 0) {
    std::ofstream(dir_ / name) << text;
    if (owner) {
      ASSERT_EQ(::chown((dir_ / name).c_str(), owner, owner), 0);
    }
  }
  fs::path dir_;
};

TEST_F(SpoolReaderTest, FinishedUnfinishedAndPartialLines) {
  write(std::string(kRunUuid1) + ".jsonl",
        encode(wire(kRunUuid1, RunState::kRun, 0, "2026-01-01T00:00:00.000Z")) +
            encode(wire(kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:05.000Z")));
  write(std::string(kRunUuid2) + ".jsonl",
        encode(wire(kRunUuid2, RunState::kRun, 0, "2026-01-01T00:01:00.000Z")) + "{\"v\":1,\"key\"");
  write(".tmp-being-written", "x");
  auto scan = read_spool(dir_.string(), 100, std::chrono::hours(48));
  ASSERT_EQ(scan.files.size(), 2u);
  for (const auto& f : scan.files) {
    if (f.path.find(kRunUuid1) != std::string::npos) {
      EXPECT_TRUE(f.finished);
      EXPECT_EQ(f.events.size(), 2u);
    } else {
      EXPECT_FALSE(f.finished);
      EXPECT_EQ(f.events.size(), 1u);
    }
  }
}

TEST_F(SpoolReaderTest, OwnerMustMatchTheEventUid) {
  write(std::string(kRunUuid1) + ".jsonl", encode(wire(kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:05.000Z")),
        65534);
  write(std::string(kRunUuid2) + ".jsonl",
        encode(wire(kRunUuid2, RunState::kComplete, 65534, "2026-01-01T00:00:05.000Z")), 65534);
  auto scan = read_spool(dir_.string(), 100, std::chrono::hours(48));
  size_t events = 0;
  for (const auto& f : scan.files) events += f.events.size();
  EXPECT_EQ(events, 1u);
  ASSERT_EQ(scan.warnings.size(), 1u);
  EXPECT_NE(scan.warnings[0].find("owned by uid 65534"), std::string::npos);
}

TEST_F(SpoolReaderTest, SymlinksAndHardLinksAreDropped) {
  write("target", encode(wire(kRunUuid1, RunState::kComplete, 0, "2026-01-01T00:00:05.000Z")));
  fs::create_symlink(dir_ / "target", dir_ / (std::string(kRunUuid1) + ".jsonl"));
  fs::create_hard_link(dir_ / "target", dir_ / (std::string(kRunUuid2) + ".jsonl"));
  write(std::string(kId3) + ".m0123456789abcdef.jsonl",
        encode(wire(kId3, RunState::kMetric, 0, "2026-01-01T00:00:01.000Z")));
  auto scan = read_spool(dir_.string(), 100, std::chrono::hours(48));
  int dropped = 0, metric = 0;
  for (const auto& f : scan.files) {
    dropped += f.drop;
    if (f.path.find(".m0123") != std::string::npos) metric += f.finished && f.events.size() == 1;
  }
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(metric, 1);
}

// Issue 18 item 4: 2,000 directories named like run files among a user's other planted names,
// looked at over many bounded passes: each is warned about once at most, a few are named in a
// window of 10 minutes, and the rest are counted in a line or two, not one list per pass.
TEST_F(SpoolReaderTest, OddEntriesAreAFewLogLinesOverManyPassesAndEachWarnedOnce) {
  const int kDirs = 300;
  for (int i = 0; i < kDirs; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "d1d1d1d1-0000-4000-8000-%012x.jsonl", i);
    fs::create_directory(dir_ / name);
  }
  SpoolIndex index;
  SpoolOptions o;
  o.max_names = 10;  // 30 passes for one listing
  const time_t t0 = 1'900'000'000;
  auto drain = [&](time_t now) {
    std::vector<std::string> warnings;
    for (int pass = 0; pass < 1000; ++pass) {
      SpoolScan scan = index.pass(dir_.string(), o, now);
      warnings.insert(warnings.end(), scan.warnings.begin(), scan.warnings.end());
      if (!scan.more) break;
    }
    return warnings;
  };
  size_t named = 0, counted = 0, count_lines = 0;
  for (const auto& w : drain(t0)) {
    if (w.find("a directory") != std::string::npos) ++named;
    if (auto at = w.find("\": "); w.find("more odd entries") != std::string::npos) {
      ++count_lines;
      counted += std::stoul(w.substr(at + 3));
    }
  }
  EXPECT_EQ(named, 20u);
  EXPECT_EQ(named + counted, static_cast<size_t>(kDirs)) << "each counted once";
  EXPECT_LE(count_lines, 2u) << "one line per pass made 30";
  // Listed again (SIGHUP, every 10 minutes): nothing more about them.
  index.relist();
  EXPECT_TRUE(drain(t0 + 5).empty());
  index.relist();
  EXPECT_TRUE(drain(t0 + 700).empty());
}

TEST(WireTimestamp, Parses) {
  auto t = parse_wire_timestamp("2026-03-29T01:02:03.456Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->time_since_epoch().count(), int64_t{1774746123456000});
  EXPECT_FALSE(parse_wire_timestamp("2026-02-30T01:02:03.456Z"));
  EXPECT_FALSE(parse_wire_timestamp("2026-03-29 01:02:03.456Z"));
}

}  // namespace
}  // namespace cronitor::agent
