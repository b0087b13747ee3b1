// SystemdWatch over a fake bus (tests/support/fake_systemd_bus.h): runs from ExecMain* with the
// InvocationID as run id, results, reconnects and resyncs that neither lose nor double-count a
// run, signals that arrive while a read waits, the manager's next elapse (monotonic clock turned
// into wall time), Persistent= catch-up runs and the unit's own OOM counter. No bus, no sleeps.
#include "agent/sources/systemd_watch.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "tests/agent/test_values.h"
#include "tests/support/fake_systemd_bus.h"

namespace cronitor::agent {
namespace {

using test_values::kInvocationId1;
using test_values::kInvocationId2;

using cronitor::testing::FakeSystemdBus;

constexpr uint64_t kRealtime = 1'764'000'000'000'000;  // 2025-11-24T16:00:00Z
constexpr uint64_t kMonotonic = 50'000'000'000;        // 50000 s since boot

struct Fixture {
  FakeSystemdBus* bus = nullptr;  // owned by the watch
  uint64_t rt = kRealtime, mono = kMonotonic;
  std::map<std::string, Result<uint64_t>> cgroups;  // ControlGroup -> oom_kill (or gone)
  std::optional<uint64_t> vmstat = 7;
  std::map<std::string, OomNotifications> notes;  // ControlGroup -> its OOM notifications (v1)
  int watches = 0;
  std::vector<cronitor::RunEvent> runs;
  std::vector<std::pair<std::string, std::string>> states;  // unit, what
  std::vector<std::string> manager;                         // "live" or the reason
  std::vector<LiveTimer> elapses;
  std::vector<std::string> catch_ups;
  std::vector<std::string> skips;  // "unit at condition"
  std::unique_ptr<SystemdWatch> watch;

