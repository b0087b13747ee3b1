// systemd unit files (INI-like, with drop-ins), read as systemd does for the keys discovery needs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cronitor::discovery {

struct UnitSetting {
  std::string section;  // "Timer"
  std::string key;      // "OnCalendar"
  std::string value;    // continuation lines joined, trimmed
  std::string file;     // where it was set (host path)
  int line = 0;
};

/// All settings of one unit in the order systemd applies them: the fragment, then drop-ins.
class UnitFile {
 public:
  /// Appends the settings of `text` (a fragment or a drop-in) read from host path `file`.
  void add(std::string_view text, std::string_view file);

  /// The values of a list setting such as OnCalendar=, after systemd's "empty value resets".
  std::vector<const UnitSetting*> list(std::string_view section, std::string_view key) const;
  /// The last value of a single setting, or `fallback`.
  std::string get(std::string_view section, std::string_view key, std::string_view fallback = {}) const;

  const std::vector<UnitSetting>& settings() const { return settings_; }

 private:
  std::vector<UnitSetting> settings_;
};

}  // namespace cronitor::discovery
