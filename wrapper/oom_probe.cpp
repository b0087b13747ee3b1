#include "wrapper/oom_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string_view>

#include "common/kernel_file.h"
#include "common/text.h"

namespace cronitor::wrapper {
namespace {

// The most read of a /proc or /sys file: these files are tiny, vmstat ~5 KiB.
constexpr size_t kFileCap = 16384;

std::optional<uint64_t> first_number(const std::string& path) {
  auto text = read_kernel_file(path, kFileCap);
  if (!text) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

}  // namespace

OomProbe OomProbe::locate(const std::string& root) {
  OomProbe p;
  auto text = read_kernel_file("/proc/self/cgroup", kFileCap);
  if (!text) {
    p.kills_at_locate_ = p.kills();
    return p;
  }
  std::string v1_path, v2_path;
  bool have_v2 = false;
  std::string_view t = *text;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t end = t.find('\n', pos);
    if (end == std::string_view::npos) end = t.size();
    std::string_view line = t.substr(pos, end - pos);
    pos = end + 1;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (line.substr(0, c1) == "0" && ctrls.empty()) {
      have_v2 = true;
      v2_path = path;
      continue;
    }
    // v1: the controller list is comma separated ("memory" alone on Debian).
    size_t s = 0;
    while (s <= ctrls.size()) {
      size_t e = ctrls.find(',', s);
      if (e == std::string_view::npos) e = ctrls.size();
      if (ctrls.substr(s, e - s) == "memory") v1_path = path;
      s = e + 1;
    }
  }
  auto count_in = [](const std::string& file) -> std::optional<uint64_t> {
    auto text = read_kernel_file(file, kFileCap);
    return text ? keyed_number(*text, "oom_kill") : std::nullopt;
  };
  if (!v1_path.empty()) {
    std::string dir = root + "/memory" + (v1_path == "/" ? "" : v1_path);
    if (auto n = count_in(dir + "/memory.oom_control")) {
      p.kind_ = Kind::kV1;
      p.dir_ = dir;
      p.counter_file_ = dir + "/memory.oom_control";
      p.kills_at_locate_ = n;
      return p;
    }
  }
  if (have_v2) {
    std::string dir = root + (v2_path == "/" ? "" : v2_path);
    if (auto n = count_in(dir + "/memory.events")) {
      p.kind_ = Kind::kV2;
      p.dir_ = dir;
      p.counter_file_ = dir + "/memory.events";
      p.kills_at_locate_ = n;
      return p;
    }
  }
  p.kills_at_locate_ = p.kills();
  return p;
}

std::optional<uint64_t> OomProbe::kills() const {
  auto text = read_kernel_file(counter_file_, kFileCap);
  if (!text) return std::nullopt;
  return keyed_number(*text, "oom_kill");
}

std::optional<int64_t> OomProbe::cgroup_peak_bytes() const {
  std::optional<uint64_t> v;
  if (kind_ == Kind::kV1)
    v = first_number(dir_ + "/memory.max_usage_in_bytes");
  else if (kind_ == Kind::kV2)
    v = first_number(dir_ + "/memory.peak");
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

}  // namespace cronitor::wrapper
