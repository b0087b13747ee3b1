// A transaction that failed: the daemon's state is read back from state.db, so nothing is
// evaluated twice. On a full disk (disk_full_watch.h) an event that could not be stored is not
// acknowledged, so its wrapper spools it (nothing acknowledged is lost); these are the part's hooks.
#include <spdlog/spdlog.h>

#include "agent/daemon/daemon.h"

namespace cronitor::agent {

void Daemon::on_store_failure(bool out_of_space, size_t events) {
  reload_states();
  if (!out_of_space) {
    if (events > 0) spdlog::error("storing {} events failed; their senders will spool them", events);
    return;
  }
  disk_full_.failed();
}

DiskFullWatch::Hooks Daemon::disk_full_hooks() {
  using Write = DiskFullWatch::Write;
  return {
      .now = [this] { return now(); },
      .has_room = {},  // the state folder's free space (statvfs)
      .prove_write =
          [this] {
            if (!store_.begin()) return Write::kFailed;
            // A real write (the host row) proves the space: a commit without changes writes nothing.
            if (flush_dirty() && host_record_.save(store_) && store_.commit()) return Write::kOk;
            const bool full = store_.out_of_space();
            store_.rollback();
            reload_states();
            return full ? Write::kFull : Write::kFailed;
          },
      .space_back =
          [this] {
            intake_.wake_spool();
            rearm_deadline_timer();  // deadlines that fell due meanwhile are evaluated now
            notify_status();
          },
      .retried = [this] { pump_outbox(); },
  };
}

void Daemon::reload_states() {
  auto rows = store_.jobs();
  if (!rows) {
    spdlog::error("reading state.db back after a failed write: {}", rows.error().message);
    return;
  }
  monitors_.reread(std::move(*rows));  // deadlines from the states read back
  host_record_.reread(store_);
}

}  // namespace cronitor::agent
