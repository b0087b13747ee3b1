// Runs of cron jobs from process events (agent/sources/process_tracker.h): the tree under cron's
// pid as Debian's cron builds it (cron -> per-job child -> `sh -c CMD`), run-parts scripts as
// runs of their own, look-alikes outside cron's tree, threads, and lost events.
#include "agent/sources/process_tracker.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <tuple>

namespace cronitor::agent {
namespace {

constexpr pid_t kCron = 100;
constexpr int64_t kMsNs = 1'000'000;

using RunKind = ProcRun::Kind;
using Outcome = ProcRun::Outcome;

// The jobs of this host as discovery would give them: (uid, command) -> key, and root's
// /etc/cron.daily scripts when run by root's daily line.
ProcessTracker::Matcher host_jobs() {
  return {
      .job = [](uid_t uid, std::string_view cmd) -> std::optional<std::string> {
        static const std::map<std::pair<uid_t, std::string>, std::string> jobs = {
            {{0, "/usr/local/bin/backup"}, "backup"},
            {{0, "cd / && run-parts --report /etc/cron.daily"}, "daily"},
            {{1000, "run-parts /etc/cron.daily"}, "alice-daily"},
        };
        auto it = jobs.find({uid, std::string(cmd)});
        if (it == jobs.end()) return std::nullopt;
        return it->second;
      },
      .script = [](uid_t job_uid, std::string_view job_key, std::string_view script) -> std::optional<std::string> {
        if (job_uid != 0 || job_key != "daily" || !script.starts_with("/etc/cron.daily/")) return std::nullopt;
        return std::string(script);
      },
  };
}

ExecFacts facts(uid_t uid, std::vector<std::string> argv, uint64_t start = 0) { return {uid, std::move(argv), start}; }

std::vector<std::string> shell(std::string cmd) { return {"/bin/sh", "-c", std::move(cmd)}; }

uint32_t exited(int code) { return static_cast<uint32_t>(code) << 8; }

// cron's per-job child `child` and its grandchild `shell_pid` exec'ing `sh -c cmd` as `uid`.
void cron_runs(ProcessTracker& t, pid_t child, pid_t shell_pid, uid_t uid, const std::string& cmd, int64_t at) {
  t.fork(kCron, child, child, at);
  t.fork(child, shell_pid, shell_pid, at);
  t.exec(shell_pid, at, facts(uid, shell(cmd)));
}

ProcessTracker tracker(ProcessTracker::Limits limits = {}) {
  ProcessTracker t(host_jobs(), limits);
  const pid_t roots[] = {kCron};
  t.set_roots(roots);
  return t;
}

TEST(ProcessTracker, TheJobShellsExitEndsTheRunWithItsCodeOrSignal) {
  struct Case {
    uint32_t status;
    Outcome outcome;
    int code, signal;
    bool core;
  } cases[] = {
      {exited(0), Outcome::exited, 0, 0, false},
      {exited(5), Outcome::exited, 5, 0, false},
      {exited(127), Outcome::exited, 127, 0, false},
      {SIGKILL, Outcome::signaled, 0, SIGKILL, false},
      {SIGSEGV | 0x80, Outcome::signaled, 0, SIGSEGV, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status);
    auto t = tracker();
    cron_runs(t, 200, 201, 0, "/usr/local/bin/backup", 10 * kMsNs);
    auto started = t.take_runs();
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(started[0].phase, ProcRun::Phase::started);
    EXPECT_EQ(started[0].key, "backup");
    EXPECT_EQ(started[0].pid, 201);
    EXPECT_EQ(started[0].start_ns, 10 * kMsNs);
    EXPECT_EQ(t.open_runs(), 1u);
    t.exit(201, 201, c.status, 250 * kMsNs);
    t.exit(200, 200, 0, 251 * kMsNs);  // cron's child ends no run
    auto ended = t.take_runs();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].phase, ProcRun::Phase::ended);
    EXPECT_EQ(ended[0].kind, RunKind::job);
    EXPECT_EQ(ended[0].outcome, c.outcome);
    EXPECT_EQ(ended[0].exit_code, c.code);
    EXPECT_EQ(ended[0].signal, c.signal);
    EXPECT_EQ(ended[0].core_dumped, c.core);
    EXPECT_EQ(ended[0].duration_ns(), 240 * kMsNs);
    EXPECT_EQ(t.followed(), 0u);
  }
}

