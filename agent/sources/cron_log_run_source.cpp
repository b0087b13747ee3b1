#include "agent/sources/cron_log_run_source.h"

#include <spdlog/spdlog.h>

#include "agent/sources/cron_logging.h"
#include "agent/sources/journal_backfill.h"

namespace cronitor::agent {

void CronLogRunSource::attach(const SourceEnv& env) {
  const auto root = hooks_.host_root();
  if (!root || !env.config.discovery.crontabs || env.config.discovery.cron_log == "off") return;
  auto w = CronLogWatch::open(
      env.config.discovery.cron_log, *root, env.host,
      [&sink = env.sink](std::vector<cronitor::RunEvent> evs) { sink.take_runs(std::move(evs)); },
      gap_since_usec(hooks_.last_seen(), env.now()));
  if (w) {
    if (auto r = (*w)->attach(env.ev); !r) w = std::unexpected(r.error());
  }
  if (!w) {
    spdlog::warn("cron log: {}; jobs in package files stay unreported", w.error().message);
    return;
  }
  watch_ = std::move(*w);
  // Its CMD lines name the runs the process events saw gone before their command was read.
  watch_->set_cmd_observer(hooks_.on_cmd);
  hooks_.opened(*watch_);
  spdlog::info("cron log: following {} for {} jobs of package files", watch_->describe(), watch_->jobs());
  if (watch_->jobs() > 0)
    if (auto unseen = unseen_failures(detect_cron_logging(*root))) spdlog::warn("cron log: {}", *unseen);
}

}  // namespace cronitor::agent
