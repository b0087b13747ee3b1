// Differential tests of decode (issue 20): decode of common/event.cpp against the DOM decoder it
// replaced (event_decode_reference.h). For every line both accept it with the same event, or both
// reject it with the same message; and of the two JSON parsers under decode (simdjson, then
// nlohmann_json for what simdjson refuses: common/event_json.h), simdjson accepts a line only when
// nlohmann does. Lines: the fuzzer's corpus, every field of a valid event of each state removed,
// retyped, out of range, repeated or nested, hostile metrics, broken JSON, and seeded random
// mutations. EVENT_DIFF_CORPUS=DIR adds every file of DIR (a fuzzer's working corpus,
// build-fuzz/corpus/event_fuzz).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/event.h"
#include "common/event_json.h"
#include "tests/common/event_decode_reference.h"

namespace cronitor {
namespace {

namespace fs = std::filesystem;

struct Tally {
  size_t lines = 0, accepted = 0;
  size_t by_simdjson = 0;          // lines decode's first parser accepted
  std::set<std::string> messages;  // the distinct refusals seen
};

// Both decoders on one line; a mismatch fails the test with the line. The JSON text decode parses
// (a line without its "\n", nesting no deeper than decode lets through) is also given to both JSON
// parsers: simdjson must accept it only when nlohmann_json does. It refuses some text nlohmann
// accepts (integers beyond 64 bits, a UTF-8 byte order mark, a NUL after the value): decode then
// asks nlohmann, as before, and those lines are only slower.
void same(std::string_view line, Tally& t) {
  std::string_view text = line;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.size() <= kFastJsonBytes && nesting_depth(text) <= kMaxNesting) {
    const bool fast = fast_json_accepts(text);
    const bool slow = nlohmann::json::accept(text.begin(), text.end());
    t.by_simdjson += fast;
    ASSERT_TRUE(!fast || slow) << "simdjson accepts what nlohmann_json refuses: " << line;
  }
  auto want = reference_decode(line);
  auto got = decode(line);
  ++t.lines;
  if (want) {
    ++t.accepted;
    ASSERT_TRUE(got) << "SAX refuses (" << got.error().message << ") what the DOM accepts: " << line;
    ASSERT_EQ(*got, *want) << line;
  } else {
    ASSERT_FALSE(got) << "SAX accepts what the DOM refuses (" << want.error().message << "): " << line;
    ASSERT_EQ(got.error().message, want.error().message) << line;
    t.messages.insert(want.error().message);
  }
}

// An object as raw JSON text: members in order, repeated keys allowed.
using Members = std::vector<std::pair<std::string, std::string>>;

std::string object(const Members& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ',';
    out += "\"" + k + "\":" + v;
  }
  return out + "}";
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

Members valid(RunState s) {
  Members m = {{"v", "1"},
               {"key", quote("billing-run")},
               {"run_id", quote("0f8fad5b-d9cb-469f-a165-70867728950e")},
               {"state", quote(std::string(to_string(s)))},
               {"ts", quote("2026-11-21T09:35:39.123Z")},
               {"host", quote("web-1")},
               {"pid", "4242"},
               {"uid", "1000"},
               {"env", quote("production")}};
  if (s == RunState::kRun) m.emplace_back("wrapper_pid", "4241");
  if (is_terminal(s)) {
    Members t = {{"exit_code", "137"},
                 {"signal", quote("SIGKILL")},
                 {"oom", "true"},
                 {"timeout", "false"},
                 {"duration_ms", "1234"},
                 {"output_tail", quote("line 1\\n\\u0000 \\ud83d\\ude00 \\\"x\\\"")},
                 {"error", "null"},
                 {"peak_memory_bytes", "67108864"},
                 {"metrics", R"({"count":42,"error_count":0.5,"neg":-3})"}};
    m.insert(m.end(), t.begin(), t.end());
  }
  if (s == RunState::kMetric) m.emplace_back("metrics", R"({"count":7})");
  return m;
}

// Values every field is tried with: each JSON type, the edges of every range the format has,
// integers that only fit unsigned or only a double, floats for integers, escapes and NULs.
std::vector<std::string> hostile_values() {
  std::vector<std::string> v = {
      "null",
      "true",
      "false",
      "0",
      "-0",
      "1",
      "-1",
      "2",
      "127",
      "255",
      "256",
      "1000",
      "1001",
      "4241",
      "2147483647",
      "2147483648",
      "-2147483648",
      "4294967294",
      "4294967295",
      "9007199254740992",
      "9007199254740993",
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775808",
      "-9223372036854775809",
      "18446744073709551615",
      "18446744073709551616",
      "1e400",
      "-1e400",
      "1.0",
      "1.5",
      "-0.0",
      "1e2",
      "1E+2",
      "4242.0",
      "0.5",
      "1e300",
      "-1e-300",
      "01",
      "+1",
      ".5",
      "NaN",
      "Infinity",
      "0x10",
      "\"\"",
      "\"x\"",
      "\"1\"",
      "\"SIGKILL\"",
      "\"SIG\"",
      "\"SIGX\"",
      "\"KILL\"",
      "\"run\"",
      "\"complete\"",
      "\"fail\"",
      "\"metric\"",
      "\"unknown\"",
      "\"RUN\"",
      "\"a\\u0000b\"",
      "\"\\u0000\"",
      "\"a\\u0001b\"",
      "\"\\u0076\"",
      "\"\\ud83d\\ude00\"",
      "\"\\ud83d\"",
      "\"\\ude00\"",
      "\"\\ude00\\ud83d\"",
      "\"\\ud83d\\u0041\"",
      "\"\\ud83d\\ud83d\"",
      "\"\\udbff\\udfff\"",
      "\"\\u12\"",
      "\"\\uZZZZ\"",
      "\"\\x41\"",
      "\"\\/\\b\\f\\r\"",
      "\"\xc0\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x8f\xbf\xbf\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf8\x88\x80\x80\x80\"",
      "\"\xe2\x82\"",
      "\"raw\ttab\"",
      "\"raw\x1f\"",
      "1e-400",
      "-1e-400",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "4.9e-324",
      "123456789012345678901234567890",
      "-123456789012345678901234567890",
      "0." + std::string(800, '0') + "1",
      "1" + std::string(400, '0'),
      "1E",
      "1e+",
      "-",
      "--1",
      "-01",
      "1.e5",
      "00",
      "\"\\u00e9\"",
      "\"\xc3\xa9\"",
      "\"\xff\"",
      "\"tab\\tx\"",
      "\"del\x7f\"",
      "\"2026-11-21T09:35:39.123Z\"",
      "\"0f8fad5b-d9cb-469f-a165-70867728950e\"",
      "\"0F8FAD5B-d9cb-469f-a165-70867728950e\"",
      "\"production\"",
      "[]",
      "[1]",
      "[[1]]",
      "[[[1]]]",
      "{}",
      "{\"a\":1}",
      "{\"a\":[1]}",
      "{\"a\":{\"b\":1}}",
      "{\"a\":[[1]]}",
      "{\"count\":1}",
      "{\"count\":\"1\"}",
      "{\"9x\":1}",
      "{\"x\":null}",
      "{\"x\":true}",
      "{\"x\":1e300}",
      "{\"x\":18446744073709551615}",
      "{\"x\":1,\"x\":\"s\"}",
      "{\"x\":\"s\",\"x\":1}",
      "{\"b\":\"s\",\"a!\":1}",
      "{\"b\":[],\"a\":{}}",
      "{\"\":1}",
      "{\"a\\u0000\":1}",
      "1 2",
      "\"unterminated",
      "[1,]",
      "{\"a\":1,}",
      "tru",
      "nul",
  };
  for (size_t n :
       {15, 16, 17, 23, 24, 25, 35, 36, 37, 63, 64, 65, 199, 200, 201, 254, 255, 256, 511, 512, 513, 8191, 8192, 8193})
    v.push_back(quote(std::string(n, 'a')));
  v.push_back(quote(std::string(200, '\x01')));
  v.push_back(quote("SIG" + std::string(13, 'K')));
  v.push_back(quote("SIG" + std::string(14, 'K')));
  std::string escapes;
  for (int i = 0; i < 3000; ++i) escapes += "\\u00e9";  // 6,000 bytes of UTF-8 from 18,000 of text
  v.push_back(quote(escapes));
  return v;
}

std::vector<std::string> keys_of(const Members& m) {
  std::vector<std::string> k;
  for (const auto& [name, value] : m) k.push_back(name);
  for (const char* extra : {"v", "wrapper_pid", "exit_code", "signal", "oom", "timeout", "duration_ms", "output_tail",
                            "error", "peak_memory_bytes", "metrics", "env", "unknown", "V", "Key", ""})
    if (std::find(k.begin(), k.end(), extra) == k.end()) k.push_back(extra);
  return k;
}

TEST(EventDecodeDiff, FuzzCorpus) {
  Tally t;
  std::vector<fs::path> dirs = {fs::path(CRONITOR_SOURCE_DIR) / "tests/fuzz/event_corpus"};
  if (const char* extra = std::getenv("EVENT_DIFF_CORPUS")) dirs.emplace_back(extra);
  for (const auto& dir : dirs) {
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      const std::string whole = bytes.str();
      same(whole, t);  // what the fuzzer feeds: the file's bytes
      std::istringstream lines(whole);
      for (std::string line; std::getline(lines, line);) same(line, t);
      if (HasFatalFailure()) return;
    }
  }
  std::printf("fuzz corpus: %zu lines, %zu accepted, %zu distinct refusals, %zu parsed by simdjson\n", t.lines,
              t.accepted, t.messages.size(), t.by_simdjson);
  EXPECT_GT(t.by_simdjson, 0u);
  EXPECT_GE(t.accepted, 3u);
}

