// Issue 9, item 7: a token in a notify URL's userinfo never reaches output or the log, and
// check-config refuses URLs that could never be sent to, naming file:line.
#include <gtest/gtest.h>

#include "tests/reliability/attack_fixture.h"

namespace cronitor::testing {
namespace {

using namespace std::chrono_literals;

class Secrets : public AttackFixture {};

TEST_F(Secrets, CredentialsInUrlsAreMaskedInTestAlertAndTheLog) {
  // Port 1 on loopback: nothing listens, every send fails and is retried (and logged).
  const std::string hook = "webhook:http://alert:S3CRETTOKEN@127.0.0.1:1/hook?token=QUERYTOKEN";
  start("  - key: failing\n    schedule: every 1 hour\n    notify: [\"" + hook + "\"]\n", false);
  const std::string cmd = agent_bin_ + " test-alert --config " + dir_ + "/agent.yaml '" + hook + "' 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  EXPECT_NE(WEXITSTATUS(::pclose(p)), 0) << out;
  EXPECT_NE(out.find("FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("http://***@127.0.0.1:1/..."), std::string::npos) << out;
  EXPECT_EQ(out.find("S3CRETTOKEN"), std::string::npos) << out;
  EXPECT_EQ(out.find("QUERYTOKEN"), std::string::npos) << out;
  // The daemon: an alert whose sends fail, logged at each retry without the token.
  ASSERT_EQ(run_as(nullptr, {exec_bin_, "failing", "--", "exit 1"}, wrapper_env()), 1);
  ASSERT_TRUE(agent_.wait_for_log("will retry", 15s)) << agent_.log();
  EXPECT_EQ(agent_.log().find("S3CRETTOKEN"), std::string::npos) << agent_.log();
  EXPECT_EQ(agent_.log().find("QUERYTOKEN"), std::string::npos) << agent_.log();
}

TEST_F(Secrets, CheckConfigRefusesBrokenUrlsWithFileAndLine) {
  std::ofstream(dir_ + "/bad.yaml") << "notify:\n  ops:\n    - \"webhook:http://[::1/x\"\n"
                                    << "    - \"slack:https://hooks.example.com/a b\"\n";
  const std::string cmd = agent_bin_ + " check-config " + dir_ + "/bad.yaml 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int st = ::pclose(p);
  EXPECT_NE(WEXITSTATUS(st), 0) << out;
  EXPECT_NE(out.find("bad.yaml:3:"), std::string::npos) << out;
  EXPECT_NE(out.find("bad.yaml:4:"), std::string::npos) << out;
}

}  // namespace
}  // namespace cronitor::testing
