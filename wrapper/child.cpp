#include "wrapper/child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

extern char** environ;

namespace cronitor::wrapper {
namespace {

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
constexpr int64_t kDrainAfterExitMs = 1000;

// Whether fds a and b share one open file description (so one pipe keeps their order).
bool same_description(int a, int b) {
#ifdef SYS_kcmp
  long r = syscall(SYS_kcmp, getpid(), getpid(), 0 /*KCMP_FILE*/, a, b);
  if (r == 0) return true;
  if (r > 0) return false;
#endif
  struct stat sa {
  }, sb{};
  if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && (S_ISFIFO(sa.st_mode) || S_ISSOCK(sa.st_mode));
}

bool fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

// Writes all of data to fd, waiting when fd is non-blocking. False when fd is broken.
bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w > 0) {
      data += w;
      n -= static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && errno == EAGAIN) {
      struct pollfd p {
        fd, POLLOUT, 0
      };
      ::poll(&p, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int64_t monotonic_ms() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  }
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev != nullptr) return std::string("SIG") + abbrev;
  return "SIG" + std::to_string(sig);
}

Child::Child(Child&& o) noexcept
    : spec_(std::move(o.spec_)),
      pid_(o.pid_),
      own_group_(o.own_group_),
      sig_fd_(std::move(o.sig_fd_)),
      out_fd_{std::move(o.out_fd_[0]), std::move(o.out_fd_[1])},
      dest_fd_{o.dest_fd_[0], o.dest_fd_[1]},
      start_error_(std::move(o.start_error_)),
      start_errno_(o.start_errno_),
      started_ms_(o.started_ms_),
      old_mask_(o.old_mask_),
      tail_(std::move(o.tail_)) {
  o.pid_ = -1;
}

Result<Child> Child::start(const ChildSpec& spec) {
  Child c;
  c.spec_ = spec;
  // Descriptors 0-2 that are closed stay closed for the job; hold them meanwhile so that our
  // own pipes cannot land on them (closed again whichever way start returns).
  bool was_closed[3] = {!fd_open(0), !fd_open(1), !fd_open(2)};
  UniqueFd held[3];
  for (int fd = 0; fd < 3; ++fd)
    if (was_closed[fd]) {
      UniqueFd n(::open("/dev/null", O_RDWR));
      if (!n) continue;
      if (n.get() == fd)
        n.release();
      else
        ::dup2(n.get(), fd);
      held[fd].reset(fd);
    }

  // The job runs in its own process group so that signals reach all of it, except when the
  // wrapper is the foreground of a terminal (the job must stay there to read it).
  c.own_group_ = !(isatty(0) && tcgetpgrp(0) == getpgrp());

  sigset_t block;
  sigemptyset(&block);
  for (int s : kForwarded) sigaddset(&block, s);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGPIPE);  // a broken stdout shows as EPIPE, never kills the wrapper
  if (sigprocmask(SIG_BLOCK, &block, &c.old_mask_) != 0) return std::unexpected(Error::from_errno("sigprocmask", ""));
  sigset_t watch = block;
  sigdelset(&watch, SIGPIPE);
  c.sig_fd_.reset(signalfd(-1, &watch, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!c.sig_fd_) return std::unexpected(Error::from_errno("signalfd", ""));
  // An inherited SIGCHLD=SIG_IGN would make the kernel reap the job before we can; the job
  // gets the inherited disposition back.
  struct sigaction old_chld {
  }, dfl{};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &dfl, &old_chld);

  // Pipes for stdout and stderr; one shared pipe when both go to the same place (keeps order).
  UniqueFd write_end[2];        // ours until the child has its copies
  int child_out[2] = {-1, -1};  // write ends for the child's fd 1 and 2
  bool capture[2] = {false, false};
  if (spec.capture) {
    for (int k = 0; k < 2; ++k) capture[k] = !was_closed[k + 1] && !isatty(k + 1);
    bool shared = capture[0] && capture[1] && same_description(1, 2);
    for (int k = 0; k < 2; ++k) {
      if (!capture[k] || (k == 1 && shared)) continue;
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) return std::unexpected(Error::from_errno("pipe2", ""));
      c.out_fd_[k].reset(p[0]);
      write_end[k].reset(p[1]);
      child_out[k] = p[1];
    }
    if (shared) child_out[1] = child_out[0];
  }
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return std::unexpected(Error::from_errno("pipe2", ""));
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  const char* argv[] = {spec.shell.c_str(), "-c", spec.command.c_str(), nullptr};
  pid_t parent = getpid();
  c.started_ms_ = monotonic_ms();
  // vfork: no page-table copy, and the parent resumes once exec is done or failed. The child
  // shares our memory, so it only makes system calls on values prepared above.
  pid_t pid = vfork();
  if (pid < 0) return std::unexpected(Error::from_errno("vfork", ""));
  if (pid == 0) {
    // Child: async-signal-safe calls only, no writes to shared memory.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(143);  // the wrapper died before we got here
    if (c.own_group_) setpgid(0, 0);
    for (int k = 0; k < 2; ++k)
      if (child_out[k] >= 0) dup2(child_out[k], k + 1);
    for (int fd = 0; fd < 3; ++fd)
      if (was_closed[fd]) close(fd);
    sigaction(SIGCHLD, &old_chld, nullptr);
    sigprocmask(SIG_SETMASK, &c.old_mask_, nullptr);
    execve(argv[0], const_cast<char**>(argv), environ);
    int e = errno;
    ssize_t ignored = write(err_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(e == ENOENT ? 127 : 126);
  }
  c.pid_ = pid;
  if (c.own_group_) setpgid(pid, pid);  // both sides set it: no race with an early signal
  for (auto& w : write_end) w.reset();
  for (auto& h : held) h.reset();
  err_write.reset();
  int e = 0;
  ssize_t n;
  do n = ::read(err_read.get(), &e, sizeof e);
  while (n < 0 && errno == EINTR);
  err_read.reset();
  if (n == static_cast<ssize_t>(sizeof e)) {
    c.start_errno_ = e;
    c.start_error_ = "cannot execute " + spec.shell + ": " + std::strerror(e);
  }
  return c;
}

