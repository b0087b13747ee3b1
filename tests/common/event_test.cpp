// The run event wire format: round trips, every limit, and hostile values (property tests).
#include "common/event.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>

namespace cronitor {
namespace {

RunEvent sample(RunState state = RunState::kComplete) {
  RunEvent e;
  e.key = "billing-run";
  e.run_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  e.state = state;
  e.ts = "2026-11-21T09:35:39.123Z";
  e.host = "web-1";
  e.pid = 4242;
  e.uid = 1000;
  if (is_terminal(state)) {
    e.exit_code = 137;
    e.signal = "SIGKILL";
    e.oom = true;
    e.duration_ms = 1234;
    e.output_tail = "line 1\nline \"2\"\t\\ é ✓\n";
    e.metrics = {{"count", 42}, {"error_count", 0}, {"ratio", 0.125}};
    e.peak_memory_bytes = 67108864;
  }
  if (state == RunState::kMetric) e.metrics = {{"count", 7}};
  return e;
}

TEST(Event, RoundTripsEveryState) {
  for (RunState s : {RunState::kRun, RunState::kComplete, RunState::kFail, RunState::kMetric}) {
    RunEvent e = sample(s);
    std::string line = encode(e);
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line only";
    auto d = decode(line);
    ASSERT_TRUE(d) << d.error().message << "\n" << line;
    EXPECT_EQ(*d, e) << line;
  }
}

TEST(Event, TheWireNamesFourStatesAndNotTheAgentsUnknown) {
  for (RunState s : {RunState::kRun, RunState::kComplete, RunState::kFail, RunState::kMetric})
    EXPECT_EQ(wire_state(to_string(s)), s);
  for (std::string_view other : {"unknown", "", "Run", "run ", "complete\n", "failed"})
    EXPECT_FALSE(wire_state(other).has_value()) << other;
  std::string line = encode(sample(RunState::kComplete));
  line.replace(line.find("\"complete\""), 10, "\"unknown\"");
  auto d = decode(line);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().message, "field \"state\" is not run, complete, fail or metric");
}

TEST(Event, OptionalFieldsRoundTrip) {
  RunEvent e = sample(RunState::kFail);
  e.env = "production";
  e.timeout = true;
  e.error = "cannot execute /bin/nope: No such file or directory";
  e.signal.reset();
  e.peak_memory_bytes.reset();
  auto d = decode(encode(e));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, e);
}

TEST(Event, RejectsMissingAndWrongFields) {
  std::string good = encode(sample());
  auto without = [&](const std::string& field) {
    auto j = good;
    auto p = j.find("\"" + field + "\":");
    auto comma = j.find(',', p);
    j.erase(p, comma - p + 1);
    return j;
  };
  for (const char* f : {"v", "key", "run_id", "state", "ts", "host", "pid", "uid", "exit_code", "signal", "oom",
                        "timeout", "duration_ms", "output_tail", "error", "peak_memory_bytes"}) {
    auto d = decode(without(f));
    ASSERT_FALSE(d) << f;
    EXPECT_NE(d.error().message.find(f), std::string::npos) << d.error().message;
  }
  EXPECT_FALSE(decode("not json"));
  EXPECT_FALSE(decode("[1,2]"));
  EXPECT_FALSE(decode(""));
  EXPECT_FALSE(decode(good + good)) << "two lines";
}