TEST(EventDecodeDiff, EveryFieldRemovedRetypedRepeatedAndNested) {
  Tally t;
  const auto values = hostile_values();
  for (RunState s : {RunState::kRun, RunState::kComplete, RunState::kFail, RunState::kMetric}) {
    const Members good = valid(s);
    same(object(good), t);
    same(object(good) + "\n", t);
    ASSERT_TRUE(decode(object(good))) << object(good);
    for (const std::string& key : keys_of(good)) {
      Members without;
      for (const auto& m : good)
        if (m.first != key) without.push_back(m);
      same(object(without), t);
      for (const std::string& value : values) {
        Members set = without;  // the field with another value, at the end
        set.emplace_back(key, value);
        same(object(set), t);
        Members after = good;  // repeated: the last one wins
        after.emplace_back(key, value);
        same(object(after), t);
        Members before = good;
        before.insert(before.begin(), {key, value});
        same(object(before), t);
        if (HasFatalFailure()) return;
      }
    }
  }
  std::printf("fields: %zu lines, %zu accepted, %zu distinct refusals, %zu parsed by simdjson\n", t.lines, t.accepted,
              t.messages.size(), t.by_simdjson);
  EXPECT_GT(t.by_simdjson, 0u);
  EXPECT_GT(t.accepted, 100u);
}