  explicit Fixture(std::function<void(FakeSystemdBus&)> setup = {}) {
    auto fake = std::make_unique<FakeSystemdBus>();
    bus = fake.get();
    if (setup) setup(*bus);
    SystemdHost host;
    host.realtime_usec = [this] { return rt; };
    host.monotonic_usec = [this] { return mono; };
    host.cgroup_oom_kills = [this](const std::string& cg) -> Result<uint64_t> {
      auto it = cgroups.find(cg);
      if (it == cgroups.end()) return fail(cg + ": No such file or directory");
      return it->second;
    };
    host.system_oom_kills = [this] { return vmstat; };
    host.watch_oom = [this](const std::string& cg) -> Result<std::function<OomNotifications()>> {
      ++watches;
      if (!cgroups.contains(cg)) return fail(cg + ": No such file or directory");
      return [this, cg] { return notes[cg]; };
    };
    host.journal_tail = [](const std::string& id, size_t lines) {
      return "last of " + id.substr(0, 4) + " (" + std::to_string(lines) + ")\n";
    };
    SystemdWatch::Handler h;
    h.on_runs = [this](std::vector<cronitor::RunEvent> ev) { runs.insert(runs.end(), ev.begin(), ev.end()); };
    h.on_manager = [this](bool live, const std::string& why, const std::vector<LiveTimer>&) {
      manager.push_back(live ? "live" : why);
    };
    h.on_timer_state = [this](const LiveTimer& t, const std::string& what) { states.emplace_back(t.unit, what); };
    h.on_elapse = [this](const LiveTimer& t) { elapses.push_back(t); };
    h.on_catch_up = [this](const LiveTimer& t, uint64_t) {
      catch_ups.push_back(t.unit);
      EXPECT_TRUE(runs.empty() || runs.back().key != t.key) << "told before its run events";
    };
    h.on_skip = [this](const LiveTimer& t, uint64_t at, const std::string& condition) {
      skips.push_back(t.unit + " " + std::to_string(at) + " " + condition);
    };
    watch = std::make_unique<SystemdWatch>(std::move(fake), std::move(host), "host1", std::move(h),
                                           SystemdWatch::Options{});
  }
  /// Runs deferred calls until none waits (bounded).
  void settle() {
    for (int i = 0; i < 10 && bus->run_later(); ++i) {
    }
  }
  size_t count(const std::string& run_id_hex, RunState state) const {
    size_t n = 0;
    for (const auto& e : runs) {
      std::string id = e.run_id;
      std::erase(id, '-');
      n += id == run_id_hex && e.state == state;
    }
    return n;
  }
};

UnitProps started(const char* id, uint64_t at, const std::string& cg = "") {
  UnitProps p;
  p.invocation_id = id;
  p.active_state = "activating";
  p.exec_start_usec = at;
  p.exec_exit_usec = 0;
  p.main_pid = 4242;
  p.result = "success";
  if (!cg.empty()) p.control_group = cg;
  return p;
}

UnitProps ended_props(uint64_t at, int code, int status, const std::string& result,
                      const std::string& state = "inactive") {
  UnitProps p;
  p.exec_exit_usec = at;
  p.exec_code = code;
  p.exec_status = status;
  p.result = result;
  p.active_state = state;
  p.control_group = "";  // systemd forgets it with the cgroup
  return p;
}

/// The manager's units: t.timer, whose t.service runs (kInvocationId1); `svc` gets the service's path.
std::function<void(FakeSystemdBus&)> one_timer_running(std::string& svc) {
  return [&svc](FakeSystemdBus& b) {
    b.add_timer("t.timer", "t.service");
    svc = b.add_service("t.service", started(kInvocationId1, kRealtime));
  };
}

/// The manager's two signals for a run's change: the Service interface's, then the Unit's.
void announce(FakeSystemdBus& bus, const std::string& path, const UnitProps& p) {
  UnitProps service = p, unit;
  service.active_state.reset();
  service.invocation_id.reset();
  unit.active_state = p.active_state;
  unit.invocation_id = p.invocation_id;
  bus.change(path, service);
  if (unit.active_state || unit.invocation_id) bus.change(path, unit);
}

TEST(SystemdWatch, ListingThenSignalsGiveOneRunAndOneEndPerInvocation) {
  std::string svc;
  Fixture f([&](FakeSystemdBus& b) {
    b.add_timer("backup.timer", "backup.service");
    svc = b.add_service("backup.service");
  });
  f.watch->start();
  ASSERT_TRUE(f.watch->live());
  EXPECT_EQ(f.manager, std::vector<std::string>{"live"});
  EXPECT_TRUE(f.runs.empty()) << "a service that never ran has no run";

  announce(*f.bus, svc, started(kInvocationId1, kRealtime + 1'000'000, "/system.slice/backup.service"));
  f.settle();  // the deferred re-read of a run first seen going (its ControlGroup)
  ASSERT_EQ(f.runs.size(), 1u);
  EXPECT_EQ(f.runs[0].state, RunState::kRun);
  EXPECT_EQ(f.runs[0].run_id, "01234567-89ab-cdef-0123-456789abcdef");
  EXPECT_EQ(f.runs[0].ts, "2025-11-24T16:00:01.000Z");
  EXPECT_EQ(f.runs[0].host, "host1");

  announce(*f.bus, svc, ended_props(kRealtime + 4'000'000, 1, 3, "exit-code", "failed"));
  f.settle();
  ASSERT_EQ(f.runs.size(), 2u);
  EXPECT_EQ(f.runs[1].state, RunState::kFail);
  EXPECT_EQ(f.runs[1].exit_code, 3);
  EXPECT_EQ(f.runs[1].duration_ms, 3000);
  EXPECT_EQ(f.runs[1].output_tail, "last of 0123 (10)\n") << "the journal lines of that invocation";

  // The manager repeats itself (JobRemoved, a late signal): nothing new.
  f.bus->listener()->job_removed("backup.service");
  announce(*f.bus, svc, ended_props(kRealtime + 4'000'000, 1, 3, "exit-code", "failed"));
  EXPECT_EQ(f.runs.size(), 2u);
}

TEST(SystemdWatch, ResultWordsReachTheEvent) {
  std::string svc;
  Fixture f([&](FakeSystemdBus& b) {
    b.add_timer("t.timer", "t.service");
    UnitProps p = started(kInvocationId1, kRealtime);
    merge_props(p, ended_props(kRealtime + 1'000'000, 2, 15, "timeout", "failed"));
    svc = b.add_service("t.service", p);
  });
  f.watch->start();
  ASSERT_EQ(f.runs.size(), 2u) << "first seen ended: its run and its end";
  EXPECT_TRUE(f.runs[1].timeout);
  EXPECT_EQ(f.runs[1].signal, "SIGTERM");
  EXPECT_EQ(f.runs[1].exit_code, 143);
}

TEST(SystemdWatch, ReconnectNeitherLosesNorDoubleCountsARun) {
  std::string svc;
  Fixture f(one_timer_running(svc));
  f.watch->start();
  ASSERT_EQ(f.runs.size(), 1u);  // going

  // The bus goes away; the run ends while nobody listens, then the bus comes back.
  f.bus->bus_up = false;
  f.bus->drop();
  EXPECT_FALSE(f.watch->live());
  f.bus->change_quietly(svc, ended_props(kRealtime + 2'000'000, 1, 0, "success"));
  ASSERT_TRUE(f.bus->run_later());  // the first retry: nobody answers
  EXPECT_FALSE(f.watch->live());
  EXPECT_EQ(f.watch->backoff_usec(), 2'000'000u) << "back-off doubles";
  f.bus->bus_up = true;
  ASSERT_TRUE(f.bus->run_later());
  ASSERT_TRUE(f.watch->live());
  EXPECT_EQ(f.count(kInvocationId1, RunState::kRun), 1u);
  EXPECT_EQ(f.count(kInvocationId1, RunState::kComplete), 1u) << "the end that came meanwhile";

  // A whole run while the manager is away (daemon-reexec), then a resync: reported once.
  f.bus->listener()->manager_owner(false);  // daemon-reexec
  f.bus->change_quietly(svc, started(kInvocationId2, kRealtime + 10'000'000));
  f.bus->change_quietly(svc, ended_props(kRealtime + 11'000'000, 1, 0, "success"));
  f.bus->listener()->manager_owner(true);
  f.settle();
  EXPECT_EQ(f.count(kInvocationId2, RunState::kRun), 1u);
  EXPECT_EQ(f.count(kInvocationId2, RunState::kComplete), 1u);
  // A reload resyncs again: nothing is counted twice.
  f.bus->listener()->reloading(true);
  f.bus->listener()->reloading(false);
  f.settle();
  EXPECT_EQ(f.count(kInvocationId1, RunState::kComplete), 1u);
  EXPECT_EQ(f.count(kInvocationId2, RunState::kComplete), 1u);
  EXPECT_EQ(f.runs.size(), 4u);
  EXPECT_GE(f.bus->lists, 4);
}

TEST(SystemdWatch, AManagerThatDoesNotAnswerIsRetriedWithBackOff) {
  Fixture f([](FakeSystemdBus& b) {
    b.manager_answers = false;
    b.add_timer("t.timer", "t.service");
  });
  f.watch->start();
  EXPECT_FALSE(f.watch->live());
  ASSERT_EQ(f.manager.size(), 1u);
  EXPECT_NE(f.manager[0].find("no systemd manager answers"), std::string::npos) << f.manager[0];
  EXPECT_EQ(f.bus->later_delay(), 1'000'000u);
  ASSERT_TRUE(f.bus->run_later());
  EXPECT_EQ(f.bus->later_delay(), 2'000'000u);
  ASSERT_TRUE(f.bus->run_later());
  EXPECT_EQ(f.bus->later_delay(), 4'000'000u);
  EXPECT_EQ(f.bus->opens, 1) << "the connection stands; only the manager is asked again";
  f.bus->manager_answers = true;
  ASSERT_TRUE(f.bus->run_later());
  EXPECT_TRUE(f.watch->live());
  EXPECT_EQ(f.watch->timer_count(), 1u);
  EXPECT_FALSE(f.bus->later_waiting()) << "idle: nothing scheduled";
}

TEST(SystemdWatch, AReadCutByAReexecKeepsTheConnectionAndResyncsOnTheManagersReturn) {
  std::string svc;
  Fixture f(one_timer_running(svc));
  f.watch->start();
  ASSERT_TRUE(f.watch->live());
  ASSERT_EQ(f.bus->opens, 1);

  // The run ends; reading it fails because the manager leaves the bus mid-call (daemon-reexec).
  f.bus->reads_fail = true;
  f.bus->change_quietly(svc, ended_props(kRealtime + 2'000'000, 1, 0, "success"));
  UnitProps invalidated;
  invalidated.invalidated = true;  // named only: the watch must read it
  f.bus->change(svc, invalidated);
  ASSERT_TRUE(f.bus->run_later());
  EXPECT_FALSE(f.watch->live());
  ASSERT_TRUE(f.bus->connected()) << "the bus is up: the connection is kept";
  f.bus->listener()->manager_owner(false);
  f.bus->reads_fail = false;
  f.bus->listener()->manager_owner(true);
  f.settle();
  EXPECT_TRUE(f.watch->live());
  EXPECT_EQ(f.bus->opens, 1);
  EXPECT_EQ(f.count(kInvocationId1, RunState::kRun), 1u);
  EXPECT_EQ(f.count(kInvocationId1, RunState::kComplete), 1u) << "the end the failed read missed";
}

TEST(SystemdWatch, ASignalDuringTheReadIsTakenInStreamOrder) {
  std::string svc;
  Fixture f(one_timer_running(svc));
  // The run ends while the listing reads it: the signal is newer than the replies.
  f.bus->during_read = [&](std::vector<UnitRead>& reads) {
    for (const auto& r : reads)
      if (r.path == svc) announce(*f.bus, svc, ended_props(kRealtime + 3'000'000, 1, 0, "success"));
  };
  f.watch->start();
  f.bus->during_read = nullptr;
  ASSERT_EQ(f.runs.size(), 2u);
  EXPECT_EQ(f.runs[1].state, RunState::kComplete);
  EXPECT_EQ(f.runs[1].duration_ms, 3000);
}

TEST(SystemdWatch, NextElapseFromEitherClockAsWallTime) {
  std::string timer;
  Fixture f([&](FakeSystemdBus& b) {
    UnitProps p;
    p.next_elapse_monotonic_usec = kMonotonic + 5'000'000;  // OnUnitActiveSec=5s
    p.next_elapse_realtime_usec = 0;
    p.accuracy_usec = 1'000;
    timer = b.add_timer("mono.timer", "mono.service", p);
    b.add_service("mono.service");
  });
  f.watch->start();
  auto list = f.watch->timer_list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].next_elapse_usec, kRealtime + 5'000'000);
  EXPECT_EQ(list[0].accuracy_usec, 1'000u);

  // 7 s later, after the wall clock was set 1 h back, the manager moves it on.
  f.mono += 7'000'000;
  f.rt = f.rt + 7'000'000 - 3'600'000'000;
  UnitProps p;
  p.next_elapse_monotonic_usec = kMonotonic + 12'000'000;
  f.bus->change(timer, p);
  ASSERT_EQ(f.elapses.size(), 1u);
  EXPECT_EQ(f.elapses[0].next_elapse_usec, f.rt + 5'000'000);
  // Both clocks: the sooner.
  p = {};
  p.next_elapse_realtime_usec = f.rt + 2'000'000;
  f.bus->change(timer, p);
  ASSERT_EQ(f.elapses.size(), 2u);
  EXPECT_EQ(f.elapses[1].next_elapse_usec, f.rt + 2'000'000);
  // Unchanged: not told again.
  f.bus->change(timer, p);
  EXPECT_EQ(f.elapses.size(), 2u);
}

TEST(SystemdWatch, PersistentCatchUpIsToldBeforeItsRun) {
  const uint64_t boot = kRealtime;
  Fixture f([&](FakeSystemdBus& b) {
    UnitProps p;
    p.persistent = true;
    p.active_enter_usec = boot;
    p.last_trigger_usec = boot + 50'000;  // fired as it became active: a missed slot
    b.add_timer("daily.timer", "daily.service", p);
    b.add_service("daily.service", started(kInvocationId1, boot + 3'000'000));
    p.persistent = false;  // the same, without Persistent=
    b.add_timer("plain.timer", "plain.service", p);
    b.add_service("plain.service", started(kInvocationId2, boot + 3'000'000));
  });
  f.watch->start();
  EXPECT_EQ(f.catch_ups, std::vector<std::string>{"daily.timer"});
  EXPECT_EQ(f.runs.size(), 2u);

  LiveTimer t;
  t.persistent = true;
  t.active_enter_usec = boot;
  t.last_trigger_usec = boot + 3'600'000'000;  // an hour after: an ordinary slot
  EXPECT_FALSE(is_catch_up(t, t.last_trigger_usec + 100));
  t.last_trigger_usec = boot + 100;
  EXPECT_TRUE(is_catch_up(t, boot + 200));
  EXPECT_FALSE(is_catch_up(t, boot - 5'000'000)) << "a run from before the trigger (started by hand)";
  // Not Persistent=: an OnCalendar= timer started again fires at once on systemd 252 (#31231).
  t.persistent = false;
  EXPECT_FALSE(is_catch_up(t, boot + 200)) << "no calendar: nothing to catch up on";
  t.calendar = {"*-*-* *:*:00/5"};
  EXPECT_TRUE(is_catch_up(t, boot + 200));
  t.last_trigger_usec = boot + 1'900'000;
  EXPECT_FALSE(is_catch_up(t, boot + 1'900'100)) << "a slot 1.9 s after the start: its own run";
  t.last_trigger_usec = boot + 100;
  t.monotonic = {"OnActiveSec=1s"};
  EXPECT_FALSE(is_catch_up(t, boot + 200)) << "OnActiveSec= fires after the activation by design";
}

// Issue 17: each state change of a timer tells once what it is; a masked timer unmasked and
// read but not started is stopped (no longer masked), not started and not missed.
TEST(SystemdWatch, TimerChangeTellsEachStateOnce) {
  auto timer = [](const std::string& active, const std::string& load = "loaded") {
    LiveTimer t;
    t.unit = "t.timer";
    t.active_state = active;
    t.load_state = load;
    return t;
  };
  EXPECT_EQ(timer_change(timer("inactive"), timer("active")), "");
  EXPECT_EQ(timer_change(timer("failed", "masked"), timer("active")), "");
  EXPECT_EQ(timer_change(timer("active"), timer("inactive")), "stopped");
  EXPECT_EQ(timer_change(timer("active"), timer("failed", "masked")), "masked");
  EXPECT_EQ(timer_change(timer("active"), timer("inactive", "masked")), "masked") << "mask --now";
  EXPECT_EQ(timer_change(timer("failed", "masked"), timer("failed")), "stopped") << "unmasked, read, not started";
  EXPECT_EQ(timer_change(timer("inactive", "masked"), timer("inactive")), "stopped");
  EXPECT_EQ(timer_change(timer("active"), timer("active")), std::nullopt);
  EXPECT_EQ(timer_change(timer("inactive"), timer("inactive")), std::nullopt);
  EXPECT_EQ(timer_change(timer("failed", "masked"), timer("failed", "masked")), std::nullopt);
  EXPECT_EQ(timer_change(timer("inactive"), timer("inactive", "masked")), "masked") << "masked while stopped";
  EXPECT_EQ(timer_change(timer("active"), timer("activating")), std::nullopt);
}

TEST(SystemdWatch, OomFromTheUnitsOwnCgroupElseTheSystemCount) {
  struct Case {
    const char* name;
    std::optional<uint64_t> while_running;  // the cgroup's count read while it ran (none: not read)
    std::optional<uint64_t> at_end;         // none: the cgroup is gone at the end
    uint64_t vmstat_at_end;
    bool oom;
    OomNotifications notes{};  // read while the cgroup existed, and after it was gone
  };
  const Case cases[] = {
      {"read at the end", 0, 1, 7, true},
      {"plain kill -9, cgroup read at the end", 0, 0, 9, false},
      {"gone at the end, counted while running", 1, std::nullopt, 7, true},
      {"gone at the end, vmstat rose", 0, std::nullopt, 8, true},
      {"gone at the end, vmstat still", 0, std::nullopt, 7, false},
      {"gone, notified of an OOM while it existed", 0, std::nullopt, 7, true, {1, 0}},
      {"gone, no OOM notification: vmstat decides", 0, std::nullopt, 8, true, {0, 0}},
      {"gone, the OOM's note read late with the removal's", 0, std::nullopt, 7, true, {0, 2}},
      {"gone, only the removal's note: vmstat decides", 0, std::nullopt, 7, false, {0, 1}},
  };
  for (const auto& c : cases) {
    std::string svc;
    const std::string cg = "/system.slice/t.service";
    Fixture f([&](FakeSystemdBus& b) {
      b.add_timer("t.timer", "t.service");
      svc = b.add_service("t.service");
    });
    f.watch->start();
    if (c.while_running) f.cgroups.insert_or_assign(cg, *c.while_running);
    announce(*f.bus, svc, started(kInvocationId1, kRealtime, cg));
    f.settle();
    if (c.while_running) {
      EXPECT_EQ(f.watches, 1) << c.name << ": watched while it ran";
    }
    f.notes[cg] = c.notes;
    f.cgroups.erase(cg);
    if (c.at_end) f.cgroups.insert_or_assign(cg, *c.at_end);
    f.vmstat = c.vmstat_at_end;
    announce(*f.bus, svc, ended_props(kRealtime + 1'000'000, 2, 9, "signal", "failed"));
    ASSERT_EQ(f.runs.size(), 2u) << c.name;
    EXPECT_EQ(f.runs[1].signal, "SIGKILL") << c.name;
    EXPECT_EQ(f.runs[1].oom, c.oom) << c.name;
  }
}

TEST(SystemdWatch, TimersComeStopAndGo) {
  std::string t1;
  Fixture f([&](FakeSystemdBus& b) {
    t1 = b.add_timer("a.timer", "a.service");
    b.add_service("a.service");
  });
  f.watch->start();
  UnitProps stop;
  stop.active_state = "inactive";
  f.bus->change(t1, stop);
  ASSERT_EQ(f.states.size(), 1u);
  EXPECT_EQ(f.states[0], std::make_pair(std::string("a.timer"), std::string("stopped")));

  // A new timer: read once the loop is free, and said to be up.
  const std::string t2 = f.bus->add_timer("b.timer", "b.service");
  f.bus->add_service("b.service", started(kInvocationId1, kRealtime));
  f.bus->listener()->unit_new("b.timer", t2);
  EXPECT_EQ(f.watch->timer_count(), 1u) << "not from inside the bus's dispatch";
  f.settle();
  EXPECT_EQ(f.watch->timer_count(), 2u);
  EXPECT_EQ(f.states.back(), std::make_pair(std::string("b.timer"), std::string("")));
  EXPECT_EQ(f.count(kInvocationId1, RunState::kRun), 1u);

  // Removed during a reload: the resync after it tells.
  f.bus->listener()->reloading(true);
  f.bus->units.erase(t1);
  f.bus->unit_files_on_disk.erase("a.timer");
  f.bus->listener()->unit_removed("a.timer", t1);
  EXPECT_EQ(f.states.size(), 2u) << "nothing while reloading";
  f.bus->listener()->reloading(false);
  f.settle();
  EXPECT_EQ(f.states.back(), std::make_pair(std::string("a.timer"), std::string("removed")));
  EXPECT_EQ(f.watch->timer_count(), 1u);
}

// Issue 17: a timer that no unit wants (started with `systemctl start`, never enabled) is
// unloaded by the manager as soon as it stops, and loaded again by anything that asks about it,
// a read of ours included. The stop is told once, the timer stays known (stopped) while its
// unit file remains, and nothing reads it until it runs again; nothing loops.
TEST(SystemdWatch, AStoppedTimerIsToldOnceAndNotReadInALoop) {
  using State = std::pair<std::string, std::string>;
  std::string t;
  Fixture f([&](FakeSystemdBus& b) {
    t = b.add_timer("b.timer", "b.service");
    b.unit_files_on_disk["b.timer"] = "disabled";
    b.add_service("b.service");
  });
  f.watch->start();
  int reads = f.bus->reads;
  const int lists = f.bus->lists;
  UnitProps stop;
  stop.active_state = "inactive";
  stop.next_elapse_realtime_usec = 0;
  f.bus->change(t, stop);
  // The manager unloads it; `systemctl` asks about it (loaded again), the manager unloads it
  // again before our loop is free; and so on, as long as anybody loads it.
  for (int i = 0; i < 50; ++i) {
    if (i == 1) f.bus->load(t);
    f.bus->collect();
    f.bus->run_later();
  }
  EXPECT_EQ(f.states, std::vector<State>{State("b.timer", "stopped")});
  EXPECT_EQ(f.bus->reads, reads) << "a stopped timer is not read";
  EXPECT_EQ(f.bus->loads, 0) << "nor loaded by us";
  EXPECT_EQ(f.bus->lists, lists);
  EXPECT_FALSE(f.bus->later_waiting());
  ASSERT_EQ(f.watch->timer_count(), 1u) << "still a known timer";
  EXPECT_EQ(f.watch->timer_list()[0].active_state, "inactive");
  EXPECT_FALSE(f.watch->timer_list()[0].loaded);

  // A daemon-reload does not list it (it is not loaded): its unit file keeps it, untold.
  f.bus->listener()->reloading(true);
  f.bus->listener()->reloading(false);
  f.settle();
  EXPECT_EQ(f.states.size(), 1u);
  EXPECT_EQ(f.watch->timer_count(), 1u);
  EXPECT_EQ(f.bus->loads, 0);
  reads = f.bus->reads;  // the resync's (of no timer)

  // Started again: told once, by its signals.
  f.bus->load(t);
  UnitProps up;
  up.active_state = "active";
  up.next_elapse_realtime_usec = kRealtime + 5'000'000;
  f.bus->change(t, up);
  f.settle();
  EXPECT_EQ(f.bus->collect(), 0) << "an active timer stays loaded";
  EXPECT_EQ(f.states, (std::vector<State>{State("b.timer", "stopped"), State("b.timer", "")}));
  ASSERT_EQ(f.watch->timer_count(), 1u);
  EXPECT_TRUE(f.watch->timer_list()[0].loaded);
  EXPECT_EQ(f.watch->timer_list()[0].next_elapse_usec, kRealtime + 5'000'000);
  EXPECT_EQ(f.bus->reads, reads);

  // Stopped with its unit file deleted: stopped, then removed, each once.
  f.bus->unit_files_on_disk.erase("b.timer");
  f.bus->change(t, stop);
  for (int i = 0; i < 10; ++i) {
    f.bus->collect();
    f.bus->run_later();
  }
  EXPECT_EQ(f.states, (std::vector<State>{State("b.timer", "stopped"), State("b.timer", ""),
                                          State("b.timer", "stopped"), State("b.timer", "removed")}));
  EXPECT_EQ(f.watch->timer_count(), 0u);
  EXPECT_EQ(f.bus->reads, reads);
}

// A stopped timer unloaded while we were away (a reconnect) is found by its unit file at the
// resync: told stopped once, not removed; one whose file went is removed.
TEST(SystemdWatch, TimersUnloadedWhileAwayAreJudgedByTheirUnitFiles) {
  using State = std::pair<std::string, std::string>;
  std::string a, b, c;
  Fixture f([&](FakeSystemdBus& bus) {
    a = bus.add_timer("a.timer", "a.service");
    b = bus.add_timer("b.timer", "b.service");
    c = bus.add_timer("c.timer", "c.service");  // enabled: stays loaded when stopped
    bus.unit_files_on_disk["a.timer"] = bus.unit_files_on_disk["b.timer"] = "disabled";
  });
  f.watch->start();
  f.bus->drop();
  UnitProps stop;
  stop.active_state = "inactive";
  for (const auto& t : {a, b, c}) f.bus->change_quietly(t, stop);
  f.bus->unit_files_on_disk.erase("b.timer");
  f.bus->collect();
  f.settle();
  ASSERT_TRUE(f.watch->live());
  EXPECT_EQ(f.states, (std::vector<State>{State("c.timer", "stopped"), State("a.timer", "stopped"),
                                          State("b.timer", "removed")}));
  EXPECT_EQ(f.watch->timer_count(), 2u);
  EXPECT_EQ(f.bus->loads, 0);
  // Started again while away: told at the next resync, once.
  f.bus->drop();
  UnitProps up;
  up.active_state = "active";
  f.bus->change_quietly(c, up);
  f.settle();
  EXPECT_EQ(f.states.back(), State("c.timer", ""));
  EXPECT_EQ(f.states.size(), 4u);
}

// d.timer (of d.service; its unit file "disabled": no unit wants it), watched; then stopped, its
// unit file deleted and the timer unloaded by the manager's garbage collection.
struct DeletedTimer {
  std::string t;
  Fixture f{[this](FakeSystemdBus& b) {
    t = b.add_timer("d.timer", "d.service");
    b.unit_files_on_disk["d.timer"] = "disabled";
    b.add_service("d.service");
  }};
  DeletedTimer() {
    f.watch->start();
    UnitProps stop;
    stop.active_state = "inactive";
    f.bus->change(t, stop);
    f.bus->unit_files_on_disk.erase("d.timer");
    f.bus->collect();
    f.settle();
  }
};

TEST(SystemdWatch, ADeletedTimerLoadedAgainAsNotFoundIsNoTimerAndNotToldTwice) {
  // The real manager did this after `systemctl stop`, `rm` of the unit files and a daemon-reload:
  // a look at the gone timer loaded it as "not-found" (UnitNew), and the agent read it, took it
  // for a timer and told its removal a second time.
  using State = std::pair<std::string, std::string>;
  DeletedTimer d;
  Fixture& f = d.f;
  EXPECT_EQ(f.states, (std::vector<State>{State("d.timer", "stopped"), State("d.timer", "removed")}));
  EXPECT_EQ(f.watch->timer_count(), 0u);
  f.bus->load_missing("d.timer");
  f.settle();
  EXPECT_EQ(f.watch->timer_count(), 0u) << "a not-found unit is no timer";
  f.bus->collect();
  f.settle();
  EXPECT_EQ(f.states.size(), 2u) << "its removal is told once";
  EXPECT_FALSE(f.bus->later_waiting());
}

TEST(SystemdWatch, ADeletedTimerReadAsNotFoundIsNotReadAgainForTheLoadItsOwnReadMade) {
  // The real manager, in the e2e suite beside the process-event suites: a look at a deleted timer
  // loaded it as "not-found"; the agent's read of it loaded it again once the manager's garbage
  // collection had unloaded it, the UnitNew of that load made another read, and so on: 0.7 s of
  // CPU in every 5 s, and not a line in the log.
  using State = std::pair<std::string, std::string>;
  DeletedTimer d;
  Fixture& f = d.f;
  ASSERT_EQ(f.states, (std::vector<State>{State("d.timer", "stopped"), State("d.timer", "removed")}));
  // The manager's garbage collection runs right after every read: what a read loaded goes again.
  f.bus->during_read = [&](std::vector<UnitRead>&) { f.bus->collect(); };
  const int reads = f.bus->reads, loads = f.bus->loads;
  f.bus->load_missing("d.timer");  // someone's look at it
  f.bus->collect();
  f.settle();
  EXPECT_EQ(f.bus->reads - reads, 1) << "read once, as not-found";
  EXPECT_EQ(f.bus->loads - loads, 1) << "the read loaded it (its UnitNew came during the read)";
  EXPECT_FALSE(f.bus->later_waiting()) << "idle";
  EXPECT_EQ(f.watch->timer_count(), 0u);
  // The same load told after the read (the manager's signal queue), or another look: not read.
  f.bus->load_missing("d.timer");
  f.bus->collect();
  f.settle();
  EXPECT_EQ(f.bus->reads - reads, 1);
  EXPECT_FALSE(f.bus->later_waiting());
  EXPECT_EQ(f.states.size(), 2u) << "nothing more told";

  // Its unit file back and the timer started: loaded (UnitNew), then active. A timer again.
  f.bus->during_read = nullptr;
  f.bus->add_timer("d.timer", "d.service");
  f.bus->listener()->unit_new("d.timer", d.t);
  f.settle();
  EXPECT_EQ(f.watch->timer_count(), 0u) << "a load alone is no start";
  UnitProps start;
  start.active_state = "active";
  f.bus->change(d.t, start);
  f.settle();
  EXPECT_EQ(f.watch->timer_count(), 1u) << "started: read and watched again";
  EXPECT_FALSE(f.bus->later_waiting());
}

}  // namespace
}  // namespace cronitor::agent