TEST(Event, EnforcesLimitsOnDecode) {
  // Lines built by hand around encode's output, since encode itself cuts long values.
  auto replace = [](std::string line, const std::string& from, const std::string& to) {
    auto p = line.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return line.replace(p, from.size(), to);
  };
  std::string good = encode(sample());
  EXPECT_FALSE(decode(replace(good, "\"billing-run\"", "\"" + std::string(201, 'k') + "\"")));
  EXPECT_TRUE(decode(replace(good, "\"billing-run\"", "\"" + std::string(200, 'k') + "\"")));
  EXPECT_FALSE(decode(replace(good, "\"billing-run\"", "\"a\\u0001b\"")));
  EXPECT_FALSE(decode(replace(good, "\"billing-run\"", "\"\"")));
  EXPECT_FALSE(decode(replace(good, "\"v\":1", "\"v\":2")));
  EXPECT_FALSE(decode(replace(good, "0f8fad5b", "0F8FAD5B")));
  EXPECT_FALSE(decode(replace(good, "\"complete\"", "\"done\"")));
  EXPECT_FALSE(decode(replace(good, "09:35:39.123Z", "09:35:39Z")));
  EXPECT_FALSE(decode(replace(good, "2026-11-21", "2026-02-30")));
  EXPECT_FALSE(decode(replace(good, "\"pid\":4242", "\"pid\":0")));
  EXPECT_FALSE(decode(replace(good, "\"pid\":4242", "\"pid\":4242.5")));
  EXPECT_FALSE(decode(replace(good, "\"uid\":1000", "\"uid\":-1")));
  EXPECT_FALSE(decode(replace(good, "\"uid\":1000", "\"uid\":18446744073709551615")));
  EXPECT_FALSE(decode(replace(good, "\"exit_code\":137", "\"exit_code\":256")));
  EXPECT_FALSE(decode(replace(good, "\"SIGKILL\"", "\"KILL\"")));
  EXPECT_FALSE(decode(replace(good, "\"oom\":true", "\"oom\":1")));
  EXPECT_FALSE(decode(replace(good, "\"duration_ms\":1234", "\"duration_ms\":-1")));
  std::string tail(kMaxOutputTailBytes + 1, 'x');
  EXPECT_FALSE(decode(replace(good, "\"output_tail\":\"", "\"output_tail\":\"" + tail)));
  EXPECT_FALSE(decode(replace(good, "\"count\":42", "\"count\":\"42\"")));
  EXPECT_FALSE(decode(replace(good, "\"count\":42", "\"9count\":42")));
  EXPECT_FALSE(decode(replace(good, "\"count\":42", "\"count\":{\"a\":[[[[1]]]]}")));
  std::string many;
  for (int i = 0; i < 33; ++i) many += "\"m" + std::to_string(i) + "\":1,";
  EXPECT_FALSE(decode(replace(good, "\"count\":42,", many)));
  EXPECT_FALSE(decode(std::string(kMaxLineBytes + 1, ' ')));
}

TEST(Event, MetricEventNeedsMetrics) {
  RunEvent e = sample(RunState::kMetric);
  e.metrics.clear();
  EXPECT_FALSE(decode(encode(e)));
}

TEST(Event, EncodeCutsAndSanitises) {
  RunEvent e = sample();
  e.key = std::string(300, 'k');
  e.host = std::string(1000, 'h');
  e.error = std::string(5000, 'e');
  e.env = std::string(100, 'p');
  e.output_tail = std::string(100000, 'a') + "THE END";
  e.metrics.clear();
  for (int i = 0; i < 50; ++i) e.metrics["m" + std::to_string(i)] = i;
  e.metrics["bad name"] = 1;
  e.metrics["nan"] = std::nan("");
  e.metrics["inf"] = std::numeric_limits<double>::infinity();
  std::string line = encode(e);
  auto d = decode(line);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->key.size(), kMaxKeyBytes);
  EXPECT_EQ(d->host.size(), kMaxHostBytes);
  EXPECT_EQ(d->error->size(), kMaxErrorBytes);
  EXPECT_EQ(d->env->size(), kMaxEnvBytes);
  EXPECT_EQ(d->output_tail.size(), kMaxOutputTailBytes);
  EXPECT_TRUE(d->output_tail.ends_with("THE END")) << "the tail keeps the end";
  EXPECT_EQ(d->metrics.size(), kMaxMetrics);
  EXPECT_EQ(d->metrics.count("bad name"), 0u);
  EXPECT_EQ(d->metrics.count("nan"), 0u);
}

