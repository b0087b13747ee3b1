#include "agent/daemon/loop_signals.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>

#include <utility>

namespace cronitor::agent {
namespace {

constexpr int kLoopSignals[] = {SIGTERM, SIGINT, SIGHUP};

}  // namespace

void LoopSignals::block() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : kLoopSignals) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
}

void LoopSignals::attach(sd_event* ev) {
  ev_ = ev;
  for (int sig : kLoopSignals) {
    sd_event_source* s = nullptr;
    sd_event_add_signal(ev, &s, sig, on_signal_cb, this);
    srcs_.emplace_back(s);
  }
}

int LoopSignals::on_signal_cb(sd_event_source*, const signalfd_siginfo* si, void* ud) {
  auto* self = static_cast<LoopSignals*>(ud);
  if (si->ssi_signo == SIGHUP) {
    self->hooks_.reload();
    return 0;
  }
  spdlog::info("signal {}: stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
  self->hooks_.stopping(si->ssi_signo == SIGTERM);
  sd_event_exit(self->ev_, 0);
  return 0;
}

}  // namespace cronitor::agent
