// Runs a program and captures what it prints: for tests of the command-line tools.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace cronitor::testing {

struct Output {
  int exit_code = -1;  // 128+N for a death by signal N
  std::string out, err;
};

/// Runs argv (argv[0] is a path) with stdin from /dev/null and returns its exit code and output.
inline Output run_command(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Output r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

/// Starts `bin` under the name argv[0] with the rest of `argv`, and returns its pid only once the
/// exec has happened (a close-on-exec pipe closes then): from the return on, /proc/PID/comm is the
/// program's own name, as a real daemon's is by the time it writes its pid file. `in_child` runs
/// between the fork and the exec (a process group, a uid). -1 when the fork or the exec failed.
template <typename InChild>
pid_t spawn_exec(const std::string& bin, const std::vector<std::string>& argv, InChild in_child) {
  int done[2];
  if (pipe2(done, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(done[0]);
    in_child();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(bin.c_str(), args.data());
    const int err = errno;
    (void)!write(done[1], &err, sizeof err);
    _exit(127);
  }
  close(done[1]);
  if (pid < 0) {
    close(done[0]);
    return -1;
  }
  int err = 0;
  ssize_t n;
  while ((n = read(done[0], &err, sizeof err)) < 0 && errno == EINTR) {
  }
  close(done[0]);
  if (n == 0) return pid;  // closed by the exec
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

inline pid_t spawn_exec(const std::string& bin, const std::vector<std::string>& argv) {
  return spawn_exec(bin, argv, [] {});
}

}  // namespace cronitor::testing
