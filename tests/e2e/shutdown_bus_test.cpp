// A host shutting down (issue 13 item 11): logind's PrepareForShutdown(true) on the system bus
// makes the agent record the shutdown and send nothing until it stops; only logind's name counts.
// The bus is a private dbus-daemon child; the test owns org.freedesktop.login1 on it with sd-bus.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/daemon_test.h"
#include "tests/support/http_recorder.h"
#include "tests/support/subprocess.h"

namespace {

using namespace cronitor::testing;

/// An empty folder of this test process's own under /tmp, removed at the test's end (a failed
/// assertion's too).
struct FreshDir {
  explicit FreshDir(const std::string& prefix)
      : path(fs::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~FreshDir() { fs::remove_all(path); }
  FreshDir(const FreshDir&) = delete;
  FreshDir& operator=(const FreshDir&) = delete;
  const fs::path path;
};

/// agent.yaml in `dir`: state and spool there, `socket`, no discovery, no notify target. Its path.
std::string quiet_config(const fs::path& dir, const std::string& socket) {
  const std::string config = (dir / "agent.yaml").string();
  std::ofstream(config) << "state_dir: " << (dir / "state").string() << "\nsocket: " << socket
                        << "\nspool_dir: " << (dir / "spool").string()
                        << "\ndiscovery: {crontabs: false, systemd: false}\nnotify:\n  default: []\n";
  return config;
}

/// A dbus-daemon of the test's own, as the "system" bus: anyone may own any name on it.
class PrivateBus {
 public:
  explicit PrivateBus(const fs::path& dir) : socket_(dir / "system_bus") {
    const fs::path conf = dir / "bus.conf";
    std::ofstream(conf) << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" "
                           "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                           "<busconfig><type>system</type><listen>unix:path="
                        << socket_.string()
                        << "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
                           "<allow user=\"*\"/><allow own=\"*\"/><allow send_destination=\"*\"/>"
                           "<allow receive_sender=\"*\"/></policy></busconfig>\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("dbus-daemon", "dbus-daemon", ("--config-file=" + conf.string()).c_str(), "--nofork", "--nopidfile",
               nullptr);
      ::_exit(127);
    }
    // The socket's file is there from its bind(), before dbus-daemon listens: up once a client
    // has said Hello and been given its name.
    up_ = wait_until([&] { return fs::exists(socket_) && answers(); }, 10s);
  }
  ~PrivateBus() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string address() const { return "unix:path=" + socket_.string(); }
  bool up() const { return up_; }

 private:
  bool answers() const {
    sd_bus* b = nullptr;
    const char* name = nullptr;
    const bool ok = sd_bus_new(&b) >= 0 && sd_bus_set_address(b, address().c_str()) >= 0 &&
                    sd_bus_set_bus_client(b, 1) >= 0 && sd_bus_start(b) >= 0 && sd_bus_get_unique_name(b, &name) >= 0;
    sd_bus_flush_close_unref(b);
    return ok;
  }
  fs::path socket_;
  pid_t pid_ = -1;
  bool up_ = false;
};

/// Owns `name` on `bus`: a previous owner's connection, closed by the test a moment ago, may still
/// hold it until the bus has read its hang-up (EEXIST meanwhile).
bool own_name(sd_bus* bus, const char* name) {
  bool owned = false;  // asked once more after it is owned, it would answer EALREADY
  return wait_until([&] { return owned = owned || sd_bus_request_name(bus, name, 0) >= 0; }, 5s);
}

/// One connection to the private bus; `name` set: it owns that name first.
class Peer {
 public:
  Peer(const std::string& address, const char* name) {
    if (sd_bus_new(&bus_) < 0 || sd_bus_set_address(bus_, address.c_str()) < 0 || sd_bus_set_bus_client(bus_, 1) < 0 ||
        sd_bus_start(bus_) < 0)
      return;
    ok_ = !name || own_name(bus_, name);
  }
  ~Peer() { sd_bus_flush_close_unref(bus_); }
  bool ok() const { return ok_; }
  void prepare_for_shutdown(bool active) {
    ASSERT_GE(sd_bus_emit_signal(bus_, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                                 "PrepareForShutdown", "b", static_cast<int>(active)),
              0);
    sd_bus_flush(bus_);
  }

 private:
  sd_bus* bus_ = nullptr;
  bool ok_ = false;
};

/// logind announces a shutdown until the agent logs it (bounded): the agent subscribes without
/// waiting for the bus, so the first signals may come before its match is in place.
bool announce_until_heard(Peer& logind, AgentProcess& agent) {
  return wait_until(
      [&] {
        logind.prepare_for_shutdown(true);
        return agent.wait_for_log("host shutting down at ", 200ms);
      },
      20s);
}

