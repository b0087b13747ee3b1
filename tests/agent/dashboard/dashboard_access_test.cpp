// Who may see the dashboard (agent/dashboard/access.h): the 0600 token file, sessions, CSRF.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/dashboard/access.h"
#include "tests/agent/test_values.h"

namespace cronitor::agent::dashboard {
namespace {

using test_values::kDashboardNow;

using namespace std::chrono_literals;

class TokenFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dash-access-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/" + std::string(kTokenFile);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(TokenFile, CreatedOnceMode0600AndReadBack) {
  auto t = load_or_create_token(path_);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_token(path_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *t);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".new"));
}

TEST_F(TokenFile, RotateWritesADifferentToken) {
  auto t = load_or_create_token(path_);
  auto r = rotate_token(path_);
  ASSERT_TRUE(t && r);
  EXPECT_NE(*t, *r);
  EXPECT_EQ(*load_or_create_token(path_), *r);
}

TEST_F(TokenFile, ReadableByOthersOrEmptyOrSymlinkIsRefused) {
  ASSERT_TRUE(load_or_create_token(path_));
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto loose = load_or_create_token(path_);
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().message.find("0600"), std::string::npos);
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  { std::ofstream(path_, std::ios::trunc) << "short\n"; }
  EXPECT_FALSE(load_or_create_token(path_));
  std::filesystem::remove(path_);
  std::filesystem::create_symlink("/etc/hostname", path_);
  EXPECT_FALSE(load_or_create_token(path_));
}

TEST(DashboardAccess, WrongTokenGetsNoSession) {
  Access a(std::string(64, 'a'));
  EXPECT_FALSE(a.login(std::string(64, 'b'), kDashboardNow));
  EXPECT_FALSE(a.login(std::string(63, 'a'), kDashboardNow));
  EXPECT_FALSE(a.login("", kDashboardNow));
  EXPECT_EQ(a.session_count(), 0u);
  Access empty("");
  EXPECT_FALSE(empty.login("", kDashboardNow));
}

TEST(DashboardAccess, SessionCookieIsRandomHttpOnlyStrict) {
  Access a(std::string(64, 'a'));
  auto s1 = a.login(std::string(64, 'a'), kDashboardNow);
  auto s2 = a.login(std::string(64, 'a'), kDashboardNow);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(s1->id.size(), 64u);
  EXPECT_NE(s1->id, s2->id);
  EXPECT_NE(s1->csrf, s1->id);
  const std::string c = Access::set_cookie(*s1);
  EXPECT_TRUE(c.starts_with("cronitor_session=" + s1->id + ";"));
  EXPECT_NE(c.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(c.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(c.find("; Path=/"), std::string::npos);
}

TEST(DashboardAccess, RequestsNeedALiveSession) {
  Access a(std::string(64, 'a'));
  auto s = a.login(std::string(64, 'a'), kDashboardNow);
  ASSERT_TRUE(s);
  const std::string cookie = "theme=dark; cronitor_session=" + s->id;
  EXPECT_EQ(a.check("GET", cookie, "", kDashboardNow), Verdict::kAllow);
  EXPECT_EQ(a.check("GET", "", "", kDashboardNow), Verdict::kUnauthorized);
  EXPECT_EQ(a.check("GET", "cronitor_session=" + std::string(64, '0'), "", kDashboardNow), Verdict::kUnauthorized);
  EXPECT_EQ(a.check("GET", "cronitor_session=" + s->id.substr(1), "", kDashboardNow), Verdict::kUnauthorized);
  EXPECT_EQ(a.check("GET", "xcronitor_session=" + s->id, "", kDashboardNow), Verdict::kUnauthorized);
  // Sessions end after their lifetime, and when the token is rotated.
  EXPECT_EQ(a.check("GET", cookie, "", kDashboardNow + kSessionLifetime), Verdict::kUnauthorized);
  a.set_token(std::string(64, 'c'));
  EXPECT_EQ(a.check("GET", cookie, "", kDashboardNow), Verdict::kUnauthorized);
  EXPECT_FALSE(a.login(std::string(64, 'a'), kDashboardNow));
  EXPECT_TRUE(a.login(std::string(64, 'c'), kDashboardNow));
  EXPECT_FALSE(kLoginHint.empty());
  EXPECT_EQ(kLoginHint.find('\n'), kLoginHint.size() - 1);  // one line
}

TEST(DashboardAccess, PostNeedsTheSessionsCsrfToken) {
  Access a(std::string(64, 'a'));
  auto s = a.login(std::string(64, 'a'), kDashboardNow);
  auto other = a.login(std::string(64, 'a'), kDashboardNow);
  ASSERT_TRUE(s && other);
  const std::string cookie = "cronitor_session=" + s->id;
  EXPECT_EQ(a.check("POST", cookie, s->csrf, kDashboardNow), Verdict::kAllow);
  EXPECT_EQ(a.check("POST", cookie, "", kDashboardNow), Verdict::kForbidden);
  EXPECT_EQ(a.check("POST", cookie, other->csrf, kDashboardNow), Verdict::kForbidden);
  EXPECT_EQ(a.check("DELETE", cookie, "", kDashboardNow), Verdict::kForbidden);
  EXPECT_EQ(a.check("POST", "", s->csrf, kDashboardNow), Verdict::kUnauthorized);
}

TEST(DashboardAccess, SessionsAreBounded) {
  Access a(std::string(64, 'a'));
  auto first = a.login(std::string(64, 'a'), kDashboardNow);
  for (size_t i = 0; i < kMaxSessions; ++i) ASSERT_TRUE(a.login(std::string(64, 'a'), kDashboardNow));
  EXPECT_EQ(a.session_count(), kMaxSessions);
  EXPECT_EQ(a.session("cronitor_session=" + first->id, kDashboardNow), nullptr);  // the oldest ended
  a.expire(kDashboardNow + kSessionLifetime);
  EXPECT_EQ(a.session_count(), 0u);
}

TEST(DashboardAccess, CookieValueParsing) {
  EXPECT_EQ(cookie_value("a=1; cronitor_session=XYZ; b=2", kCookieName), "XYZ");
  EXPECT_EQ(cookie_value("cronitor_session=", kCookieName), "");
  EXPECT_EQ(cookie_value("a=1", kCookieName), "");
  EXPECT_TRUE(equal_secret("abc", "abc"));
  EXPECT_FALSE(equal_secret("abc", "abd"));
  EXPECT_FALSE(equal_secret("abc", "abcd"));
}

}  // namespace
}  // namespace cronitor::agent::dashboard
