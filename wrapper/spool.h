// The wrapper's side of the spool folder (format and trust rules: common/event.h,
// wrapper/README.md): events the agent could not take, written durably as JSON lines.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor::wrapper {

/// Writes the spooled events of one run, plus one-shot metric files.
class Spool {
 public:
  explicit Spool(std::string dir) : dir_(std::move(dir)) {}
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  ~Spool();

  /// Appends `line` to "<dir>/<run_id>.jsonl" (created O_EXCL|O_NOFOLLOW, 0600 on first use)
  /// and fdatasyncs it. On failure nothing of the line stays in the file.
  Result<void> append(std::string_view run_id, std::string_view line);

  /// Writes "<dir>/<run_id>.m<16 hex>.jsonl" holding `line`, via a dot-file and rename.
  Result<void> write_metric(std::string_view run_id, std::string_view line);

  /// True once this run has an event in the spool (its later events must follow it there).
  bool used() const { return fd_ >= 0; }

  const std::string& dir() const { return dir_; }

 private:
  Result<int> create(const std::string& name);

  std::string dir_;
  int fd_ = -1;
  long long size_ = 0;
};

/// 64 random bits as 16 hex characters (getrandom).
std::string random_hex16();

}  // namespace cronitor::wrapper
