// The kernel's OOM lines as Debian bookworm's kernel (6.1) prints them on /dev/kmsg, and the
// attribution of an OOM kill to the run whose process group held the victim.
#include "agent/sources/oom_kill_log.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "tests/agent/eval_helpers.h"

namespace cronitor::agent {
namespace {

using std::chrono::seconds;

// One OOM event of a memory cgroup limited to 64 MiB, record by record, as read() returns them
// (6.1: "Memory cgroup out of memory: Killed process ...", with the dictionary lines after).
const char* const kMemcgOom[] = {
    "4,72954,12036938876,-;python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n",
    "4,72955,12036938887,-;CPU: 0 PID: 6217 Comm: python3 Not tainted 6.1.0-26-amd64 #1 Debian 6.1.112-1\n"
    " SUBSYSTEM=cpu\n",
    "6,72981,12036939058,-;memory: usage 65536kB, limit 65536kB, failcnt 0\n",
    "6,72982,12036939061,-;memory+swap: usage 65536kB, limit 65536kB, failcnt 0\n",
    "6,72983,12036939062,-;kmem: usage 316kB, limit 9007199254740988kB, failcnt 0\n",
    "6,72984,12036939063,-;Memory cgroup stats for /system.slice/cron.service:\n",
    "6,73029,12036939172,-;[   6216]     0  6216      455      289        0      289         0    32768        0  "
    "           0 cronitor-exec\n",
    "6,73032,12036939220,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    "oom_memcg=/system.slice/cron.service,task_memcg=/system.slice/cron.service,task=python3,pid=6217,uid=0\n",
    "3,73033,12036939234,-;Memory cgroup out of memory: Killed process 6217 (python3) total-vm:276096kB, "
    "anon-rss:65024kB, file-rss:5408kB, shmem-rss:0kB, UID:0 pgtables:188kB oom_score_adj:0\n",
};

TEST(KmsgRecord, ParsesPrefixTextAndDropsTheDictionary) {
  auto r = parse_kmsg_record(kMemcgOom[1]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->level, 4);
  EXPECT_EQ(r->seq, 72955u);
  EXPECT_EQ(r->usec, 12036938887u);
  EXPECT_EQ(r->text, "CPU: 0 PID: 6217 Comm: python3 Not tainted 6.1.0-26-amd64 #1 Debian 6.1.112-1");
  // A later kernel's extra prefix field (caller id) is skipped too.
  auto c = parse_kmsg_record("6,5,100,-,caller=T12;hello\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->text, "hello");
  for (const char* bad : {"", "no semicolon", "x,1,2,-;t", "6,1;t", "6,-1,5,-;t"})
    EXPECT_FALSE(parse_kmsg_record(bad)) << bad;
}

TEST(OomLine, ReadsTheThreeLinesOfAnOomKill) {
  auto killed = parse_oom_line(parse_kmsg_record(kMemcgOom[8])->text);
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->kind, OomLine::Kind::kKilled);
  EXPECT_EQ(killed->pid, 6217);
  EXPECT_EQ(killed->task, "python3");
  EXPECT_EQ(killed->rss_bytes, (65024 + 5408) * int64_t{1024});

  auto summary = parse_oom_line(parse_kmsg_record(kMemcgOom[7])->text);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->kind, OomLine::Kind::kSummary);
  EXPECT_EQ(summary->pid, 6217);
  EXPECT_EQ(summary->task, "python3");
  EXPECT_EQ(summary->constraint, "CONSTRAINT_MEMCG");
  EXPECT_EQ(summary->memcg, "/system.slice/cron.service");

  auto limit = parse_oom_line(parse_kmsg_record(kMemcgOom[2])->text);
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->kind, OomLine::Kind::kMemLimit);
  EXPECT_EQ(limit->limit_bytes, 64 * 1024 * 1024);

