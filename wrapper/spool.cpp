#include "wrapper/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstring>

namespace cronitor::wrapper {
namespace {

// Makes the new directory entry durable. Only the owner (root) can open a 1733 folder for
// reading; others rely on the file system committing the entry with the file's fdatasync
// (ext4 and xfs journal the creation together with it).
void sync_dir(const std::string& dir) {
  const UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d) ::fsync(d.get());
}

}  // namespace

std::string random_hex16() {
  unsigned char b[8] = {};
  ssize_t n;
  do n = getrandom(b, sizeof b, 0);
  while (n < 0 && errno == EINTR);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

Result<void> Spool::write_line(int fd, std::string_view line, const std::string& path) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(Error::from_errno("write", "\"" + path + "\""));
    if (n == 0) return fail("\"" + path + "\": write: wrote nothing");
    done += static_cast<size_t>(n);
  }
  if (mode_ == SyncMode::kInline) {
    if (::fdatasync(fd) != 0) return std::unexpected(Error::from_errno("fdatasync", "\"" + path + "\""));
  }
  // kBackground: sync_in_background() makes it durable later, off the job's critical path.
  return {};
}

namespace {

struct SyncJob {
  int fd;  // not owned: the number of the Spool's fd_ (the syncer has its own fd table)
  bool sync_dir;
  char dir[4096];  // a copy: the wrapper frees its strings while the syncer may still run
};

// At most two syncers per wrapper (one early for a long job's run event, one at the end), each
// with its own stack and job, which the wrapper never touches again once it is started.
constexpr int kSyncers = 2;
alignas(64) char g_sync_stack[kSyncers][16 * 1024];
SyncJob g_sync_job[kSyncers];
int g_syncers_started = 0;

// Runs in the detached syncer: system calls only (it shares the wrapper's memory).
int sync_job(void* arg) {
  auto* job = static_cast<SyncJob*>(arg);
  // Hold no descriptor but the spool file: a reader of our stdout would wait for us.
  if (job->fd > 0) ::close_range(0, static_cast<unsigned>(job->fd) - 1, 0);
  ::close_range(static_cast<unsigned>(job->fd) + 1, ~0U, 0);
  ::setsid();
  ::fdatasync(job->fd);
  if (job->sync_dir) {
    int d = ::open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) ::fsync(d);
  }
  return 0;
}

}  // namespace

void Spool::sync_in_background() {
  if (!fd_ || !dirty_ || mode_ == SyncMode::kInline) return;
  dirty_ = false;
  bool with_dir = new_entry_;
  new_entry_ = false;
  pid_t pid = -1;
  if (g_syncers_started < kSyncers) {
    // A process sharing our memory (no page-table copy: much cheaper than fork), with its own
    // descriptor table. It may outlive us; the memory it reads stays mapped while it runs.
    int slot = g_syncers_started++;
    SyncJob& job = g_sync_job[slot];
    job.fd = fd_.get();
    job.sync_dir = with_dir && dir_.size() < sizeof job.dir;
    if (job.sync_dir) std::memcpy(job.dir, dir_.c_str(), dir_.size() + 1);
    pid = ::clone(sync_job, g_sync_stack[slot] + sizeof g_sync_stack[slot], CLONE_VM | SIGCHLD, &job);
  }
  if (pid < 0) {  // no process to spare: do it here
    ::fdatasync(fd_.get());
    if (with_dir) sync_dir(dir_);
  }
}

Result<UniqueFd> Spool::create(const std::string& name) {
  std::string path = dir_ + "/" + name;
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600));
    if (fd) return fd;
    if (errno != ENOENT || attempt > 0) return std::unexpected(Error::from_errno("open", "\"" + path + "\""));
    // No spool folder yet (agent never ran): create it with the shared mode.
    if (::mkdir(dir_.c_str(), 01733) == 0)
      ::chmod(dir_.c_str(), 01733);
    else if (errno != EEXIST)
      return std::unexpected(Error::from_errno("mkdir", "\"" + dir_ + "\""));
  }
  return fail("\"" + path + "\": cannot create");
}

Result<void> Spool::append(std::string_view run_id, std::string_view line) {
  std::string path = dir_ + "/" + std::string(run_id) + ".jsonl";
  bool created = false;
  if (!fd_) {
    auto fd = create(std::string(run_id) + ".jsonl");
    if (!fd) return std::unexpected(fd.error());
    fd_ = std::move(*fd);
    created = true;
  }
  auto r = write_line(fd_.get(), line, path);
  if (!r) {
    if (created) {  // leave nothing behind; a later event may try again
      ::unlink(path.c_str());
      fd_.reset();
    } else if (::ftruncate(fd_.get(), size_) != 0) {
      // The agent skips a last line without its "\n"; nothing more to do.
    }
    return r;
  }
  size_ += static_cast<long long>(line.size());
  dirty_ = true;
  if (created) {
    new_entry_ = true;
    if (mode_ == SyncMode::kInline) sync_dir(dir_);
  }
  return {};
}

Result<void> Spool::write_metric(std::string_view run_id, std::string_view line) {
  std::string rnd = random_hex16();
  std::string tmp_name = ".tmp." + rnd;
  std::string tmp = dir_ + "/" + tmp_name;
  std::string final_path = dir_ + "/" + std::string(run_id) + ".m" + rnd + ".jsonl";
  auto fd = create(tmp_name);
  if (!fd) return std::unexpected(fd.error());
  // Metric files are synced before the rename, always: the job waits for this call anyway,
  // and a renamed file must never be seen empty after a crash.
  SyncMode saved = mode_;
  mode_ = SyncMode::kInline;
  auto r = write_line(fd->get(), line, tmp);
  mode_ = saved;
  fd->reset();
  if (r && ::rename(tmp.c_str(), final_path.c_str()) != 0)
    r = std::unexpected(Error::from_errno("rename", "\"" + tmp + "\""));
  if (!r) {
    ::unlink(tmp.c_str());
    return r;
  }
  sync_dir(dir_);
  return {};
}

}  // namespace cronitor::wrapper
