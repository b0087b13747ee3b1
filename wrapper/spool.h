// The wrapper's side of the spool folder (format and trust rules: common/event.h,
// wrapper/README.md): events the agent could not take, written durably as JSON lines.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/unique_fd.h"

namespace cronitor::wrapper {

/// When spooled lines reach the disk.
enum class SyncMode {
  /// write() puts the line in the page cache at once (the agent sees it, it survives the
  /// wrapper and the agent dying); a detached process started by sync_in_background()
  /// fdatasyncs the file (and the folder) soon after, so the job's exit is not held up by the
  /// disk (an fdatasync takes about 4 ms on the CI disk).
  kBackground,
  /// fdatasync before returning from each append (CRONITOR_SPOOL_SYNC=inline).
  kInline,
};

/// Writes the spooled events of one run, plus one-shot metric files.
class Spool {
 public:
  explicit Spool(std::string dir, SyncMode mode = SyncMode::kBackground) : dir_(std::move(dir)), mode_(mode) {}
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Appends `line` to "<dir>/<run_id>.jsonl" (created O_EXCL|O_NOFOLLOW, 0600 on first use),
  /// synced per the mode. On failure nothing of the line stays in the file.
  Result<void> append(std::string_view run_id, std::string_view line);

  /// Writes "<dir>/<run_id>.m<16 hex>.jsonl" holding `line`, via a dot-file and rename.
  Result<void> write_metric(std::string_view run_id, std::string_view line);

  /// In kBackground mode, starts a detached process that fdatasyncs what was written so far
  /// (and fsyncs the folder after a new file). Nothing to do when nothing is pending.
  void sync_in_background();

  /// True when lines were written that no sync covers yet.
  bool dirty() const { return dirty_; }

  /// True once this run has an event in the spool (its later events must follow it there).
  bool used() const { return bool(fd_); }

  const std::string& dir() const { return dir_; }

 private:
  Result<UniqueFd> create(const std::string& name);
  Result<void> write_line(int fd, std::string_view line, const std::string& path);

  std::string dir_;
  SyncMode mode_;
  UniqueFd fd_;
  long long size_ = 0;
  bool dirty_ = false;      // written since the last fdatasync
  bool new_entry_ = false;  // a file was created: the folder needs a sync too
};

/// 64 random bits as 16 hex characters (getrandom).
std::string random_hex16();

}  // namespace cronitor::wrapper
