#include "common/url_text.h"

#include <gtest/gtest.h>

#include "agent/config/config.h"

namespace cronitor::agent {
namespace {

TEST(UrlText, CredentialsPathAndQueryAreNeverShown) {
  EXPECT_EQ(redact_url("http://user:TOKEN@hooks.example.com/services/T/B/X?token=abc"),
            "http://***@hooks.example.com/...");
  EXPECT_EQ(redact_url("https://hooks.slack.com/services/T/B/X"), "https://hooks.slack.com/...");
  EXPECT_EQ(redact_url("http://[::1]:8080"), "http://[::1]:8080");
  auto t = NotifyTarget::parse("webhook:http://user:TOKEN@127.0.0.1:1/hook");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->redacted().find("TOKEN"), std::string::npos) << t->redacted();
  EXPECT_EQ(t->redacted().find("user"), std::string::npos) << t->redacted();
}

TEST(UrlText, BrokenUrlsAreRefusedWithoutTheirSecret) {
  for (const char* bad :
       {"http://[::1/x", "http://exa mple.com/x", "https://example.com/a b", "http://:80/x", "http://host:99999/",
        "http://host:x/", "http://[zz]/", "https://ex\"ample.com/", "http://host/%zz"}) {
    EXPECT_FALSE(check_url(bad)) << bad;
    auto t = NotifyTarget::parse(std::string("slack:") + bad);
    EXPECT_FALSE(t) << bad;
  }
  for (const char* good : {"http://[::1]:8080/x", "https://hooks.slack.com/services/T0/B0/XyZ", "http://127.0.0.1:1",
                           "https://u:p%40ss@example.com/a?b=c&d=e#f"})
    EXPECT_TRUE(check_url(good)) << good;
  auto t = NotifyTarget::parse("slack:https://u:SECRET@exa mple.com/x");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message.find("SECRET"), std::string::npos) << t.error().message;
}

TEST(UrlText, CheckConfigNamesTheLineOfABadUrl) {
  auto c = parse_config("notify:\n  ops:\n    - \"webhook:http://[::1/x\"\n", "agent.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error()[0].text().rfind("agent.yaml:3:", 0), 0u) << c.error()[0].text();
}

TEST(MonitorUser, ConfigMonitorsBelongToRootUnlessUserIsSet) {
  auto c =
      parse_config("monitors:\n  - key: a\n  - key: b\n    user: \"4321\"\n  - key: c\n    user: \"no such\"\n", "f");
  ASSERT_FALSE(c) << "a user name with a space is refused";
  c = parse_config("monitors:\n  - key: a\n  - key: b\n    user: \"4321\"\n  - key: c\n    user: root\n", "f");
  ASSERT_TRUE(c) << format_errors(c.error());
  EXPECT_FALSE(c->monitors[0].user);
  EXPECT_EQ(*c->monitors[1].user, "4321");
}

}  // namespace
}  // namespace cronitor::agent
