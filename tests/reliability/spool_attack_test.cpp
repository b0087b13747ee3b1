// Issue 9 through the spool folder (mode 1733: every local user can drop files in it): planted
// runs of root's job, a flooding file, thousands of small files, garbage files.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "tests/reliability/attack_fixture.h"

namespace cronitor::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class SpoolAttack : public AttackFixture {
 protected:
  /// Writes `text` to spool/NAME as `user` (a file owned by them, as the wrapper makes it).
  void plant(const TempUser& user, const std::string& name, const std::string& text) {
    pid_t child = ::fork();
    if (child == 0) {
      user.become();
      int fd = ::open((spool_ + "/" + name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) ::_exit(1);
      size_t off = 0;
      while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n <= 0) ::_exit(2);
        off += static_cast<size_t>(n);
      }
      ::_exit(::close(fd) == 0 ? 0 : 3);
    }
    int st = 0;
    ::waitpid(child, &st, 0);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << name;
  }
  /// Plants `files` files at once (one child), each with one complete event of `key`.
  void plant_many(const TempUser& user, const std::string& key, int first, int files) {
    pid_t child = ::fork();
    if (child == 0) {
      user.become();
      for (int i = first; i < first + files; ++i) {
        auto e = event(key, cronitor::RunState::kComplete, user.uid(), i);
        int fd = ::open((spool_ + "/" + e.run_id + ".jsonl").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) ::_exit(1);
        const std::string line = cronitor::encode(e);
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(2);
        ::close(fd);
      }
      ::_exit(0);
    }
    int st = 0;
    ::waitpid(child, &st, 0);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  size_t runs_of(const std::string& key) {
    auto h = json::parse(
        send_line_as(nullptr, socket_, "{\"control\":\"history\",\"key\":\"" + key + "\",\"limit\":10000}\n"), nullptr,
        false);
    return h.is_object() && h["runs"].is_array() ? h["runs"].size() : 0;
  }
  size_t log_count(const std::string& text) const {
    const std::string log = agent_.log();
    size_t n = 0;
    for (size_t p = 0; (p = log.find(text, p)) != std::string::npos; p += text.size()) ++n;
    return n;
  }
};

TEST_F(SpoolAttack, PlantedRunsOfRootsJobAreRefused) {
  start();
  auto run = event("root-backup", cronitor::RunState::kRun, mallory_->uid(), 1);
  auto fail = event("root-backup", cronitor::RunState::kFail, mallory_->uid(), 1);
  plant(*mallory_, run.run_id + ".jsonl", cronitor::encode(run) + cronitor::encode(fail));
  ASSERT_TRUE(wait_until([&] { return spool_files(spool_) == 0; }, 10s)) << agent_.log();
  ASSERT_TRUE(agent_.wait_for_log("refusing the file")) << agent_.log();
  // Mallory's own job, the same way: stored and alerted (so a root-backup alert would be in by now).
  auto own = event("mallory-sync", cronitor::RunState::kFail, mallory_->uid(), 2);
  plant(*mallory_, own.run_id + ".jsonl", cronitor::encode(own));
  ASSERT_FALSE(slack_->wait_for_body("mallory-sync failed", 10s).is_null()) << agent_.log();
  EXPECT_EQ(slack_count("root-backup"), 0u) << agent_.log();
  EXPECT_EQ(slack_count("evil"), 0u) << "the host name in alerts is the agent's own";
  EXPECT_EQ(runs_of("root-backup"), 0u);
}

TEST_F(SpoolAttack, FloodsObeyThePerUserRateLimit) {
  start();
  // One file of 3,001 events: a run file holds a run's few events, so it is refused whole.
  std::string flood;
  for (int i = 0; i < 3001; ++i)
    flood += cronitor::encode(event("mallory-flood", cronitor::RunState::kComplete, mallory_->uid(), 100000 + i));
  plant(*mallory_, "00000000-0000-4000-8000-0000000f100d.jsonl", flood);
  ASSERT_TRUE(wait_until([&] { return spool_files(spool_) == 0; }, 10s)) << agent_.log();
  const size_t from_file = runs_of("mallory-flood");
  std::printf("events accepted from one flooding spool file (3001 lines, %zu KB): %zu\n", flood.size() >> 10,
              from_file);
  EXPECT_EQ(from_file, 0u);
  // 4,000 files of one event each: 2,000 at once (the burst), then 200 a second.
  const auto t0 = std::chrono::steady_clock::now();
  plant_many(*mallory_, "mallory-flood", 0, 4000);
  const double planted = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(1s);  // what one second of flooding gets in (a bound, not a timing)
  const size_t first = runs_of("mallory-flood");
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Meanwhile bob's run goes through the spool (the agent's socket unreachable for his wrapper).
  auto env = wrapper_env();
  env[0] = "CRONITOR_SOCKET=" + dir_ + "/nowhere.sock";
  ASSERT_EQ(run_as(bob_.get(), {exec_bin_, "bob-report", "--", "exit 5"}, env), 5);
  ASSERT_FALSE(slack_->wait_for_body("bob-report failed", 5s).is_null()) << "bob waited behind mallory's flood\n"
                                                                         << agent_.log();
  std::printf("4000 one-event spool files of one user: %zu stored after %.1f s (planted in %.1f s)\n", first, elapsed,
              planted);
  EXPECT_LE(first, static_cast<size_t>(2000 + 200 * (elapsed + 0.5)));
  EXPECT_LT(first, 4000u);
  // Nothing is lost: the rest is stored as the budget refills.
  ASSERT_TRUE(wait_until([&] { return runs_of("mallory-flood") == 4000; }, 30s)) << runs_of("mallory-flood");
  EXPECT_EQ(spool_files(spool_), 0u);
  EXPECT_LE(log_count("wait for its rate limit"), 2u) << "one line when a uid starts waiting, not one per drain";
}

TEST_F(SpoolAttack, RefusedFilesAreLoggedOnceAndRemoved) {
  start();
  for (int i = 0; i < 100; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%08d-0000-4000-8000-000000000bad.jsonl", i);
    plant(*mallory_, name, "not json at all\n{\"v\":1}\n");
  }
  ASSERT_TRUE(wait_until([&] { return spool_files(spool_) == 0; }, 10s)) << agent_.log();
  // 50 honest runs through the spool, each one a drain of the folder.
  auto env = wrapper_env();
  env[0] = "CRONITOR_SOCKET=" + dir_ + "/nowhere.sock";
  for (int i = 0; i < 50; ++i) ASSERT_EQ(run_as(bob_.get(), {exec_bin_, "bob-report", "--", "true"}, env), 0);
  ASSERT_TRUE(wait_until([&] { return runs_of("bob-report") == 50; }, 10s)) << agent_.log();
  const size_t refused = log_count("refusing the file");
  const size_t lines = log_count("\n");
  std::printf("100 planted garbage files, 50 honest spooled runs: %zu refusals logged, %zu log lines\n", refused,
              lines);
  EXPECT_EQ(refused, 100u);
  EXPECT_LT(lines, 300u);
}

}  // namespace
}  // namespace cronitor::testing
