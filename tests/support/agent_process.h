// The real `cronitor-agent run` as a child of an end-to-end test: started with a config file,
// its stderr in a log file, ended by its pid.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace cronitor::testing {

/// Polls `done` every 20 ms until it holds or `limit` passed; returns its last answer.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return done();
}

class AgentProcess {
 public:
  AgentProcess(std::string binary, std::string log_path) : binary_(std::move(binary)), log_(std::move(log_path)) {}
  ~AgentProcess() { stop(SIGTERM); }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  /// Starts the daemon on `config` and waits (10 s at most) until it is ready: `socket` exists and
  /// the agent said "listening on" (its watches, the bus included, are set by then: the socket
  /// file alone appears earlier). False if not. `extra`: more arguments of `run`
  /// (e.g. "--simulated-clock=0", tests/support/simulated_clock.h).
  bool start(const std::string& config, const std::string& socket, const std::vector<std::string>& extra = {}) {
    std::filesystem::remove(socket);
    const size_t ready_before = count(log(), "listening on \"");
    pid_ = ::fork();
    if (pid_ == 0) {
      (void)!std::freopen(log_.c_str(), "a", stderr);
      std::vector<const char*> argv{binary_.c_str(), "run", "--config", config.c_str()};
      for (const auto& a : extra) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      ::execv(binary_.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    return wait_until([&] { return std::filesystem::exists(socket) && count(log(), "listening on \"") > ready_before; },
                      std::chrono::seconds(10));
  }
  void stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  /// Waits until the log holds `text`.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds limit = std::chrono::seconds(15)) const {
    return wait_until([&] { return log().find(text) != std::string::npos; }, limit);
  }

 private:
  static size_t count(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
  }
  std::string binary_, log_;
  pid_t pid_ = -1;
};

}  // namespace cronitor::testing