  // The global OOM killer (6.1), and the form of kernels before 4.19.
  auto global = parse_oom_line(
      "Out of memory: Killed process 1234 (my job) x) total-vm:1000kB, anon-rss:800kB, file-rss:0kB, "
      "shmem-rss:0kB, UID:1000 pgtables:40kB oom_score_adj:0");
  ASSERT_TRUE(global);
  EXPECT_EQ(global->pid, 1234);
  EXPECT_EQ(global->task, "my job) x");
  auto old = parse_oom_line("Killed process 99 (perl) total-vm:10kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->pid, 99);

  // Neither these nor anything cut short.
  for (const char* other : {"python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)", "memory+swap: usage 1kB",
                            "Killed process (x)", "Killed process 12", "oom-kill:constraint=CONSTRAINT_NONE,task=x",
                            "oom-kill:pid=-5", "kmem: usage 316kB, limit 9007199254740988kB, failcnt 0"})
    EXPECT_FALSE(parse_oom_line(other)) << other;
}

// Issue 18 item 10: the task name is the process's own (prctl PR_SET_NAME, 15 bytes). A name such
// as "a,pid=4242" or "x) total-vm:0kB" must not change the pid (whose run is judged OOM-killed) or
// the sizes; every field comes from the kernel's fixed text around the name.
TEST(OomLine, ATaskNameCannotFakeThePidOrTheSizes) {
  for (std::string name : {"a,pid=4242", "a,pid=4242,uid=0", ",task=b,pid=1", "x,task=y", "pid=4242", "a b)c"}) {
    const std::string text =
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/"
        "system.slice/cron.service,task_memcg=/system.slice/cron.service,task=" +
        name + ",pid=6217,uid=1000";
    auto summary = parse_oom_line(text);
    ASSERT_TRUE(summary) << name;
    EXPECT_EQ(summary->pid, 6217) << name;
    EXPECT_EQ(summary->task, name);
    EXPECT_EQ(summary->memcg, "/system.slice/cron.service") << name;
    EXPECT_EQ(summary->constraint, "CONSTRAINT_MEMCG") << name;
  }
  // A cgroup path with commas and fields of its own in it (a user's delegated subtree).
  auto path = parse_oom_line(
      "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/user.slice/a,pid=1,"
      "task_memcg=/user.slice/a,pid=1,task=job,pid=77,uid=1000");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->pid, 77);
  EXPECT_EQ(path->task, "job");
  auto killed = parse_oom_line(
      "Memory cgroup out of memory: Killed process 6217 (x) total-vm:0kB) total-vm:276096kB, anon-rss:65024kB, "
      "file-rss:5408kB, shmem-rss:0kB, UID:0 pgtables:188kB oom_score_adj:0");
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->pid, 6217);
  EXPECT_EQ(killed->task, "x) total-vm:0kB");
  EXPECT_EQ(killed->rss_bytes, (65024 + 5408) * int64_t{1024});
  // Only the kernel's own lines: its words elsewhere in a record (a name in another message) are not one.
  EXPECT_FALSE(parse_oom_line("traps: Killed process 4242 (x) total-vm:1kB, anon-rss:1kB[1] general protection"));
  EXPECT_FALSE(parse_oom_line("oom-kill:constraint=CONSTRAINT_NONE,task=a,pid=4242"));  // no uid: cut short
}

