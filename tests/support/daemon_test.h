// What the tests of the real daemon share: the binaries under test, the process helpers, and a
// sandbox folder whose socket and spool every `cronitor-exec` of the test is pointed at
// (CRONITOR_SOCKET, CRONITOR_SPOOL), so that no test reaches the host's own agent or spool.
// A test file says `using namespace cronitor::testing;` and has all of it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/agent_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_dir.h"

namespace cronitor::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

#ifdef CRONITOR_AGENT_BIN
inline const std::string kAgent = CRONITOR_AGENT_BIN;
#endif
#ifdef CRONITOR_EXEC_BIN
inline const std::string kExec = CRONITOR_EXEC_BIN;
#endif
#ifdef CRONITOR_SOURCE_DIR
inline const std::string kRecorder = CRONITOR_SOURCE_DIR "/tests/support/http_recorder.py";
#endif

/// Whether `text` holds `part`.
inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// How many times `part` stands in `text`.
inline size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

/// Whether the folder exists and holds something (a spool the wrapper may not have made yet).
inline bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return !fs::is_empty(dir, ec) && !ec;
}

/// The wall clock's now in microseconds since the epoch, as the wire format's times are.
inline int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A boot time `ago` seconds before now, as CRONITOR_BOOT_TIME takes it (seconds since the epoch).
inline std::string boot_seconds_ago(int64_t ago) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return std::to_string(now.count() - ago);
}

/// A fresh folder for one test's agent, with `agent.sock` and `spool` inside it exported to the
/// wrappers the test runs; `ack_ms` is the wrapper's acknowledgement budget (CRONITOR_ACK_TIMEOUT_MS,
/// generous: tests share two cores; null: the wrapper's own default). Removed at the end.
class AgentSandbox {
 public:
  explicit AgentSandbox(fs::path dir, const char* ack_ms = "1000")
      : dir_(std::move(dir)), socket_((dir_ / "agent.sock").string()), spool_((dir_ / "spool").string()) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ::setenv("CRONITOR_SOCKET", socket_.c_str(), 1);
    ::setenv("CRONITOR_SPOOL", spool_.c_str(), 1);
    if (ack_ms) ::setenv("CRONITOR_ACK_TIMEOUT_MS", ack_ms, 1);
    // The agent's host booted a day ago, whatever this machine's uptime (a downtime window starts
    // or ends at the boot): a test that needs another boot states it, and a run of the suite that
    // exports its own CRONITOR_BOOT_TIME keeps it.
    if (!std::getenv("CRONITOR_BOOT_TIME")) ::setenv("CRONITOR_BOOT_TIME", boot_seconds_ago(24 * 3600).c_str(), 1);
  }
  ~AgentSandbox() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  AgentSandbox(const AgentSandbox&) = delete;
  AgentSandbox& operator=(const AgentSandbox&) = delete;

  const fs::path& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }
  const std::string& spool() const { return spool_; }

 private:
  fs::path dir_;
  std::string socket_, spool_;
};

#ifdef CRONITOR_AGENT_BIN
/// A test of one agent process in a fresh folder of its own (test_dir(prefix)), whose agent.sock
/// and spool the test's wrappers are pointed at; the agent is stopped and the folder removed at
/// the end.
class DaemonTest : public ::testing::Test {
 protected:
  explicit DaemonTest(const std::string& prefix) : box_(test_dir(prefix), nullptr) {}
  void TearDown() override { daemon_.stop(SIGTERM); }
  const std::string& socket() const { return box_.socket(); }
  std::string config() const { return (dir_ / "agent.yaml").string(); }
  /// The start of a config on the folder's own paths, with discovery off.
  std::string sandbox_config(const std::string& hostname) const {
    return "state_dir: " + (dir_ / "state").string() + "\nsocket: " + socket() + "\nspool_dir: " + box_.spool() +
           "\nhostname: " + hostname + "\ndiscovery: {crontabs: false, systemd: false}\n";
  }

  AgentSandbox box_;
  const fs::path dir_ = box_.dir();
  AgentProcess daemon_{kAgent, (dir_ / "daemon.log").string()};
};
#endif

}  // namespace cronitor::testing
