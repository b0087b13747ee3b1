// Starts tests/support/http_recorder.py (a real HTTP server on 127.0.0.1) and reads what it got.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace cronitor::testing {

class HttpRecorder {
 public:
  /// `script` is the path of http_recorder.py; `dir` a scratch folder for its files.
  HttpRecorder(const std::string& script, const std::string& dir, int fail_first = 0)
      : portfile_(dir + "/recorder.port"), out_(dir + "/recorder.jsonl"), mode_(dir + "/recorder.mode") {
    std::filesystem::remove(mode_);
    std::filesystem::remove(portfile_);
    std::filesystem::remove(out_);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string n = std::to_string(fail_first);
      ::execl("/usr/bin/python3", "python3", script.c_str(), portfile_.c_str(), out_.c_str(), n.c_str(), mode_.c_str(),
              nullptr);
      ::_exit(127);
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      std::ifstream in(portfile_);
      if (in >> port_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~HttpRecorder() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  /// How later requests are answered: "ok", "500", "401", "429 N" (Retry-After: N), "hang",
  /// "slow MS" (200 after MS milliseconds).
  void set_mode(const std::string& mode) const {
    std::ofstream(mode_ + ".tmp") << mode;
    std::filesystem::rename(mode_ + ".tmp", mode_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(out_);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  /// Polls until some request satisfies `pred`, or `timeout` passes; returns it (or null).
  nlohmann::json wait_for(const std::function<bool(const nlohmann::json&)>& pred,
                          std::chrono::milliseconds timeout) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    do {
      for (auto& r : requests())
        if (pred(r)) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < until);
    return nullptr;
  }
  /// Polls until some request's body holds `part`, or `timeout` passes; returns it (or null).
  nlohmann::json wait_for_body(const std::string& part, std::chrono::milliseconds timeout) const {
    return wait_for(
        [&](const nlohmann::json& r) {
          return r.contains("body") && r["body"].is_string() &&
                 r["body"].get<std::string>().find(part) != std::string::npos;
        },
        timeout);
  }

 private:
  std::string portfile_, out_, mode_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace cronitor::testing
