// cron's per-job child and its job `sh -c CMD` for tests of the process events with the real
// kernel, the test process playing cron (the tracker's root). The job's processes wait for a line
// on stdin before they end, and the test writes one only once it saw their start: their argv is
// then still in /proc when their exec is read (no sleeps).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace cronitor::testing {

// cron's per-job child and its job `sh -c cmd`, stdin from a pipe the test writes.
class FakeCronJob {
 public:
  explicit FakeCronJob(const std::string& cmd) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return;
    child_ = ::fork();
    if (child_ == 0) {
      ::setpgid(0, 0);  // the test ends the whole tree by this group if it fails half way
      ::close(in[1]);   // only the test holds the write end
      const pid_t job = ::fork();
      if (job == 0) {
        ::dup2(in[0], 0);
        ::execl("/bin/sh", "/bin/sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(126);
      }
      int status = 0;
      ::waitpid(job, &status, 0);
      ::_exit(0);
    }
    ::close(in[0]);
    release_ = in[1];
  }
  ~FakeCronJob() {
    end_input();
    if (child_ > 0) {
      if (!reaped_) ::kill(-child_, SIGKILL);  // a failed test: nothing of it stays behind
      wait();
    }
  }
  pid_t child() const { return child_; }
  /// Lets one waiting process of the job end.
  void release() {
    if (release_ >= 0) (void)!::write(release_, "\n", 1);
  }
  void end_input() {
    if (release_ >= 0) ::close(std::exchange(release_, -1));
  }
  /// Waits for cron's child (after its job) to end.
  void wait() {
    if (child_ > 0 && !reaped_) {
      int status = 0;
      ::waitpid(child_, &status, 0);
      reaped_ = true;
    }
  }

 private:
  pid_t child_ = -1;
  int release_ = -1;
  bool reaped_ = false;
};

}  // namespace cronitor::testing