TEST(ProcessTracker, ALookAlikeOutsideCronsTreeIsNeverARunAndItsProcIsNeverRead) {
  auto t = tracker();
  int reads = 0;
  auto reader = [&](pid_t pid) {
    ++reads;
    return std::optional(facts(0, shell("/usr/local/bin/backup"), pid));
  };
  // A user's shell (pid 500, not cron's) starts the very command line of root's job.
  const auto at = [](pid_t parent, pid_t child) {
    return ProcEvent{
        .kind = ProcEvent::Kind::fork, .pid = child, .tgid = child, .parent_pid = parent, .parent_tgid = parent};
  };
  t.feed(at(500, 501), reader);
  t.feed({.kind = ProcEvent::Kind::exec, .pid = 501, .tgid = 501}, reader);
  t.feed({.kind = ProcEvent::Kind::exit, .pid = 501, .tgid = 501, .exit_code = exited(3)}, reader);
  EXPECT_TRUE(t.take_runs().empty());
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(t.followed(), 0u);
  // The same through cron: read once, at its exec.
  t.feed(at(kCron, 600), reader);
  t.feed({.kind = ProcEvent::Kind::exec, .pid = 600, .tgid = 600}, reader);
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(t.take_runs().size(), 1u);
}

TEST(ProcessTracker, CronsMailerAndUnknownLinesAreNotRuns) {
  auto t = tracker();
  cron_runs(t, 200, 201, 0, "echo not a discovered job", 0);
  t.fork(200, 202, 202, 0);
  t.exec(202, 0, facts(0, {"/usr/sbin/sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"}));
  EXPECT_FALSE(t.follows(202));  // neither the mailer nor what it starts
  t.fork(202, 203, 203, 0);
  EXPECT_FALSE(t.follows(203));
  // The same line as another user is another job (or none).
  cron_runs(t, 300, 301, 1000, "/usr/local/bin/backup", 0);
  for (pid_t p : {201, 203, 301, 202, 200, 300}) t.exit(p, p, exited(1), 1);
  EXPECT_TRUE(t.take_runs().empty());
  EXPECT_EQ(t.followed(), 0u);
}

TEST(ProcessTracker, EachScriptOfRunPartsIsARunOfItsOwn) {
  for (bool shell_execs_run_parts : {false, true}) {
    SCOPED_TRACE(shell_execs_run_parts ? "dash execs run-parts in place" : "the shell forks run-parts");
    auto t = tracker();
    cron_runs(t, 200, 201, 0, "cd / && run-parts --report /etc/cron.daily", 1 * kMsNs);
    pid_t run_parts = 201;
    if (!shell_execs_run_parts) {
      run_parts = 210;
      t.fork(201, run_parts, run_parts, 2 * kMsNs);
    }
    t.exec(run_parts, 2 * kMsNs, facts(0, {"run-parts", "--report", "/etc/cron.daily"}));
    // A #! script shows its interpreter first; a binary shows itself.
    t.fork(run_parts, 211, 211, 3 * kMsNs);
    t.exec(211, 3 * kMsNs, facts(0, {"/bin/bash", "-e", "/etc/cron.daily/logrotate"}));
    t.fork(211, 220, 220, 4 * kMsNs);  // what a script starts is not a script
    t.exec(220, 4 * kMsNs, facts(0, {"/usr/sbin/logrotate", "/etc/logrotate.conf"}));
    t.exit(220, 220, exited(0), 5 * kMsNs);
    t.exit(211, 211, exited(1), 6 * kMsNs);
    t.fork(run_parts, 212, 212, 7 * kMsNs);
    t.exec(212, 7 * kMsNs, facts(0, {"/etc/cron.daily/man-db"}));
    t.exit(212, 212, exited(0), 9 * kMsNs);
    if (!shell_execs_run_parts) t.exit(run_parts, run_parts, exited(1), 10 * kMsNs);
    t.exit(201, 201, exited(1), 10 * kMsNs);
    auto runs = t.take_runs();
    std::vector<std::tuple<ProcRun::Phase, std::string, Outcome, int>> got;
    for (const auto& r : runs) got.emplace_back(r.phase, r.key, r.outcome, r.exit_code);
    using P = ProcRun::Phase;
    const std::vector<std::tuple<ProcRun::Phase, std::string, Outcome, int>> want = {
        {P::started, "daily", Outcome::running, 0},
        {P::started, "/etc/cron.daily/logrotate", Outcome::running, 0},
        {P::ended, "/etc/cron.daily/logrotate", Outcome::exited, 1},
        {P::started, "/etc/cron.daily/man-db", Outcome::running, 0},
        {P::ended, "/etc/cron.daily/man-db", Outcome::exited, 0},
        {P::ended, "daily", Outcome::exited, 1},
    };
    EXPECT_EQ(got, want);
    ASSERT_EQ(runs.size(), 6u);
    EXPECT_EQ(runs[2].kind, RunKind::script);
    EXPECT_EQ(runs[2].duration_ns(), 3 * kMsNs);
  }
}

