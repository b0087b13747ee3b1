// How the daemon's log lines look: under systemd (stderr is the journal stream) each line starts
// with a sd-daemon(3) "<N>" priority prefix, so journald files warnings and errors at their own
// priority (`journalctl -p warning`) instead of every line at the unit's default, info.
#pragma once

#include <spdlog/common.h>
#include <spdlog/pattern_formatter.h>

#include <memory>
#include <optional>
#include <string_view>

namespace cronitor::agent {

/// The syslog priority journald gives a line of this level (sd-daemon.h SD_ERR ... SD_DEBUG).
[[nodiscard]] int journal_priority(spdlog::level::level_enum level);

/// True when JOURNAL_STREAM (systemd.exec(5): "DEVICE:INODE") names the file stderr is now: the
/// variable is inherited by children whose stderr was redirected elsewhere, so it alone is not
/// proof. `journal_stream` is the variable's value (nullopt: unset).
[[nodiscard]] bool stderr_is_journal(std::optional<std::string_view> journal_stream, int stderr_fd = 2);

/// The formatter of the daemon's lines: "<N>message" for the journal (it adds time and program),
/// "2026-01-02T03:04:05.678 warning: message" for a terminal or a file.
[[nodiscard]] std::unique_ptr<spdlog::formatter> make_log_formatter(bool journal);

}  // namespace cronitor::agent
