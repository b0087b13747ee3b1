// Helpers for the discovery tests: temporary host trees copied from the corpus.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "discovery/scanner.h"

namespace cronitor::discovery::testing {

/// A healthchecks.io check UUID as runitor and curl lines carry it.
inline constexpr const char* kHealthchecksUuid = "5f0c7e2a-8d3b-4c1e-9a4f-0b6d2e8c1a37";

/// The job the scan found at line `line` of `file`; null when none.
inline const Job* job_at(const Scanner& s, const std::string& file, int line) {
  for (const Job* j : s.jobs())
    if (j->file == file && j->line == line) return j;
  return nullptr;
}

/// The jobs the scan found in `file`, in their order.
inline std::vector<const Job*> jobs_of(const Scanner& s, const std::string& file) {
  std::vector<const Job*> out;
  for (const Job* j : s.jobs())
    if (j->file == file) out.push_back(j);
  return out;
}

inline std::string corpus_dir() { return CRONITOR_DISCOVERY_CORPUS; }

/// A temporary folder, removed with everything in it when the object goes.
class TempTree {
 public:
  TempTree() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cronitor-disc-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  /// A copy of corpus tree `name` ("debian", "hand", "prewrapped"), symlinks kept as links.
  explicit TempTree(const std::string& name) : TempTree() {
    std::filesystem::copy(corpus_dir() + "/" + name, path_,
                          std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    // git keeps no owner: a checkout owned by someone else would make cron refuse every file.
    for (const auto& e : std::filesystem::recursive_directory_iterator(path_)) {
      if (!e.is_symlink()) [[maybe_unused]]
        int rc = ::lchown(e.path().c_str(), 0, 0);
    }
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ::chmod(path.c_str(), mode);
}

}  // namespace cronitor::discovery::testing