TEST(ShutdownBus, PrepareForShutdownFromLogindSilencesAlertsAndIsRecorded) {
  const FreshDir tmp("agent-shutdown");
  const fs::path& dir = tmp.path;
  PrivateBus bus(dir);
  ASSERT_TRUE(bus.up()) << "dbus-daemon did not start";
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);
  const std::string socket = (dir / "agent.sock").string(), config = (dir / "agent.yaml").string();
  ::setenv("CRONITOR_SOCKET", socket.c_str(), 1);
  ::setenv("CRONITOR_SPOOL", (dir / "spool").c_str(), 1);
  HttpRecorder hook(kRecorder, dir.string());
  ASSERT_GT(hook.port(), 0);
  std::ofstream(config) << "state_dir: " << (dir / "state").string() << "\nsocket: " << socket
                        << "\nspool_dir: " << (dir / "spool").string()
                        << "\nhostname: bus-host\ndiscovery: {crontabs: false, systemd: false}\n"
                        << "notify:\n  default: [\"webhook:" << hook.url("/hook") << "\"]\n"
                        << "monitors:\n  - key: nightly\n    schedule: \"0 2 * * *\"\n";
  {
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    Peer logind(bus.address(), "org.freedesktop.login1");
    Peer intruder(bus.address(), nullptr);
    ASSERT_TRUE(logind.ok() && intruder.ok());
    EXPECT_TRUE(announce_until_heard(logind, agent)) << agent.log();
    auto st = run_command({kAgent, "status", "--json", "--config", config});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    EXPECT_EQ(json::parse(st.out)["shutting_down"], true) << st.out;
    auto plain = run_command({kAgent, "status", "--config", config});
    EXPECT_NE(plain.out.find("HOST SHUTTING DOWN: alerts are recorded, not sent"), std::string::npos) << plain.out;
    // A job killed by the shutdown: recorded, not sent.
    ASSERT_EQ(
        run_command({kAgent, "ping", "nightly", "--state", "fail", "--exit-code", "143", "--config", config}).exit_code,
        0);
    EXPECT_TRUE(agent.wait_for_log("alert (host shutting down: recorded, not sent): nightly failed", 10s))
        << agent.log();
    // Anyone else's signal is not logind's: the intruder cannot cancel (nor fake) a shutdown.
    intruder.prepare_for_shutdown(false);
    logind.prepare_for_shutdown(false);
    EXPECT_TRUE(agent.wait_for_log("the shutdown was cancelled", 10s)) << agent.log();
    intruder.prepare_for_shutdown(true);
    logind.prepare_for_shutdown(false);  // a no-op unless the intruder was believed
    ASSERT_EQ(
        run_command({kAgent, "ping", "nightly", "--state", "fail", "--exit-code", "9", "--config", config}).exit_code,
        0);
    EXPECT_FALSE(
        hook.wait_for([](const json& r) { return r.value("body", "").find("exit code 9") != std::string::npos; }, 15s)
            .is_null())
        << agent.log();
    const std::string log = agent.log();
    EXPECT_EQ(occurrences(log, "host shutting down at "), 1u) << log;
    EXPECT_EQ(occurrences(log, "the shutdown was cancelled"), 1u) << log;
    for (const auto& r : hook.requests())
      EXPECT_EQ(r.value("body", "").find("exit code 143"), std::string::npos) << "sent while shutting down";
    agent.stop(SIGTERM);
  }
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

/// The agent joined the bus again, and hears logind there: a shutdown it announces is recorded.
void expect_rejoined(AgentProcess& agent, const std::string& address) {
  EXPECT_TRUE(agent.wait_for_log("back on the system bus", 20s)) << agent.log();
  Peer logind(address, "org.freedesktop.login1");
  ASSERT_TRUE(logind.ok());
  EXPECT_TRUE(announce_until_heard(logind, agent)) << agent.log();
}