TEST(ProcessTracker, AUsersRunPartsOfRootsFolderRunsNoneOfRootsScripts) {
  auto t = tracker();
  cron_runs(t, 200, 201, 1000, "run-parts /etc/cron.daily", 0);
  t.exec(201, 0, facts(1000, {"run-parts", "/etc/cron.daily"}));
  t.fork(201, 211, 211, 0);
  t.exec(211, 0, facts(1000, {"/bin/sh", "/etc/cron.daily/logrotate"}));
  t.exit(211, 211, exited(1), 1);
  t.exit(201, 201, exited(0), 2);
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 2u);  // alice's own line, started and ended; no logrotate run
  EXPECT_EQ(runs[0].key, "alice-daily");
  EXPECT_EQ(runs[1].key, "alice-daily");
}

TEST(ProcessTracker, ThreadsAreNeitherFollowedNorEndRuns) {
  auto t = tracker();
  cron_runs(t, 200, 201, 0, "/usr/local/bin/backup", 0);
  t.fork(201, 205, 201, 0);  // a thread of the shell
  EXPECT_FALSE(t.follows(205));
  t.exit(205, 201, exited(9), 1);  // a thread ends; the process goes on
  EXPECT_EQ(t.open_runs(), 1u);
  t.exit(201, 201, exited(0), 2);
  EXPECT_EQ(t.open_runs(), 0u);
}

TEST(ProcessTracker, AGoneProcessIsNoJobAndItsTreeNoneEither) {
  auto t = tracker();
  t.fork(kCron, 200, 200, 0);
  t.exec(200, 0, std::nullopt);  // gone before /proc was read
  EXPECT_EQ(t.counters().unreadable, 1u);
  t.fork(200, 201, 201, 0);
  t.exec(201, 0, facts(0, shell("/usr/local/bin/backup")));  // inside an unnamed job: not a new line
  t.exit(201, 201, 0, 1);
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 1u);  // only the gone shell's own nameless start (cron's log names it)
  EXPECT_TRUE(runs[0].key.empty());
  EXPECT_EQ(runs[0].pid, 200);
}

// The fast-exit gap: `* * * * * root exit 4` ends about a millisecond after its exec, before a
// batched read of /proc. Its run is still one, nameless, with its pid, times and exit code.
TEST(ProcessTracker, AJobShellGoneBeforeItsCommandWasReadIsANamelessRunWithItsExitCode) {
  auto t = tracker();
  t.fork(kCron, 200, 200, 0);            // cron's per-job child
  t.fork(200, 201, 201, 1 * kMsNs);      // the job shell
  t.exec(201, 2 * kMsNs, std::nullopt);  // gone before its argv was read
  t.exit(201, 201, exited(4), 3 * kMsNs);
  t.exit(200, 200, exited(0), 4 * kMsNs);  // the per-job child: no run of its own
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].phase, ProcRun::Phase::started);
  EXPECT_TRUE(runs[0].key.empty());
  EXPECT_EQ(runs[0].pid, 201);
  EXPECT_EQ(runs[1].phase, ProcRun::Phase::ended);
  EXPECT_EQ(runs[1].pid, 201);
  EXPECT_EQ(runs[1].outcome, Outcome::exited);
  EXPECT_EQ(runs[1].exit_code, 4);
  EXPECT_EQ(runs[1].duration_ns(), 1 * kMsNs);
  EXPECT_EQ(t.counters().unreadable, 1u);
  EXPECT_EQ(t.counters().nameless, 1u);
}