namespace cronitor::agent {
namespace {

// Issue 17, item 2: while a timer's service runs, the manager gives USEC_INFINITY for both next
// elapses. That is no elapse, not infinity plus the clocks' offset (which wraps to the boot
// time, and a started-only timer's monitor then "missed its run at <boot time>").
TEST(SystemdWatch, TheManagersInfiniteElapseWhileItsServiceRunsIsNoElapse) {
  std::string timer;
  Fixture f([&](FakeSystemdBus& b) {
    UnitProps p;
    p.next_elapse_realtime_usec = kRealtime + 5'000'000;
    p.next_elapse_monotonic_usec = 0;
    timer = b.add_timer("t.timer", "t.service", p);
    b.add_service("t.service");
  });
  f.watch->start();
  UnitProps firing;
  firing.next_elapse_realtime_usec = UINT64_MAX;
  firing.next_elapse_monotonic_usec = UINT64_MAX;
  firing.last_trigger_usec = kRealtime + 5'000'000;
  f.bus->change(timer, firing);
  ASSERT_EQ(f.elapses.size(), 1u);
  EXPECT_EQ(f.elapses[0].next_elapse_usec, 0u) << "boot time would be " << kRealtime - kMonotonic;
  EXPECT_EQ(f.watch->timer_list()[0].next_elapse_usec, 0u);
  UnitProps waiting;  // the run ended: the next slot
  waiting.next_elapse_realtime_usec = kRealtime + 10'000'000;
  waiting.next_elapse_monotonic_usec = 0;
  f.bus->change(timer, waiting);
  ASSERT_EQ(f.elapses.size(), 2u);
  EXPECT_EQ(f.elapses[1].next_elapse_usec, kRealtime + 10'000'000);
}

// The schedule comes from the manager (TimersCalendar, TimersMonotonic): started-only and
// transient timers have no unit file that discovery reads.
TEST(SystemdWatch, ATimersScheduleIsTheManagers) {
  Fixture f([&](FakeSystemdBus& b) {
    UnitProps p;
    p.calendar = std::vector<std::string>{"*-*-* *:*:00/5"};
    p.monotonic = std::vector<std::string>{};
    b.add_timer("run-r1.timer", "run-r1.service", p);
    b.add_service("run-r1.service");
    UnitProps m;
    m.calendar = std::vector<std::string>{};
    m.monotonic = std::vector<std::string>{"OnActiveSec=1s", "OnUnitActiveSec=5s"};
    b.add_timer("mono.timer", "mono.service", m);
    b.add_service("mono.service");
  });
  f.watch->start();
  std::map<std::string, LiveTimer> by_unit;
  for (const auto& t : f.watch->timer_list()) by_unit[t.unit] = t;
  EXPECT_EQ(by_unit["run-r1.timer"].calendar, std::vector<std::string>{"*-*-* *:*:00/5"});
  EXPECT_TRUE(by_unit["run-r1.timer"].monotonic.empty());
  EXPECT_EQ(by_unit["mono.timer"].monotonic, (std::vector<std::string>{"OnActiveSec=1s", "OnUnitActiveSec=5s"}));
}

UnitProps skipped_at(uint64_t at) {
  UnitProps p;
  p.condition_result = false;
  p.condition_usec = at;
  p.active_state = "inactive";
  return p;
}

// Issue 17, item 3: a start the manager skips (a Condition*= failed: ConditionResult=no with a
// new ConditionTimestamp, no InvocationID, the unit stays inactive) is told once, with the
// condition read from Conditions, and is no run.
TEST(SystemdWatch, AStartSkippedByAFailedConditionIsToldOnceWithItsCondition) {
  std::string svc;
  Fixture f([&](FakeSystemdBus& b) {
    b.add_timer("cond.timer", "cond.service");
    UnitProps p;
    p.failed_condition = "ConditionPathExists=/srv/flag";
    svc = b.add_service("cond.service", p);
  });
  f.watch->start();
  EXPECT_TRUE(f.skips.empty()) << "never checked: no skip";
  // The trigger: first the queued job (the old check), then the new check's result.
  UnitProps queued;
  queued.condition_result = false;
  queued.condition_usec = 0;
  queued.active_state = "inactive";
  f.bus->change(svc, queued);
  f.settle();
  EXPECT_TRUE(f.skips.empty());
  f.bus->change(svc, skipped_at(kRealtime + 5'000'000));
  f.settle();
  ASSERT_EQ(f.skips.size(), 1u);
  EXPECT_EQ(f.skips[0], "cond.timer " + std::to_string(kRealtime + 5'000'000) + " ConditionPathExists=/srv/flag");
  EXPECT_EQ(f.bus->condition_reads, 1);
  EXPECT_TRUE(f.runs.empty()) << "a skipped start is no run";
  // Repeated (a late signal, JobRemoved, a resync): not told again.
  f.bus->change(svc, skipped_at(kRealtime + 5'000'000));
  f.bus->listener()->job_removed("cond.service");
  f.settle();
  EXPECT_EQ(f.skips.size(), 1u);
  // The next trigger skips again: told again.
  f.bus->change(svc, skipped_at(kRealtime + 10'000'000));
  f.settle();
  ASSERT_EQ(f.skips.size(), 2u);
  // The condition holds again: a run, no skip.
  UnitProps ok = started(kInvocationId1, kRealtime + 15'000'000);
  ok.condition_result = true;
  ok.condition_usec = kRealtime + 15'000'000;
  announce(*f.bus, svc, ok);
  f.settle();
  announce(*f.bus, svc, ended_props(kRealtime + 15'500'000, 1, 0, "success"));
  f.settle();
  EXPECT_EQ(f.skips.size(), 2u);
  EXPECT_EQ(f.count("0123456789abcdef0123456789abcdef", RunState::kComplete), 1u);
}

// A skip that happened while nobody listened (before the agent started) is told at the listing,
// once; a manager that cannot say which condition failed still has the skip told.
TEST(SystemdWatch, ASkipSeenAtTheListingIsToldAndAnUnreadableConditionIsNoLoop) {
  std::string svc;
  Fixture f([&](FakeSystemdBus& b) {
    b.add_timer("cond.timer", "cond.service");
    svc = b.add_service("cond.service", skipped_at(kRealtime - 60'000'000));
  });
  f.watch->start();
  f.settle();
  ASSERT_EQ(f.skips.size(), 1u);
  EXPECT_EQ(f.skips[0], "cond.timer " + std::to_string(kRealtime - 60'000'000) + " ");
  EXPECT_EQ(f.bus->condition_reads, 1) << "asked once";
  EXPECT_FALSE(f.bus->later_waiting());
}

UnitProps assert_failed_at(uint64_t at) {
  UnitProps p;
  p.condition_result = true;
  p.condition_usec = at;
  p.assert_result = false;
  p.assert_usec = at;
  p.active_state = "inactive";
  p.result = "success";  // the manager failed the start job, not the service: its Result stays
  return p;
}

// Issue 17: a start the manager fails because an Assert*= does not hold (AssertResult=no with a
// new AssertTimestamp, no InvocationID, the unit stays inactive with Result "success") is a
// failed run, once, with the assertion as its error and no exit code (it was nothing: a miss).
TEST(SystemdWatch, AStartFailedByAnAssertionIsAFailedRunWithTheAssertion) {
  std::string svc;
  Fixture f([&](FakeSystemdBus& b) {
    b.add_timer("as.timer", "as.service");
    UnitProps p;
    p.failed_assert = "AssertPathExists=/srv/flag";
    svc = b.add_service("as.service", p);
  });
  f.watch->start();
  EXPECT_TRUE(f.runs.empty());
  f.bus->change(svc, assert_failed_at(kRealtime + 5'000'000));
  f.settle();
  ASSERT_EQ(f.runs.size(), 2u);
  EXPECT_EQ(f.runs[0].state, RunState::kRun);
  EXPECT_EQ(f.runs[1].state, RunState::kFail);
  EXPECT_EQ(f.runs[0].run_id, f.runs[1].run_id);
  EXPECT_EQ(f.runs[1].error, "AssertPathExists=/srv/flag failed");
  EXPECT_EQ(f.runs[1].exit_code, 0);
  EXPECT_FALSE(f.runs[1].signal);
  EXPECT_EQ(f.runs[1].ts, format_timestamp_ms(static_cast<int64_t>((kRealtime + 5'000'000) / 1000)));
  EXPECT_TRUE(f.skips.empty()) << "no Condition*= failed";
  EXPECT_EQ(f.bus->condition_reads, 1);
  // Repeated (a late signal, JobRemoved with result "assert", a resync): not told again.
  const std::string first = f.runs[0].run_id;
  f.bus->change(svc, assert_failed_at(kRealtime + 5'000'000));
  f.bus->listener()->job_removed("as.service");
  f.settle();
  EXPECT_EQ(f.runs.size(), 2u);
  // The next trigger fails again: another run, with its own id.
  f.bus->change(svc, assert_failed_at(kRealtime + 10'000'000));
  f.settle();
  ASSERT_EQ(f.runs.size(), 4u);
  EXPECT_NE(f.runs[2].run_id, first);
  EXPECT_FALSE(f.bus->later_waiting()) << "no loop";
  // The run id is the same whoever tells it (a restart's listing): the store drops the repeat.
  auto again = failed_assert_events("k", "as.service", kRealtime + 5'000'000, "", "host1");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].run_id, first);
  EXPECT_EQ(again[1].error, "an Assert*= failed");
}