TEST(ShutdownBus, ARestartedBusIsReconnectedAndLogindHeardAgain) {
  const FreshDir tmp("agent-rebus");
  const fs::path& dir = tmp.path;
  std::optional<PrivateBus> bus(std::in_place, dir);
  ASSERT_TRUE(bus->up()) << "dbus-daemon did not start";
  const std::string address = bus->address();
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
  const std::string socket = (dir / "agent.sock").string(), config = quiet_config(dir, socket);
  {
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    // dbus restarted (an upgrade of the dbus package): the agent's connection ends.
    bus.reset();
    fs::remove(dir / "system_bus");
    EXPECT_TRUE(agent.wait_for_log("the system bus went away; reconnecting", 10s)) << agent.log();
    bus.emplace(dir);
    ASSERT_TRUE(bus->up());
    expect_rejoined(agent, address);
    agent.stop(SIGTERM);
  }
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

TEST(ShutdownBus, ABusThatComesAfterTheAgentIsJoined) {
  const FreshDir tmp("agent-latebus");
  const fs::path& dir = tmp.path;
  const std::string address = "unix:path=" + (dir / "system_bus").string();
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
  const std::string socket = (dir / "agent.sock").string(), config = quiet_config(dir, socket);
  {
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    ASSERT_TRUE(agent.wait_for_log("listening on", 10s)) << agent.log();
    PrivateBus bus(dir);  // dbus started after the agent (a unit ordering, a container's late start)
    ASSERT_TRUE(bus.up());
    expect_rejoined(agent, address);
    agent.stop(SIGTERM);
  }
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

/// The system manager's SystemState property, served from a thread of the test.
class FakeManager {
 public:
  FakeManager(const std::string& address, std::string state) : state_(std::move(state)) {
    if (sd_bus_new(&bus_) < 0 || sd_bus_set_address(bus_, address.c_str()) < 0 || sd_bus_set_bus_client(bus_, 1) < 0 ||
        sd_bus_start(bus_) < 0)
      return;
    static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("SystemState", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
    };
    ok_ = sd_bus_add_object_vtable(bus_, nullptr, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                   vtable, this) >= 0 &&
          own_name(bus_, "org.freedesktop.systemd1");
    thread_ = std::thread([this] {
      while (!stop_) {
        int r = sd_bus_process(bus_, nullptr);
        if (r < 0) break;
        if (r == 0) sd_bus_wait(bus_, 50000);
      }
    });
  }
  ~FakeManager() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    sd_bus_flush_close_unref(bus_);
  }
  bool ok() const { return ok_; }
  int asked() const { return asked_; }

 private:
  static int get_state(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* ud, sd_bus_error*) {
    auto* self = static_cast<FakeManager*>(ud);
    ++self->asked_;
    return sd_bus_message_append(reply, "s", self->state_.c_str());
  }
  sd_bus* bus_ = nullptr;
  std::string state_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> asked_{0};
  std::thread thread_;
};

std::string host_field(const fs::path& db, const std::string& field) {
  auto r =
      run_command({"/usr/bin/python3", "-c",
                   "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                   "print(c.execute(\"SELECT json_extract(state, '$.'||?) FROM host\", (sys.argv[2],)).fetchone()[0])",
                   db.string(), field});
  return r.out;
}

TEST(ShutdownBus, SigtermWhileSystemdIsStoppingRecordsTheShutdownAPlainStopDoesNot) {
  const FreshDir tmp("agent-stopping");
  const fs::path& dir = tmp.path;
  PrivateBus bus(dir);
  ASSERT_TRUE(bus.up()) << "dbus-daemon did not start";
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);
  const std::string socket = (dir / "agent.sock").string(), config = quiet_config(dir, socket);
  const fs::path db = dir / "state/state.db";
  {
    // A plain `systemctl stop`: systemd runs on ("running"), so no shutdown is recorded.
    FakeManager manager(bus.address(), "running");
    ASSERT_TRUE(manager.ok());
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    agent.stop(SIGTERM);
    EXPECT_EQ(manager.asked(), 1);
    EXPECT_EQ(host_field(db, "shutdown_at"), "None\n");
    EXPECT_NE(host_field(db, "last_seen"), "None\n");
  }
  {
    FakeManager manager(bus.address(), "stopping");
    ASSERT_TRUE(manager.ok());
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    agent.stop(SIGTERM);
    EXPECT_TRUE(agent.wait_for_log("the system is stopping: recording the host's shutdown")) << agent.log();
    EXPECT_NE(host_field(db, "shutdown_at"), "None\n");
  }
  {
    // The next start: no reboot happened (the boot is older than that shutdown), so the shutdown
    // is consumed without a host-down window.
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    ASSERT_TRUE(agent.wait_for_log("listening on", 10s));
    agent.stop(SIGTERM);
    EXPECT_EQ(host_field(db, "shutdown_at"), "None\n");
    EXPECT_EQ(agent.log().find("the host was down"), std::string::npos) << agent.log();
  }
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

TEST(ShutdownBus, NoBusIsNoErrorSpam) {
  const FreshDir tmp("agent-nobus");
  const fs::path& dir = tmp.path;
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + (dir / "no-such-bus").string()).c_str(), 1);
  const std::string socket = (dir / "agent.sock").string(), config = quiet_config(dir, socket);
  {
    AgentProcess agent(kAgent, (dir / "daemon.log").string());
    ASSERT_TRUE(agent.start(config, socket)) << agent.log();
    ASSERT_TRUE(agent.wait_for_log("listening on", 10s)) << agent.log();
    agent.stop(SIGTERM);
    const std::string log = agent.log();
    EXPECT_EQ(log.find("shutdown"), std::string::npos) << log;
    EXPECT_EQ(log.find("[error]"), std::string::npos) << log;
    EXPECT_NE(log.find("signal SIGTERM: stopping"), std::string::npos) << log;
  }
  ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

}  // namespace