// The job's shell read only after it exec'd its line's program (dash execs a line that is one
// simple command; `cd /srv && exec ./backup` does so itself): still the job's run, named by its
// argv when that is the line, else nameless for cron's log to name; the mailer forked later is not.
TEST(ProcessTracker, AJobShellReadAfterItExecdItsCommandIsStillTheJobsRun) {
  auto t = tracker();
  t.fork(kCron, 200, 200, 0);
  t.fork(200, 201, 201, 1 * kMsNs);
  t.exec(201, 2 * kMsNs, facts(0, {"/usr/local/bin/backup"}));  // read after dash's exec
  t.exec(201, 2 * kMsNs, facts(0, {"/usr/local/bin/backup"}));  // that exec's own event
  t.fork(200, 202, 202, 3 * kMsNs);                             // the mailer, after output
  t.exec(202, 3 * kMsNs, facts(0, {"/usr/sbin/sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"}));
  EXPECT_FALSE(t.follows(202));
  t.exit(201, 201, exited(5), 4 * kMsNs);
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].key, "backup");
  EXPECT_EQ(runs[1].key, "backup");
  EXPECT_EQ(runs[1].exit_code, 5);

  t.fork(kCron, 400, 400, 5 * kMsNs);
  t.fork(400, 401, 401, 5 * kMsNs);
  t.exec(401, 6 * kMsNs, facts(0, {"./backup", "--full"}));  // `cd /srv && exec ./backup --full`
  t.exit(401, 401, exited(3), 7 * kMsNs);
  runs = t.take_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_TRUE(runs[0].key.empty());  // nameless: cron's CMD line of pid 401 names it
  EXPECT_EQ(runs[0].pid, 401);
  EXPECT_EQ(runs[1].pid, 401);
  EXPECT_EQ(runs[1].exit_code, 3);
  EXPECT_EQ(t.counters().nameless, 1u);
}

// anacron as a root: the anacrontab line `run-parts --report /etc/cron.daily` (as anacron runs
// it: `sh -c COMMAND` as root) and the scripts of its folder under it.
ProcessTracker::Matcher anacron_jobs() {
  return {
      .job = [](uid_t uid, std::string_view cmd) -> std::optional<std::string> {
        if (uid == 0 && cmd == "run-parts --report /etc/cron.daily") return "anacron-daily";
        if (uid == 0 && cmd == "start-anacron") return "cron.d-anacron";
        return std::nullopt;
      },
      .script = [](uid_t job_uid, std::string_view job_key, std::string_view script) -> std::optional<std::string> {
        if (job_uid != 0 || job_key != "anacron-daily") return std::nullopt;
        return std::string(script);
      },
  };
}

const std::vector<std::string> kAnacron = {"/usr/sbin/anacron", "-d", "-q"};

// anacron's job: fork, `sh -c 'run-parts --report /etc/cron.daily'` (dash execs run-parts), and
// one script forked by run-parts exiting with `code`.
void anacron_runs(ProcessTracker& t, pid_t anacron, pid_t job, int code) {
  t.fork(anacron, job, job, 10 * kMsNs);
  EXPECT_TRUE(t.awaits_exec() == false) << "anacron's forks wait minutes before they exec: read with the batch";
  t.exec(job, 11 * kMsNs, facts(0, shell("run-parts --report /etc/cron.daily")));
  t.exec(job, 12 * kMsNs, facts(0, {"run-parts", "--report", "/etc/cron.daily"}));
  t.fork(job, job + 1, job + 1, 13 * kMsNs);
  t.exec(job + 1, 14 * kMsNs, facts(0, {"/bin/sh", "/etc/cron.daily/logrotate"}));
  t.exit(job + 1, job + 1, exited(code), 20 * kMsNs);
  t.exit(job, job, exited(0), 21 * kMsNs);
}

std::vector<std::tuple<ProcRun::Phase, std::string, int>> summary(std::vector<ProcRun> runs) {
  std::vector<std::tuple<ProcRun::Phase, std::string, int>> out;
  for (const auto& r : runs) out.emplace_back(r.phase, r.key, r.exit_code);
  return out;
}

TEST(ProcessTracker, AnAnacronThePid1StartsIsARootOfItsJobsAndTheirScripts) {
  using P = ProcRun::Phase;
  ProcessTracker t(anacron_jobs());
  const pid_t init[] = {1};
  t.set_spawners(init);
  t.fork(1, 300, 300, 0);  // anacron.service
  EXPECT_TRUE(t.follows(300));
  t.exec(300, 1 * kMsNs, facts(0, kAnacron));
  anacron_runs(t, 300, 310, 3);
  const std::vector<std::tuple<P, std::string, int>> want = {{P::started, "anacron-daily", 0},
                                                             {P::started, "/etc/cron.daily/logrotate", 0},
                                                             {P::ended, "/etc/cron.daily/logrotate", 3},
                                                             {P::ended, "anacron-daily", 0}};
  EXPECT_EQ(summary(t.take_runs()), want);
}

