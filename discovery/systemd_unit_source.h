// systemd .timer units read from unit files (the live manager over D-Bus is another JobSource).
#pragma once

#include <string>
#include <vector>

#include "discovery/job_source.h"

namespace cronitor::discovery {

class SystemdUnitSource final : public JobSource {
 public:
  /// The unit folders in systemd's order of precedence.
  static const std::vector<std::string>& unit_dirs();

  std::string_view name() const override { return "systemd-units"; }
  std::vector<std::string> watch_dirs() const override;
  std::vector<FileScan> scan_all(const ScanContext& ctx) override;
  Scope scope_of(std::string_view p) const override;
  std::optional<FileScan> scan_file(const ScanContext&, std::string_view) override { return std::nullopt; }

 private:
  std::vector<std::string> subdirs_;  // *.wants, *.requires, *.d folders seen by the last scan
};

}  // namespace cronitor::discovery
