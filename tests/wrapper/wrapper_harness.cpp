#include "tests/wrapper/wrapper_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace cronitor::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/cronitor-wrapper-test.XXXXXX";
  char* p = mkdtemp(tmpl);
  if (p == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string exec_path() { return CRONITOR_EXEC_PATH; }

pid_t spawn(const ProcSpec& spec) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    bool overridden = std::any_of(spec.env.begin(), spec.env.end(), [&](const std::string& s) {
      return s.substr(0, s.find('=') + 1) == kv.substr(0, kv.find('=') + 1);
    });
    if (!overridden) env_store.emplace_back(kv);
  }
  for (const auto& s : spec.env) env_store.push_back(s);
  std::vector<char*> envp, argv;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(spec.stdin_path.c_str(), O_RDONLY);
    int out = open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = spec.stderr_path.empty() ? dup(out) : open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(250);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (spec.in_child) spec.in_child();
    execve(argv[0], argv.data(), envp.data());
    _exit(251);
  }
  return pid;
}

ProcResult wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  ProcResult r;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() - start > timeout) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "process " << pid << " did not end within " << timeout.count() << " ms";
      return r;
    }
    struct timespec ts {
      0, 2000000
    };
    nanosleep(&ts, nullptr);  // polling a child's state with a deadline
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    r.signaled = true;
    r.exit_code = 128 + WTERMSIG(status);
  }
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<RunEvent> spool_events(const std::string& dir) {
  std::vector<RunEvent> events;
  for (const auto& name : dir_entries(dir)) {
    if (name.empty() || name[0] == '.' || !name.ends_with(".jsonl")) continue;
    std::string text = slurp(dir + "/" + name);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) {
        ADD_FAILURE() << name << ": last line has no newline";
        break;
      }
      auto e = decode(std::string_view(text).substr(pos, nl + 1 - pos));
      if (!e)
        ADD_FAILURE() << name << ": " << e.error().message;
      else
        events.push_back(*e);
      pos = nl + 1;
    }
  }
  return events;
}

WrapperRun run_wrapper(const TempDir& dir, std::vector<std::string> args, std::vector<std::string> env,
                       const std::string& stdin_data) {
  ProcSpec spec;
  spec.argv = {exec_path()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {"CRONITOR_SOCKET=" + (dir / "agent.sock"), "CRONITOR_SPOOL=" + (dir / "spool"), "SHELL=/bin/sh"};
  for (const auto& kv : env) {  // later settings replace the defaults above
    std::string name = kv.substr(0, kv.find('=') + 1);
    std::erase_if(spec.env, [&](const std::string& s) { return s.starts_with(name); });
    spec.env.push_back(kv);
  }
  if (!stdin_data.empty()) {
    write_file(dir / "stdin", stdin_data);
    spec.stdin_path = dir / "stdin";
  }
  spec.stdout_path = dir / "stdout";
  spec.stderr_path = dir / "stderr";
  WrapperRun r;
  r.result = wait_for(spawn(spec));
  r.out = slurp(spec.stdout_path);
  r.err = slurp(spec.stderr_path);
  return r;
}

}  // namespace cronitor::testing