TEST(EventDecodeDiff, Metrics) {
  Tally t;
  const std::vector<std::string> values = {"1",  "-1",  "0.5",   "1e300",    "18446744073709551615",
                                           "-0", "1.0", "\"1\"", "null",     "true",
                                           "[]", "{}",  "[1]",   "{\"a\":1}"};
  const std::vector<std::string> names = {"a",
                                          "_a",
                                          "A.b-c_9",
                                          "9a",
                                          ".a",
                                          "-a",
                                          "",
                                          "a b",
                                          "a\\u0000",
                                          std::string(64, 'm'),
                                          std::string(65, 'm'),
                                          "\\u00e9",
                                          "\\u0061"};
  for (RunState s : {RunState::kComplete, RunState::kMetric}) {
    Members good = valid(s);
    auto with_metrics = [&](const std::string& metrics) {
      Members m = good;
      for (auto& [k, v] : m)
        if (k == "metrics") v = metrics;
      return object(m);
    };
    for (const auto& n : names)
      for (const auto& v : values) {
        same(with_metrics("{\"" + n + "\":" + v + "}"), t);
        same(with_metrics("{\"z\":1,\"" + n + "\":" + v + "}"), t);
        same(with_metrics("{\"" + n + "\":" + v + ",\"b\":\"x\"}"), t);
        same(with_metrics("{\"" + n + "\":\"x\",\"" + n + "\":" + v + "}"), t);  // the last one wins
        same(with_metrics("{\"" + n + "\":" + v + ",\"" + n + "\":2}"), t);
      }
    for (int count : {0, 1, 31, 32, 33, 40}) {
      std::string m = "{";
      for (int i = 0; i < count; ++i) m += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":" + std::to_string(i);
      same(with_metrics(m + "}"), t);
      if (count > 0) same(with_metrics(m + ",\"m0\":5}"), t);  // 33 names, 32 distinct
      if (count > 0) same(with_metrics(m + ",\"m0\":\"x\"}"), t);
    }
    // A second "metrics" object replaces the first whole, whichever is valid.
    Members twice = good;
    twice.emplace_back("metrics", R"({"b":2})");
    same(object(twice), t);
    twice.back().second = R"({"9bad":1})";
    same(object(twice), t);
    twice.back().second = "[1]";
    same(object(twice), t);
    twice.back().second = "{}";
    same(object(twice), t);
    if (HasFatalFailure()) return;
  }
  std::printf("metrics: %zu lines, %zu accepted, %zu distinct refusals, %zu parsed by simdjson\n", t.lines, t.accepted,
              t.messages.size(), t.by_simdjson);
  EXPECT_GT(t.by_simdjson, 0u);
  EXPECT_GT(t.accepted, 50u);
}