/// A stream of records fed at `at` (their monotonic times are taken as "now").
struct Feed {
  std::map<int64_t, int64_t> groups;                  // pid -> process group, as /proc would say
  std::map<int64_t, std::vector<int64_t>> ancestors;  // pid -> its parent, grandparent, ...
  OomKillLog log{[this](int64_t pid) -> std::optional<int64_t> {
                   auto it = groups.find(pid);
                   if (it == groups.end()) return std::nullopt;
                   return it->second;
                 },
                 [this](int64_t pid) {
                   auto it = ancestors.find(pid);
                   return it == ancestors.end() ? std::vector<int64_t>{} : it->second;
                 }};
  void oom(int64_t pid, const std::string& name, Instant at, bool memcg = true) {
    const std::string usec = "5000000";
    if (memcg) log.on_record("6,1," + usec + ",-;memory: usage 65536kB, limit 65536kB, failcnt 0\n", at, 5000000);
    log.on_record("6,2," + usec + ",-;oom-kill:constraint=" + (memcg ? "CONSTRAINT_MEMCG" : "CONSTRAINT_NONE") +
                      ",nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/cron.service,task_memcg=/"
                      "system.slice/cron.service,task=" +
                      name + ",pid=" + std::to_string(pid) + ",uid=0\n",
                  at, 5000000);
    log.on_record("3,3," + usec + ",-;Memory cgroup out of memory: Killed process " + std::to_string(pid) + " (" +
                      name + ") total-vm:276096kB, anon-rss:65024kB, file-rss:5408kB, shmem-rss:0kB, UID:0\n",
                  at, 5000000);
  }
};

// The same through the log: a user's process named "a,pid=4242" is OOM-killed; root's run of
// process group 4242 (which was not) is not told it was.
TEST(OomKillLog, AVictimsNameDoesNotBlameAnotherRun) {
  using testing::at;
  using V = OomKillLog::Verdict::Kind;
  Feed f;
  f.log.start(at("2026-01-01T00:00:00Z"));
  const Instant t0 = at("2026-01-01T00:01:00Z");
  f.groups[6217] = 6200;
  f.oom(6217, "a,pid=4242", t0 + seconds(5));
  EXPECT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.log.judge(4242, t0, t0 + seconds(10)).kind, V::kNotOom);
  auto mine = f.log.judge(6200, t0, t0 + seconds(10));
  ASSERT_EQ(mine.kind, V::kOom);
  EXPECT_EQ(mine.kill->describe(), "a,pid=4242 (pid 6217)");
}