void Child::forward(int sig) {
  if (pid_ <= 0) return;
  if (own_group_) {
    if (::kill(-pid_, sig) == 0) return;
  }
  ::kill(pid_, sig);
}

bool Child::pump(int k) {
  static char buf[64 * 1024];
  ssize_t n = ::read(out_fd_[k].get(), buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    out_fd_[k].reset();
    return false;
  }
  tail_.append(std::string_view(buf, static_cast<size_t>(n)));
  if (!write_all(dest_fd_[k], buf, static_cast<size_t>(n))) {
    // Our stdout is gone (EPIPE...): close the pipe so the job meets the same end.
    out_fd_[k].reset();
    return false;
  }
  return true;
}

ChildOutcome Child::wait(Watch* watch) {
  ChildOutcome out;
  int64_t deadline = spec_.timeout_ms ? started_ms_ + *spec_.timeout_ms : -1;
  int64_t kill_at = -1;
  int64_t drain_until = -1;
  bool reaped = false;
  int status = 0;
  struct rusage ru {};
  while (!reaped || ((out_fd_[0] || out_fd_[1]) && monotonic_ms() < drain_until)) {
    struct pollfd fds[4];
    int idx[4];  // 0/1: output stream, -1: signals, -2: the watch
    nfds_t nf = 0;
    if (!reaped) {
      fds[nf] = {sig_fd_.get(), POLLIN, 0};
      idx[nf++] = -1;
    }
    bool watching = watch != nullptr && watch->fire;
    if (watching && watch->fd >= 0) {
      fds[nf] = {watch->fd, POLLIN, 0};
      idx[nf++] = -2;
    }
    for (int k = 0; k < 2; ++k)
      if (out_fd_[k]) {
        fds[nf] = {out_fd_[k].get(), POLLIN, 0};
        idx[nf++] = k;
      }
    int64_t now = monotonic_ms();
    int64_t wake = -1;
    if (!reaped) {
      if (deadline >= 0 && !out.timed_out) wake = deadline;
      if (kill_at >= 0) wake = kill_at;
    } else {
      wake = drain_until;
    }
    if (watching && watch->deadline_ms >= 0 && (wake < 0 || watch->deadline_ms < wake)) wake = watch->deadline_ms;
    int timeout = wake < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, wake - now));
    int r = ::poll(fds, nf, timeout);
    if (r < 0 && errno != EINTR) break;
    now = monotonic_ms();
    if (watching) {
      bool ready = false;
      for (nfds_t i = 0; r > 0 && i < nf; ++i)
        if (idx[i] == -2 && fds[i].revents != 0) ready = true;
      if (ready || (watch->deadline_ms >= 0 && now >= watch->deadline_ms)) {
        auto fire = std::move(watch->fire);
        watch->fire = nullptr;
        fire();  // may arm the watch again
      }
    }
    if (!reaped && deadline >= 0 && !out.timed_out && now >= deadline) {
      out.timed_out = true;
      forward(SIGTERM);
      kill_at = now + spec_.kill_grace_ms;
    } else if (!reaped && kill_at >= 0 && now >= kill_at) {
      forward(SIGKILL);
      kill_at = -1;
    }
    for (nfds_t i = 0; r > 0 && i < nf; ++i) {
      if (fds[i].revents == 0 || idx[i] == -2) continue;
      if (idx[i] >= 0) {
        pump(idx[i]);
        continue;
      }
      struct signalfd_siginfo si;
      while (::read(sig_fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;
        // A terminal's own INT/QUIT already reached a job that shares our group.
        if (!own_group_ && si.ssi_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT)) continue;
        forward(sig);
      }
      pid_t w;
      do w = ::wait4(pid_, &status, WNOHANG, &ru);
      while (w < 0 && errno == EINTR);
      if (w == pid_) {
        reaped = true;
        drain_until = monotonic_ms() + kDrainAfterExitMs;
      }
    }
  }
  out_fd_[0].reset();
  out_fd_[1].reset();
  if (!reaped) {  // poll failed: should not happen, but never leave the job unreaped
    pid_t w;
    do w = ::wait4(pid_, &status, 0, &ru);
    while (w < 0 && errno == EINTR);
  }
  // Signals stay blocked until the wrapper exits: a late TERM must not cost the final event.
  out.peak_rss_bytes = int64_t{ru.ru_maxrss} * 1024;
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.term_signal = WTERMSIG(status);
    out.exit_code = 128 + out.term_signal;
  }
  out.start_error = start_error_;
  out.tail = tail_.str();
  return out;
}

}  // namespace cronitor::wrapper