TEST(Event, BinaryOutputBecomesValidUtf8) {
  RunEvent e = sample();
  std::string bin;
  for (int i = 0; i < 256; ++i) bin += static_cast<char>(i);
  e.output_tail = bin + "\xE2\x9C" /* cut sequence */ + "\xF4\x90\x80\x80" /* > U+10FFFF */ +
                  "\xED\xA0\x80" /* surrogate */ + "\xC0\xAF" /* overlong */;
  auto d = decode(encode(e));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_NE(d->output_tail.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(d->output_tail.substr(0, 128), bin.substr(0, 128)) << "ASCII and controls survive";
}

TEST(Event, WorstCaseLineFitsTheLimit) {
  RunEvent e = sample();
  e.key = std::string(kMaxKeyBytes, '"');
  e.host = std::string(kMaxHostBytes, '\x01');
  e.env = std::string(kMaxEnvBytes, '\x7f');
  e.error = std::string(kMaxErrorBytes, '\x02');
  e.output_tail = std::string(kMaxOutputTailBytes * 4, '\x1f');
  e.signal = std::string(16, '\x03');
  for (size_t i = 0; i < kMaxMetrics; ++i)
    e.metrics[std::string(kMaxMetricNameBytes - 3, 'm') + std::to_string(100 + i)] = -1.2345678901234567e-300;
  std::string line = encode(e);
  EXPECT_LE(line.size(), kMaxLineBytes);
}

// Property: for random hostile events, encode gives one line within the limit; when the
// identity fields are valid it decodes, and decode . encode is idempotent after one pass.
TEST(Event, RandomHostileValuesProperty) {
  std::mt19937_64 rng(20261121);
  auto bytes = [&](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 32 : rng() % 256);
    return s;
  };
  for (int i = 0; i < 2000; ++i) {
    RunEvent e = sample(static_cast<RunState>(rng() % 4));
    // Half the time a plausible key and host, so the decode side is exercised too.
    bool plausible = rng() % 2;
    e.key = plausible ? std::string(rng() % 200 + 1, static_cast<char>('a' + rng() % 26)) : bytes(300);
    e.host = plausible ? "host-" + std::to_string(rng()) : bytes(300);
    if (rng() % 2) e.env = bytes(100);
    if (is_terminal(e.state)) {
      e.output_tail = bytes(20000);
      if (rng() % 2) e.error = bytes(1000);
      e.metrics.clear();
      for (int m = rng() % 40; m > 0; --m) e.metrics[bytes(8)] = std::bit_cast<double>(static_cast<uint64_t>(rng()));
    }
    std::string line = encode(e);
    ASSERT_LE(line.size(), kMaxLineBytes);
    ASSERT_EQ(line.find('\n'), line.size() - 1);
    auto d = decode(line);
    if (!d) {
      EXPECT_FALSE(plausible) << d.error().message;
      continue;
    }
    auto again = decode(encode(*d));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, *d);
  }
}

// Property: flipping, cutting or duplicating bytes of a valid line never crashes decode, and
// whatever decodes re-encodes to a line that decodes to the same event.
TEST(Event, MutatedLinesProperty) {
  std::mt19937_64 rng(7);
  std::string good = encode(sample());
  for (int i = 0; i < 20000; ++i) {
    std::string s = good;
    for (int k = rng() % 4 + 1; k > 0; --k) {
      size_t p = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[p] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(p, rng() % 8);
          break;
        default:
          s.insert(p, s.substr(p, rng() % 16));
          break;
      }
      if (s.empty()) s = "{";
    }
    auto d = decode(s);
    if (!d) continue;
    auto again = decode(encode(*d));
    ASSERT_TRUE(again) << again.error().message << "\nfrom: " << s;
    EXPECT_EQ(*again, *d);
  }
}

TEST(Event, TimestampFormat) {
  EXPECT_EQ(format_timestamp_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp_ms(1795253739123), "2026-11-21T09:35:39.123Z");
  EXPECT_TRUE(valid_timestamp(format_timestamp_ms(1795253739123)));
  EXPECT_TRUE(valid_timestamp("2024-02-29T23:59:60.999Z"));
  EXPECT_FALSE(valid_timestamp("2023-02-29T00:00:00.000Z"));
  EXPECT_FALSE(valid_timestamp("2023-01-01T24:00:00.000Z"));
  EXPECT_FALSE(valid_timestamp("2023-01-01 00:00:00.000Z"));
}

}  // namespace
}  // namespace cronitor

namespace cronitor {
namespace {

// The fuzzer's seed corpus (tests/fuzz/event_corpus) holds valid lines: keep them valid.
TEST(Event, FuzzSeedCorpusDecodes) {
  for (const char* name : {"run.jsonl", "fail.jsonl", "metric.jsonl"}) {
    std::ifstream f(std::string(CRONITOR_SOURCE_DIR) + "/tests/fuzz/event_corpus/" + name);
    std::string line;
    ASSERT_TRUE(std::getline(f, line)) << name;
    auto e = decode(line);
    ASSERT_TRUE(e) << name << ": " << e.error().message;
    auto again = decode(encode(*e));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *e);
  }
}

}  // namespace
}  // namespace cronitor