TEST(ProcessTracker, APid1ChildThatIsNoRootsAnacronIsDropped) {
  ProcessTracker t(anacron_jobs());
  const pid_t init[] = {1};
  t.set_spawners(init);
  t.fork(1, 300, 300, 0);
  t.exec(300, 0, facts(0, {"/usr/sbin/sshd", "-D"}));  // another service
  EXPECT_FALSE(t.follows(300));
  t.fork(1, 301, 301, 0);
  t.exec(301, 0, facts(1000, kAnacron));  // a user's anacron (its own anacrontab): not root's jobs
  EXPECT_FALSE(t.follows(301));
  t.fork(1, 302, 302, 0);
  t.exec(302, 0, std::nullopt);  // gone: no run, nothing left followed
  EXPECT_FALSE(t.follows(302));
  // A user's process that runs anacron outside any root's tree is never followed.
  t.fork(5000, 5001, 5001, 0);
  t.exec(5001, 0, facts(0, kAnacron));
  EXPECT_FALSE(t.follows(5001));
  EXPECT_TRUE(t.take_runs().empty());
  EXPECT_EQ(t.followed(), 0u);
}

// Debian's /etc/cron.d/anacron line starts anacron (invoke-rc.d; anacron goes to the background):
// the anacron in cron's tree is a root of its own jobs, which are not runs of cron's line.
TEST(ProcessTracker, AnAnacronACronJobStartsIsARootOfItsJobs) {
  using P = ProcRun::Phase;
  ProcessTracker t(anacron_jobs());
  const pid_t roots[] = {kCron};
  t.set_roots(roots);
  cron_runs(t, 200, 201, 0, "start-anacron", 0);
  t.fork(201, 202, 202, 1 * kMsNs);
  t.exec(202, 2 * kMsNs, facts(0, {"/usr/sbin/anacron", "-s"}));
  t.fork(202, 203, 203, 3 * kMsNs);  // to the background
  t.exit(202, 202, exited(0), 4 * kMsNs);
  t.exit(201, 201, exited(0), 5 * kMsNs);
  anacron_runs(t, 203, 310, 0);
  const std::vector<std::tuple<P, std::string, int>> want = {
      {P::started, "cron.d-anacron", 0},          {P::ended, "cron.d-anacron", 0},
      {P::started, "anacron-daily", 0},           {P::started, "/etc/cron.daily/logrotate", 0},
      {P::ended, "/etc/cron.daily/logrotate", 0}, {P::ended, "anacron-daily", 0}};
  EXPECT_EQ(summary(t.take_runs()), want);
}

TEST(ProcessTracker, ARootThatExitsIsNoLongerTrusted) {
  auto t = tracker();
  t.exit(kCron, kCron, 0, 0);
  t.fork(kCron, 200, 200, 0);  // its pid, reused by someone else
  EXPECT_FALSE(t.follows(200));
}

TEST(ProcessTracker, AForkBombInAJobIsFollowedUpToTheLimit) {
  auto t = tracker({.max_followed = 3});
  cron_runs(t, 200, 201, 0, "/usr/local/bin/backup", 0);
  for (pid_t p = 300; p < 310; ++p) t.fork(201, p, p, 0);
  EXPECT_EQ(t.followed(), 3u);
  EXPECT_EQ(t.counters().not_followed, 9u);
  t.exit(201, 201, exited(0), 1);
  ASSERT_EQ(t.take_runs().size(), 2u);
}

TEST(ProcessTracker, ALostExitEndsTheRunAsUnknownNeverAsAFailure) {
  auto t = tracker();
  cron_runs(t, 200, 201, 0, "/usr/local/bin/backup", 0);
  t.exec(201, 0, facts(0, shell("/usr/local/bin/backup"), 4242));
  t.take_runs();
  t.lost();
  auto s = t.suspects();
  std::map<pid_t, uint64_t> got(s.processes.begin(), s.processes.end());
  EXPECT_EQ(got, (std::map<pid_t, uint64_t>{{200, 0}, {201, 4242}}));
  const pid_t gone[] = {200, 201};
  t.settle_loss(s.generation, gone, 50 * kMsNs);
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, Outcome::unknown);
  EXPECT_EQ(runs[0].exit_code, 0);
  EXPECT_EQ(runs[0].end_ns, 50 * kMsNs);
  EXPECT_EQ(t.counters().ended_unknown, 1u);
  EXPECT_EQ(t.counters().losses, 1u);
  EXPECT_EQ(t.followed(), 0u);
}

