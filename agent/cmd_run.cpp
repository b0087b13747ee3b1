// run, status, history, check-config, test-alert, ping: arrive with the daemon issue.
#include "agent/commands.h"

namespace cronitor::cli {
void register_daemon(CLI::App&, int&) {}
}  // namespace cronitor::cli
