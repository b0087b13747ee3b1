// The daemon's signals (agent/daemon/loop_signals.h) on a loop of its own: SIGHUP is a reload and
// leaves the loop running; SIGTERM is handed to the stopping hook and ends the loop with exit
// code 0. The test blocks the signals as the daemon does and puts its mask back after.
#include "agent/daemon/loop_signals.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <vector>

#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

TEST(LoopSignals, SighupReloadsAndSigtermEndsTheLoopWithExitCode0) {
  sigset_t old;
  pthread_sigmask(SIG_SETMASK, nullptr, &old);
  LoopSignals::block();
  {
    cronitor::testing::SdLoop loop;
    int reloads = 0;
    std::vector<bool> stops;  // sigterm?
    LoopSignals signals{{.reload = [&] { ++reloads; }, .stopping = [&](bool sigterm) { stops.push_back(sigterm); }}};
    signals.attach(loop.ev);
    ASSERT_EQ(::raise(SIGHUP), 0);
    ASSERT_TRUE(loop.run_until([&] { return reloads == 1; }));
    EXPECT_TRUE(stops.empty());
    EXPECT_NE(sd_event_get_state(loop.ev), SD_EVENT_FINISHED) << "a reload keeps the loop";
    ASSERT_EQ(::raise(SIGTERM), 0);
    ASSERT_TRUE(loop.run_until([&] { return !stops.empty(); }));
    EXPECT_EQ(stops, std::vector<bool>{true});
    EXPECT_GE(sd_event_run(loop.ev, 0), 0);  // the exit is dispatched: the loop is over
    EXPECT_EQ(sd_event_get_state(loop.ev), SD_EVENT_FINISHED);
    int code = -1;
    EXPECT_EQ(sd_event_get_exit_code(loop.ev, &code), 0);
    EXPECT_EQ(code, 0);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace
}  // namespace cronitor::agent