TEST(ProcessTracker, AnExitThatArrivesBeforeTheLossIsSettledKeepsItsCode) {
  auto t = tracker();
  cron_runs(t, 200, 201, 0, "/usr/local/bin/backup", 0);
  t.lost();
  auto s = t.suspects();
  t.exit(201, 201, exited(4), 1);  // queued before /proc said it was gone
  const pid_t gone[] = {201};
  t.settle_loss(s.generation, gone, 2);
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].outcome, Outcome::exited);
  EXPECT_EQ(runs[1].exit_code, 4);
  EXPECT_EQ(t.counters().ended_unknown, 0u);
}

TEST(ProcessTracker, LiveProcessesAreTrustedAgainUnlessEventsWereLostMeanwhile) {
  auto t = tracker();
  cron_runs(t, 200, 201, 0, "/usr/local/bin/backup", 0);
  t.lost();
  auto s = t.suspects();
  t.lost();  // again, while /proc was read
  t.settle_loss(s.generation, {}, 1);
  EXPECT_EQ(t.suspects().processes.size(), 2u);
  auto s2 = t.suspects();
  t.settle_loss(s2.generation, {}, 2);
  EXPECT_TRUE(t.suspects().processes.empty());
  // Trusted again: a later "gone" of a live process that was not suspect ends nothing.
  const pid_t gone[] = {201};
  t.settle_loss(t.suspects().generation, gone, 3);
  EXPECT_EQ(t.open_runs(), 1u);
}

TEST(ProcessTracker, AJobWhoseForkWasLostIsAdoptedByReplayingWhatProcShows) {
  auto t = tracker();
  t.lost();  // cron's child and its shell started meanwhile: neither fork was seen
  EXPECT_FALSE(t.follows(201));
  // The caller's /proc scan, parents first: cron's child (still cron's image), then the shell.
  t.fork(kCron, 200, 200, 5);
  t.fork(200, 201, 201, 5);
  t.exec(201, 5, facts(0, shell("/usr/local/bin/backup"), 77));
  t.exit(201, 201, exited(2), 9);
  auto runs = t.take_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].key, "backup");
  EXPECT_EQ(runs[1].exit_code, 2);
}

TEST(ProcessTracker, RunPartsFolderIsItsLastArgumentThatIsNoOption) {
  using V = std::vector<std::string>;
  EXPECT_EQ(run_parts_folder(V{"run-parts", "--report", "/etc/cron.daily"}), "/etc/cron.daily");
  EXPECT_EQ(run_parts_folder(V{"/bin/run-parts", "/etc/cron.hourly"}), "/etc/cron.hourly");
  EXPECT_EQ(run_parts_folder(V{"run-parts", "--regex=^a", "-u", "022", "/x/"}), "/x/");
  EXPECT_EQ(run_parts_folder(V{"run-parts", "--list"}), "");
  EXPECT_EQ(run_parts_folder(V{"run-parts"}), "");
}

// The reader wakes at once (no 5 ms batch) only while an exec to come needs its /proc read: cron's
// child before it forks the job's shell, a run-parts and the scripts it forks; not while a job runs.
TEST(ProcessTracker, AwaitsAnExecOnlyWhileOneIsDue) {
  auto t = tracker();
  EXPECT_FALSE(t.awaits_exec());
  t.fork(kCron, 200, 200, 0);
  EXPECT_TRUE(t.awaits_exec());  // cron's per-job child: the job's shell comes next
  t.fork(200, 201, 201, 0);
  EXPECT_TRUE(t.awaits_exec());  // the shell, forked, not exec'd yet
  t.exec(201, 0, facts(0, shell("/usr/local/bin/backup")));
  EXPECT_FALSE(t.awaits_exec());  // the job runs; cron's child waits for it
  t.fork(201, 202, 202, 0);
  t.exec(202, 0, facts(0, {"run-parts", "--report", "/etc/cron.daily"}));
  EXPECT_TRUE(t.awaits_exec());  // a run-parts: its scripts' execs must be read at once
  t.exit(202, 202, exited(0), 1);
  EXPECT_FALSE(t.awaits_exec());
}

}  // namespace
}  // namespace cronitor::agent
