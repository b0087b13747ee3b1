#include "discovery/package_files.h"

namespace cronitor::discovery {

namespace {

constexpr std::string_view kInfoDir = "/var/lib/dpkg/info";
constexpr std::size_t kMaxInfoFiles = 100000;
constexpr std::size_t kMaxListBytes = 64u << 20;  // the largest .list files are a few MiB

bool cron_location(std::string_view p) { return p == "/etc/crontab" || p.starts_with("/etc/cron.d/"); }

}  // namespace

PackageFiles PackageFiles::load(const FsRoot& root) {
  PackageFiles out;
  auto entries = root.list_dir(kInfoDir, kMaxInfoFiles);
  if (!entries) return out;
  for (const DirEntry& e : *entries) {
    std::string_view name = e.name;
    std::string_view package;
    if (name.ends_with(".conffiles"))
      package = name.substr(0, name.size() - 10);
    else if (name.ends_with(".list"))
      package = name.substr(0, name.size() - 5);
    else
      continue;
    if (e.directory) continue;
    // "libc6:amd64" -> "libc6": the name people know.
    package = package.substr(0, package.find(':'));
    auto text = root.read_file(std::string(kInfoDir) + "/" + e.name, kMaxListBytes);
    if (!text) continue;
    std::string_view rest = *text;
    while (!rest.empty()) {
      std::size_t eol = rest.find('\n');
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
      // conffiles lines may carry flags after the path ("/etc/x remove-on-upgrade").
      line = line.substr(0, line.find(' '));
      if (cron_location(line)) out.add(std::string(line), std::string(package));
    }
  }
  return out;
}

std::optional<std::string> PackageFiles::owner(std::string_view path) const {
  auto it = owners_.find(path);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cronitor::discovery
