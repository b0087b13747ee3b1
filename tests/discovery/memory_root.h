// An in-memory FsRoot for tests: files with chosen bytes, owners and modes, no disk.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "discovery/fs_root.h"

namespace cronitor::discovery::testing {

class MemoryRoot final : public FsRoot {
 public:
  void add(const std::string& path, std::string bytes, mode_t mode = 0644, uid_t uid = 0) {
    files_[path] = File{std::move(bytes), mode, uid};
    for (std::string dir = parent(path); dirs_.insert(dir).second && dir != "/";) dir = parent(dir);
  }
  void remove(const std::string& path) {
    files_.erase(path);
    links_.erase(path);
  }
  void link(const std::string& path, std::string target) {
    links_[path] = std::move(target);
    add(path, "", 0777);
  }

  std::string real_path(std::string_view p) const override { return "mem:" + std::string(p); }
  Result<std::string> read_file(std::string_view p, std::size_t max_bytes) const override {
    auto it = files_.find(std::string(p));
    if (it == files_.end()) return std::unexpected(Error::from_errno("open", p, ENOENT));
    if (it->second.bytes.size() > max_bytes) return fail(std::string(p) + ": too large");
    return it->second.bytes;
  }
  Result<std::vector<DirEntry>> list_dir(std::string_view p, std::size_t max_entries) const override {
    const std::string dir(p);
    if (!dirs_.contains(dir)) return std::unexpected(Error::from_errno("opendir", p, ENOENT));
    std::vector<DirEntry> out;
    auto direct = [&](const std::string& path) { return parent(path) == dir && path != dir; };
    for (const auto& [path, f] : files_) {
      if (direct(path)) out.push_back(DirEntry{path.substr(dir.size() + 1), false, links_.contains(path)});
    }
    for (const std::string& d : dirs_) {
      if (direct(d)) out.push_back(DirEntry{d.substr(dir.size() + 1), true, false});
    }
    if (out.size() > max_entries) return fail(dir + ": more than " + std::to_string(max_entries) + " entries");
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
  }
  std::optional<FileInfo> stat(std::string_view p) const override {
    const std::string path(p);
    if (dirs_.contains(path)) return FileInfo{S_IFDIR | 0755, 0, 0, 0, false};
    auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return FileInfo{S_IFREG | it->second.mode, it->second.uid, 0, static_cast<off_t>(it->second.bytes.size()),
                    links_.contains(path)};
  }
  std::optional<std::string> read_link(std::string_view p) const override {
    auto it = links_.find(std::string(p));
    if (it == links_.end()) return std::nullopt;
    return it->second;
  }

 private:
  struct File {
    std::string bytes;
    mode_t mode;
    uid_t uid;
  };
  static std::string parent(const std::string& p) {
    const auto slash = p.rfind('/');
    return slash == 0 || slash == std::string::npos ? std::string("/") : p.substr(0, slash);
  }
  std::map<std::string, File> files_;
  std::map<std::string, std::string> links_;
  std::set<std::string> dirs_;
};

}  // namespace cronitor::discovery::testing
