// Names discovery gives jobs: the admin's own (`# Name:`, `# cronitor: name=`) as written, and
// derived names that tell two jobs apart (issue 13 item 15); a file edit that only moves lines
// is no change of its jobs (issue 10 item 12).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "discovery/scanner.h"
#include "memory_root.h"
#include "test_util.h"

namespace cronitor::discovery {
namespace {

using testing::job_at;
TEST(JobNames, CronitorCommentNameIsTheJobsName) {
  testing::MemoryRoot mem;
  mem.add("/etc/cron.d/walk",
          "# cronitor: grace=10m name=walk-e-hung\n"
          "*/5 * * * * root echo walking > /tmp/walk\n"
          "# cronitor: name=\"Nightly report\" notify=ops\n"
          "0 2 * * * root /opt/report.sh\n"
          "# Name: legacy-name\n"
          "0 3 * * * root /opt/other.sh\n");
  Scanner s(mem);
  s.scan();
  ASSERT_NE(job_at(s, "/etc/cron.d/walk", 2), nullptr);
  EXPECT_EQ(job_at(s, "/etc/cron.d/walk", 2)->name, "walk-e-hung");
  EXPECT_TRUE(job_at(s, "/etc/cron.d/walk", 2)->named);
  EXPECT_EQ(job_at(s, "/etc/cron.d/walk", 4)->name, "Nightly report");
  EXPECT_EQ(job_at(s, "/etc/cron.d/walk", 6)->name, "legacy-name");
  EXPECT_EQ(s.jobs().size(), 3u);  // the comments are not commented-out jobs
}

TEST(JobNames, TwoDerivedNamesAlikeAreToldApartByWhere) {
  testing::MemoryRoot mem;
  mem.add("/etc/cron.d/a", "* * * * * root echo hello\n0 1 * * * root echo bye\n");
  mem.add("/var/spool/cron/crontabs/alice", "*/2 * * * * echo alice\n");
  mem.add("/etc/cron.d/b", "0 4 * * * root /usr/local/bin/backup.sh\n");
  Scanner s(mem);
  s.scan();
  std::set<std::string> names;
  for (const Job* j : s.jobs()) names.insert(j->name);
  EXPECT_EQ(names.size(), s.jobs().size()) << "every job has a name of its own";
  EXPECT_EQ(job_at(s, "/etc/cron.d/a", 1)->name, "echo-a-1");
  EXPECT_EQ(job_at(s, "/etc/cron.d/a", 2)->name, "echo-a-2");
  EXPECT_EQ(job_at(s, "/var/spool/cron/crontabs/alice", 1)->name, "echo-alice-1");
  EXPECT_EQ(job_at(s, "/etc/cron.d/b", 1)->name, "backup");  // unique names stay short

  // One of the two goes: the other gets its short name back, reported as a change.
  mem.add("/etc/cron.d/a", "* * * * * root echo hello\n");
  mem.add("/var/spool/cron/crontabs/alice", "");
  const Changes c = s.rescan({"/etc/cron.d/a", "/var/spool/cron/crontabs/alice"});
  EXPECT_EQ(job_at(s, "/etc/cron.d/a", 1)->name, "echo");
  EXPECT_EQ(c.removed.size(), 2u);
}

TEST(JobNames, AnEditThatMovesLinesChangesNoJob) {
  testing::MemoryRoot mem;
  mem.add("/etc/cron.d/app", "0 1 * * * root /opt/app/report\n*/5 * * * * root /opt/app/poll\n");
  Scanner s(mem);
  s.scan();
  mem.add("/etc/cron.d/app", "# a comment on top\n\n0 1 * * * root /opt/app/report\n*/5 * * * * root /opt/app/poll\n");
  Changes c = s.rescan({"/etc/cron.d/app"});
  EXPECT_EQ(c.changed.size(), 2u);  // callers still learn the new lines
  EXPECT_EQ(c.moved, 2u);           // but nothing a monitor keys on changed
  mem.add("/etc/cron.d/app",
          "# a comment on top\n\n0 1 * * * root /opt/app/report --full\n*/5 * * * * root /opt/app/poll\n");
  c = s.rescan({"/etc/cron.d/app"});
  // A new command is a new key, on the same line: the same job changed (issue 17); the other
  // line is untouched.
  EXPECT_EQ(c.added.size(), 0u);
  EXPECT_EQ(c.removed.size(), 0u);
  EXPECT_EQ(c.rekeyed.size(), 1u);
  EXPECT_EQ(c.changed.size() - c.moved, 1u);
  mem.add("/etc/cron.d/app",
          "# a comment on top\n\n0 1 * * * root /opt/app/report --full\n*/5 * * * * app /opt/app/poll\n");
  c = s.rescan({"/etc/cron.d/app"});
  // The user is in the key: a new key, carried over from the same line.
  EXPECT_EQ(c.added.size() + c.removed.size() + c.changed.size() - c.moved, 1u);
  EXPECT_EQ(c.rekeyed.size(), 1u);
}

TEST(JobNames, WrappingByTheAgentIsNoChange) {
  testing::MemoryRoot mem;
  mem.add("/etc/cron.d/app", "0 1 * * * root /opt/app/report\n");
  Scanner s(mem);
  s.scan();
  const std::string key = job_at(s, "/etc/cron.d/app", 1)->key;
  mem.add("/etc/cron.d/app", "0 1 * * * root /usr/bin/cronitor-exec " + key + " -- '/opt/app/report'\n");
  const Changes c = s.rescan({"/etc/cron.d/app"});
  ASSERT_EQ(c.changed.size(), 1u);
  EXPECT_TRUE(c.changed[0]->wrapped);
  EXPECT_EQ(c.moved, 1u);
}

// Names are kept as files change (NameBook renames only the jobs a change concerns): after every
// edit, each job has the name a fresh scan of the same files gives it, and each job renamed by
// an edit of another file is reported as changed.
TEST(JobNames, NamesKeptAcrossEditsAreThoseOfAFreshScan) {
  testing::MemoryRoot mem;
  mem.add("/lib/systemd/system/logrotate.timer", "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n");
  mem.add("/lib/systemd/system/logrotate.service", "[Service]\nExecStart=/usr/sbin/logrotate /etc/logrotate.conf\n");
  mem.add("/run/systemd/system/.present", "");
  const std::string wants = "/etc/systemd/system/timers.target.wants/logrotate.timer";
  const std::vector<std::string> commands = {"echo hello",
                                             "echo bye",
                                             "/usr/sbin/logrotate /etc/logrotate.conf",
                                             "/usr/local/bin/backup.sh",
                                             "/opt/backup.sh --full",
                                             "date >> /tmp/d",
                                             "/opt/other.sh # cronitor: name=backup",
                                             "/opt/x.sh # cronitor: name=echo-a-1"};
  const std::vector<std::string> schedules = {"* * * * *", "0 1 * * *", "*/5 * * * *"};
  // Two files named "b": their jobs alike on the same line are told apart by their keys.
  const std::vector<std::string> files = {"/etc/cron.d/a", "/etc/cron.d/b", "/etc/cron.d/c",
                                          "/var/spool/cron/crontabs/alice", "/var/spool/cron/crontabs/b"};
  std::mt19937 rng(20261206);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  auto write = [&](const std::string& file) {
    std::string text;
    const bool user = file.starts_with("/var/spool");
    for (std::size_t n = pick(5); n > 0; --n) {
      std::string command = commands[pick(commands.size())];
      if (const auto at = command.find(" # cronitor: "); at != std::string::npos) {
        text += command.substr(at + 1) + "\n";
        command.resize(at);
      }
      text += schedules[pick(schedules.size())] + (user ? " " : " root ") + command + "\n";
    }
    mem.add(file, text);
  };
  for (const auto& f : files) write(f);
  mem.link(wants, "/lib/systemd/system/logrotate.timer");
  Scanner s(mem);
  s.scan();
  using Names = std::map<std::string, std::string>;  // file:line unit -> name
  auto names = [](const Scanner& sc) {
    Names out;
    for (const Job* j : sc.jobs())
      out[j->file + ":" + std::to_string(j->line) + " " + j->unit + " " + j->key] = j->name;
    return out;
  };
  int renamed_elsewhere = 0;
  for (int step = 0; step < 300; ++step) {
    const Names before = names(s);
    std::string path;
    if (pick(5) == 0) {
      path = wants;
      if (mem.read_link(wants)) {
        mem.remove(wants);
      } else {
        mem.link(wants, "/lib/systemd/system/logrotate.timer");
      }
    } else {
      path = files[pick(files.size())];
      write(path);
    }
    const Changes c = s.rescan({path});
    Scanner fresh(mem);
    fresh.scan();
    const Names after = names(s);
    ASSERT_EQ(after, names(fresh)) << "step " << step << ", after an edit of " << path;
    std::set<const Job*> told(c.added.begin(), c.added.end());
    told.insert(c.changed.begin(), c.changed.end());
    for (const Job* j : s.jobs()) {
      const auto was = before.find(j->file + ":" + std::to_string(j->line) + " " + j->unit + " " + j->key);
      if (was == before.end() || was->second == j->name || j->file == path) continue;
      ++renamed_elsewhere;
      EXPECT_TRUE(told.contains(j)) << "step " << step << ": " << was->second << " -> " << j->name << " not told";
    }
  }
  EXPECT_GT(renamed_elsewhere, 10) << "the edits renamed jobs of other files";
}

// Issue 18: a user's crontab is read as far as Limits::max_jobs_per_user_crontab job lines (a
// flood is not held: 80,000 short lines fit in the 1 MiB a crontab may have); root's files, and
// root's own crontab, are read whole; the warnings of one file are bounded too.
TEST(UserCrontabLimit, AUsersFloodIsReadAsFarAsTheLimitAndSaidOnce) {
  testing::MemoryRoot mem;
  std::string flood, broken;
  for (int i = 0; i < 2500; ++i) flood += "* * * * * /opt/job" + std::to_string(i) + "\n";
  for (int i = 0; i < 300; ++i) broken += "not a job line " + std::to_string(i) + "\n";
  mem.add("/var/spool/cron/crontabs/mallory", flood + broken);
  mem.add("/var/spool/cron/crontabs/root", flood);
  mem.add("/var/spool/cron/crontabs/bob", broken);
  Scanner s(mem);
  s.scan();
  std::map<std::string, std::size_t> per_file;
  for (const Job* j : s.jobs()) ++per_file[j->file];
  EXPECT_EQ(per_file["/var/spool/cron/crontabs/mallory"], 2000u);
  EXPECT_EQ(per_file["/var/spool/cron/crontabs/root"], 2500u);
  std::map<std::string, std::size_t> warned;
  std::size_t said = 0;
  for (const Warning& w : s.warnings()) {
    ++warned[w.file];
    said += w.message.find("more than 2000 job lines in this crontab") != std::string::npos;
  }
  EXPECT_EQ(said, 1u);
  EXPECT_EQ(warned["/var/spool/cron/crontabs/mallory"], 1u) << "the broken lines past the limit are not read";
  EXPECT_EQ(warned["/var/spool/cron/crontabs/bob"], 101u) << "100 warnings, then one that says the rest are not listed";
}

}  // namespace
}  // namespace cronitor::discovery
