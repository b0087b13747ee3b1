#include "agent/sources/kmsg_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "agent/sources/host_facts.h"

namespace cronitor::agent {
namespace {

// A record is at most 1 KiB of text plus its dictionary (printk's CONSOLE_EXT_LOG_MAX, 8 KiB);
// a smaller buffer makes read() fail with EINVAL.
constexpr size_t kRecordBuffer = 8192;

}  // namespace

Result<KmsgReader> KmsgReader::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return fail("open(\"" + path + "\"): " + std::strerror(errno));
  // Only what the kernel prints from now on: older records belong to runs already judged.
  if (::lseek(fd.get(), 0, SEEK_END) < 0) return fail("lseek(\"" + path + "\", SEEK_END): " + std::strerror(errno));
  return KmsgReader(std::move(fd));
}

Result<KmsgReader::Drained> KmsgReader::drain(const std::function<void(std::string_view)>& on_record,
                                              size_t max_records) {
  Drained d;
  char buf[kRecordBuffer];
  while (d.records < max_records) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      ++d.records;
      on_record(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) {  // overwritten before we read it; the next read goes on
      ++d.lost;
      continue;
    }
    if (n == 0 || errno == EAGAIN) return d;
    return fail(std::string("read(/dev/kmsg): ") + std::strerror(errno));
  }
  d.more = true;
  return d;
}

std::optional<int64_t> process_group_of(int64_t pid) {
  if (pid <= 0 || pid > 4194304) return std::nullopt;
  auto stat = read_proc_stat(static_cast<pid_t>(pid));
  if (!stat || stat->pgrp <= 0) return std::nullopt;
  return stat->pgrp;
}

std::vector<int64_t> ancestors_of(int64_t pid) {
  std::vector<int64_t> out;
  if (pid <= 0 || pid > 4194304) return out;
  // Up to 64 generations (a job's tree is never that deep; a loop in a forged /proc cannot hang it).
  for (auto stat = read_proc_stat(static_cast<pid_t>(pid)); stat && stat->ppid > 0 && out.size() < 64;
       stat = read_proc_stat(stat->ppid))
    out.push_back(stat->ppid);
  return out;
}

}  // namespace cronitor::agent