TEST(EventDecodeDiff, BrokenAndOddLines) {
  Tally t;
  const std::string good = object(valid(RunState::kComplete));
  const std::vector<std::string> lines = {"",
                                          "\n",
                                          " ",
                                          "{",
                                          "}",
                                          "{}",
                                          "[]",
                                          "[{}]",
                                          "null",
                                          "1",
                                          "\"x\"",
                                          "true",
                                          "not json",
                                          "[1,2]",
                                          good + good,
                                          good + "\n" + good,
                                          good + "\n\n",
                                          good + " ",
                                          " " + good,
                                          "\t" + good + "\r",
                                          good + "\r\n",
                                          good + "x",
                                          good + "{}",
                                          good + "/* c */",
                                          "\xef\xbb\xbf" + good,
                                          "{\"v\":1,}",
                                          "{\"v\":1 \"key\":2}",
                                          "{\"v\":[[[1]]]}",
                                          "{\"v\":[[1]]}",
                                          "{\"metrics\":{\"a\":[[1]]}}",
                                          "{\"a\":\"[[[[\"}",
                                          "{\"a\":\"\\\"[[[[\"}",
                                          "[[[[",
                                          "]]]]{",
                                          "{\"a\":\"\\\\\"[[[[\"}",
                                          "{\"v\":1}\x00",
                                          std::string("{\"v\":1}\0", 8),
                                          std::string(kMaxLineBytes, ' '),
                                          std::string(kMaxLineBytes + 1, ' '),
                                          std::string(kMaxLineBytes - 1, ' ') + "\n",
                                          good.substr(0, good.size() - 1),
                                          good.substr(1)};
  for (const auto& l : lines) same(l, t);
  // Every prefix of a valid line, and the line with each byte removed.
  for (size_t n = 0; n <= good.size(); ++n) {
    same(good.substr(0, n), t);
    if (n < good.size()) same(good.substr(0, n) + good.substr(n + 1), t);
  }
  // Padded to the line limit, either side of it.
  for (size_t pad : {kMaxLineBytes - good.size() - 1, kMaxLineBytes - good.size(), kMaxLineBytes - good.size() + 1}) {
    std::string l = good;
    l.insert(1, pad, ' ');
    same(l, t);
    same(l + "\n", t);
  }
  std::printf("broken lines: %zu lines, %zu accepted, %zu distinct refusals, %zu parsed by simdjson\n", t.lines,
              t.accepted, t.messages.size(), t.by_simdjson);
  EXPECT_GT(t.by_simdjson, 0u);
}

// Seeded random edits of valid lines (bytes flipped, cut, repeated, or a value from the hostile
// list spliced in), as the fuzzer would make them, and random events through encode.
TEST(EventDecodeDiff, RandomMutations) {
  Tally t;
  std::mt19937_64 rng(21);
  const auto values = hostile_values();
  std::vector<std::string> goods;
  for (RunState s : {RunState::kRun, RunState::kComplete, RunState::kFail, RunState::kMetric})
    goods.push_back(object(valid(s)));
  const char kJsonBytes[] = "{}[]\":,\\0123456789.eE-+ntrufalsu\x00\x01\x7f\xc3\xa9\xff";
  for (int i = 0; i < 200000; ++i) {
    std::string s = goods[rng() % goods.size()];
    for (int k = rng() % 4 + 1; k > 0; --k) {
      size_t p = rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0:
          if (p < s.size()) s[p] = static_cast<char>(rng());
          break;
        case 1:
          if (p < s.size()) s[p] = kJsonBytes[rng() % (sizeof kJsonBytes - 1)];
          break;
        case 2:
          s.erase(std::min(p, s.size()), rng() % 8);
          break;
        case 3:
          s.insert(p, s.substr(std::min(p, s.size()), rng() % 16));
          break;
        default: {
          // Replace the value after a ':' with a hostile one.
          size_t colon = s.find(':', p);
          if (colon == std::string::npos) break;
          size_t end = s.find_first_of(",}", colon + 1);
          if (end == std::string::npos) break;
          s.replace(colon + 1, end - colon - 1, values[rng() % values.size()]);
          break;
        }
      }
    }
    same(s, t);
    if (HasFatalFailure()) return;
  }
  std::printf("mutations: %zu lines, %zu accepted, %zu distinct refusals, %zu parsed by simdjson\n", t.lines,
              t.accepted, t.messages.size(), t.by_simdjson);
  EXPECT_GT(t.by_simdjson, 0u);
  EXPECT_GT(t.accepted, 1000u);
}

}  // namespace
}  // namespace cronitor
