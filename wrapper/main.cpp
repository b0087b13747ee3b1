// cronitor-exec: runs one job for the agent and reports it (see wrapper/README.md).
// Kept small and free of heavy static initialisation: it starts for every cron job.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/event.h"
#include "wrapper/job_runner.h"
#include "wrapper/options.h"

using namespace cronitor::wrapper;

namespace {

void say(const std::string& s) {
  ssize_t ignored = ::write(2, s.data(), s.size());
  (void)ignored;
}

// The words after "--" joined, or "" when there are none (without "--" we cannot tell where
// a broken line's command starts, so it is not run).
std::string command_after_dashes(int argc, char** argv) {
  std::string cmd;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") != 0) continue;
    for (int k = i + 1; k < argc; ++k) {
      if (k > i + 1) cmd += ' ';
      cmd += argv[k];
    }
    break;
  }
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  if (options && options->mode == Options::Mode::kHelp) {
    say(kUsage);
    return 0;
  }
  if (options && options->mode == Options::Mode::kVersion) {
    std::fputs("cronitor-exec " CRONITOR_VERSION "\n", stdout);
    return 0;
  }
  std::string problem;
  if (!options)
    problem = options.error().message;
  else if (options->mode == Options::Mode::kRun && !cronitor::valid_key(options->key))
    problem = "invalid KEY (1..200 bytes of UTF-8 without control characters)";
  if (!problem.empty()) {
    // A broken wrapper line must not stop the job from running: run it unmonitored.
    std::string cmd = command_after_dashes(argc, argv);
    say("cronitor-exec: " + problem + (cmd.empty() ? "\n" : "; running the command unmonitored\n"));
    if (cmd.empty()) {
      say(kUsage);
      return 2;
    }
    return exec_unmonitored(cmd);
  }
  ReportConfig config = ReportConfig::from_env();
  if (options->mode == Options::Mode::kMetric) return send_metrics(*options, config);
  return run_job(*options, config);
}