TEST(OomKillLog, AttributesByProcessGroupNotByCgroup) {
  using testing::at;
  using V = OomKillLog::Verdict::Kind;
  Feed f;
  f.log.start(at("2026-01-01T00:00:00Z"));
  const Instant t0 = at("2026-01-01T00:01:00Z");
  // Two jobs of cron.service's cgroup: job A (group 500) is killed by `kill -9`; the OOM killer
  // kills python3 (pid 611) of job B (group 600, a child of its shell).
  f.groups[611] = 600;
  f.oom(611, "python3", t0 + seconds(5));
  EXPECT_EQ(f.log.size(), 1u);  // the two lines of one kill are one kill

  auto a = f.log.judge(500, t0, t0 + seconds(10));
  EXPECT_EQ(a.kind, V::kNotOom);
  ASSERT_TRUE(a.other);
  EXPECT_EQ(a.other->describe(), "python3 (pid 611)");

  auto b = f.log.judge(600, t0, t0 + seconds(6));
  ASSERT_EQ(b.kind, V::kOom);
  EXPECT_EQ(b.kill->pid, 611);
  EXPECT_EQ(b.kill->limit_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(b.kill->rss_bytes, (65024 + 5408) * int64_t{1024});

  // The victim was the group's leader, already reaped: its pid alone names the run.
  f.oom(700, "sort", t0 + seconds(20));
  EXPECT_EQ(f.log.judge(700, t0 + seconds(15), t0 + seconds(21)).kind, V::kOom);

  // Outside the run's time: not its kill.
  EXPECT_EQ(f.log.judge(600, t0 + seconds(60), t0 + seconds(70)).kind, V::kNotOom);

  // A victim gone before its group could be read: the agent cannot tell.
  f.oom(800, "perl", t0 + seconds(100));
  auto c = f.log.judge(500, t0 + seconds(90), t0 + seconds(110));
  EXPECT_EQ(c.kind, V::kAmbiguous);
  EXPECT_EQ(c.other->pid, 800);

  // A global OOM kill has no cgroup limit to report.
  f.groups[900] = 900;
  f.oom(900, "java", t0 + seconds(200), false);
  auto g = f.log.judge(900, t0 + seconds(190), t0 + seconds(201));
  ASSERT_EQ(g.kind, V::kOom);
  EXPECT_FALSE(g.kill->limit_bytes);
}

// Issue 21: a run the process events saw has no process group of its own (cron's jobs share
// cron's), so it is judged by its shell's tree: the victim is the shell or one of its descendants.
TEST(OomKillLog, ARunOfTheProcessEventsIsJudgedByItsProcessTree) {
  using testing::at;
  using V = OomKillLog::Verdict::Kind;
  Feed f;
  f.log.start(at("2026-01-01T00:00:00Z"));
  const Instant t0 = at("2026-01-01T00:01:00Z");
  // Two jobs of one cron, both in cron's process group 300: shells 410 and 510; python3 (611),
  // a child of 510's child 520, is OOM-killed.
  f.groups[611] = 300;
  f.ancestors[611] = {520, 510, 400, 300, 1};
  f.oom(611, "python3", t0 + seconds(5));
  auto mine = f.log.judge_process(510, t0, t0 + seconds(6));
  ASSERT_EQ(mine.kind, V::kOom);
  EXPECT_EQ(mine.kill->describe(), "python3 (pid 611)");
  auto other = f.log.judge_process(410, t0, t0 + seconds(6));
  EXPECT_EQ(other.kind, V::kNotOom);
  ASSERT_TRUE(other.other);
  EXPECT_EQ(other.other->pid, 611);
  // The shell itself killed (dash ran the last command in its own process): its pid names it.
  f.oom(710, "sort", t0 + seconds(20));
  EXPECT_EQ(f.log.judge_process(710, t0 + seconds(15), t0 + seconds(21)).kind, V::kOom);
  // A victim whose tree could not be read (gone): the run may have been its, so it cannot tell.
  EXPECT_EQ(f.log.judge_process(410, t0 + seconds(15), t0 + seconds(21)).kind, V::kAmbiguous);
  // By process group, as a wrapped run is judged, cron's group would blame every job of cron.
  EXPECT_EQ(f.log.judge(300, t0, t0 + seconds(6)).kind, V::kOom);
}

TEST(OomKillLog, UnknownWhileNotWatchingOrAfterLostRecords) {
  using testing::at;
  using V = OomKillLog::Verdict::Kind;
  Feed f;
  const Instant t0 = at("2026-01-01T00:10:00Z");
  EXPECT_EQ(f.log.judge(5, t0, t0 + seconds(1)).kind, V::kUnknown);  // not started
  f.log.start(t0);
  // A run that began before the agent read the log: its kill may have been before.
  EXPECT_EQ(f.log.judge(5, t0 - seconds(60), t0 + seconds(5)).kind, V::kUnknown);
  EXPECT_EQ(f.log.judge(5, t0 + seconds(10), t0 + seconds(20)).kind, V::kNotOom);
  f.log.on_loss(t0 + seconds(15));
  EXPECT_EQ(f.log.judge(5, t0 + seconds(10), t0 + seconds(20)).kind, V::kUnknown);
  EXPECT_EQ(f.log.judge(5, t0 + seconds(30), t0 + seconds(40)).kind, V::kNotOom);
}

TEST(OomKillLog, BoundedInNumberAndAge) {
  using testing::at;
  Feed f;
  const Instant t0 = at("2026-01-01T00:00:00Z");
  f.log.start(t0);
  for (int i = 0; i < 1000; ++i) f.oom(10000 + i, "x", t0 + seconds(10 * i));
  EXPECT_LE(f.log.size(), OomKillLog::kMaxKills);
  // Garbage of every length never throws or records anything.
  std::string junk = "6,1,2,-;Killed process 1";
  for (size_t n = 0; n <= junk.size(); ++n) f.log.on_record(junk.substr(0, n), t0, 0);
  f.log.on_record(std::string(100000, 'K'), t0, 0);
  EXPECT_LE(f.log.size(), OomKillLog::kMaxKills);
}

}  // namespace
}  // namespace cronitor::agent
