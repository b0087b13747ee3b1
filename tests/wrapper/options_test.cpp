// Command line of cronitor-exec.
#include "wrapper/options.h"

#include <gtest/gtest.h>

namespace cronitor::wrapper {
namespace {

Result<Options> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "cronitor-exec");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(Options, FullForm) {
  auto o = parse({"--env", "prod", "backup", "--no-output", "--timeout=90s", "--", "tar", "-c", "'/var/x y'"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->mode, Options::Mode::kRun);
  EXPECT_EQ(o->key, "backup");
  EXPECT_EQ(o->command, "tar -c '/var/x y'");
  EXPECT_TRUE(o->no_output);
  EXPECT_EQ(o->env, "prod");
  EXPECT_EQ(o->timeout_ms, 90000);
}

TEST(Options, CommandWithoutDashes) {
  auto o = parse({"k", "--timeout", "5m", "echo", "--not-an-option"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->command, "echo --not-an-option");
  EXPECT_EQ(o->timeout_ms, 300000);
}

TEST(Options, VersionAloneIsARequestNotAnError) {
  auto o = parse({"--version"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->mode, Options::Mode::kVersion);
  // After a KEY it is an unknown option; after "--" it belongs to the command.
  EXPECT_FALSE(parse({"k", "--version"}));
  auto cmd = parse({"k", "--", "tool", "--version"});
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->mode, Options::Mode::kRun);
  EXPECT_EQ(cmd->command, "tool --version");
}

TEST(Options, Errors) {
  EXPECT_FALSE(parse({}));
  EXPECT_FALSE(parse({"k"}));
  EXPECT_FALSE(parse({"k", "--"}));
  EXPECT_FALSE(parse({"k", "--bogus", "--", "true"}));
  EXPECT_FALSE(parse({"k", "--timeout", "soon", "--", "true"}));
  EXPECT_FALSE(parse({"k", "--env", "", "--", "true"}));
  EXPECT_FALSE(parse({"--metric", "9x=1"}));
  EXPECT_FALSE(parse({"--metric", "x=abc"}));
  EXPECT_FALSE(parse({"--metric", "x=inf"}));
  EXPECT_FALSE(parse({"--metric", "x=1", "k", "--", "true"}));
}

TEST(Options, Metrics) {
  auto o = parse({"--metric", "count=42", "--metric=error_count=-1.5e3"});
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->mode, Options::Mode::kMetric);
  ASSERT_EQ(o->metrics.size(), 2u);
  EXPECT_EQ(o->metrics[0], (std::pair<std::string, double>{"count", 42}));
  EXPECT_EQ(o->metrics[1].second, -1500);
}

TEST(Options, Durations) {
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
  EXPECT_EQ(parse_duration_ms("1.5"), 1500);
  EXPECT_EQ(parse_duration_ms("2h"), 7200000);
  EXPECT_EQ(parse_duration_ms("1d"), 86400000);
  EXPECT_FALSE(parse_duration_ms("0"));
  EXPECT_FALSE(parse_duration_ms("-1s"));
  EXPECT_FALSE(parse_duration_ms("31d"));
  EXPECT_FALSE(parse_duration_ms("5 m"));
  EXPECT_FALSE(parse_duration_ms(""));
}

}  // namespace
}  // namespace cronitor::wrapper