// Issue 17: `systemctl mask` and the daemon-reload that reads it (the manager then has the timer
// LoadState "masked", ActiveState "failed"), and a masked timer unloaded after `mask --now`
// (its unit file's state "masked"): told "masked", once, not "stopped"; unmasked and started,
// told started again.
TEST(SystemdWatch, AMaskedTimerIsToldMaskedOnce) {
  std::string t1, t2;
  Fixture f([&](FakeSystemdBus& b) {
    t1 = b.add_timer("m.timer", "m.service");
    b.add_service("m.service");
    t2 = b.add_timer("n.timer", "n.service");
    b.add_service("n.service");
  });
  f.watch->start();
  f.bus->listener()->reloading(true);
  f.bus->units[t1].props.load_state = "masked";
  f.bus->units[t1].props.active_state = "failed";
  f.bus->listener()->reloading(false);
  f.settle();
  using State = std::pair<std::string, std::string>;
  EXPECT_EQ(f.states, std::vector<State>{State("m.timer", "masked")});
  f.bus->listener()->reloading(true);  // another reload: nothing new
  f.bus->listener()->reloading(false);
  f.settle();
  EXPECT_EQ(f.states.size(), 1u);
  // n.timer: stopped and unloaded, its unit file masked.
  f.bus->unit_files_on_disk["n.timer"] = "masked";
  f.bus->units.erase(t2);
  f.bus->listener()->unit_removed("n.timer", t2);
  f.settle();
  EXPECT_EQ(f.states.back(), State("n.timer", "masked"));
  // m.timer unmasked and read (no longer masked: stopped), then started.
  f.bus->listener()->reloading(true);
  f.bus->units[t1].props.load_state = "loaded";
  f.bus->units[t1].props.active_state = "inactive";
  f.bus->listener()->reloading(false);
  f.settle();
  EXPECT_EQ(f.states.back(), State("m.timer", "stopped"));
  UnitProps up;
  up.active_state = "active";
  f.bus->change(t1, up);
  f.settle();
  EXPECT_EQ(f.states, (std::vector<State>{State("m.timer", "masked"), State("n.timer", "masked"),
                                          State("m.timer", "stopped"), State("m.timer", "")}));
  EXPECT_FALSE(f.bus->later_waiting());
}

}  // namespace
}  // namespace cronitor::agent
