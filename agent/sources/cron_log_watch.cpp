#include "agent/sources/cron_log_watch.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>

#include "agent/sources/cron_check.h"
#include "agent/sources/cron_log_line.h"
#include "agent/sources/host_facts.h"
#include "agent/sources/journal_backfill.h"
#include "common/owned.h"
#include "common/unique_fd.h"

namespace cronitor::agent {

namespace {

constexpr std::size_t kMaxReadPerCall = 4u << 20;  // bytes of syslog per loop turn
constexpr std::size_t kMaxLine = 16u << 10;        // longer lines are cut (cron's own are < 1 KiB)
constexpr int kMaxJournalEntries = 5000;           // entries per loop turn

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SyslogFile final : public CronLogSource {
 public:
  explicit SyslogFile(std::string path) : path_(std::move(path)) {}

  Result<void> start() {
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_) return std::unexpected(Error::from_errno("inotify_init1", path_));
    // The folder, not the file: logrotate renames the file and a new one appears.
    const std::string dir = path_.substr(0, path_.rfind('/') + 1);
    if (::inotify_add_watch(inotify_.get(), dir.empty() ? "/" : dir.c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
      return std::unexpected(Error::from_errno("inotify_add_watch", dir));
    reopen(/*from_end=*/true);
    return {};
  }
  int fd() const override { return inotify_.get(); }
  std::string describe() const override { return "syslog file \"" + path_ + "\""; }

  std::vector<Line> read(bool& more) override {
    char ev[4096];
    while (::read(inotify_.get(), ev, sizeof ev) > 0) {
    }
    std::vector<Line> out;
    more = false;
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && (!file_ || st.st_ino != ino_ || st.st_dev != dev_)) {
      // Rotated: finish the old file first, then start the new one from its beginning.
      drain(out, more);
      reopen(/*from_end=*/false);
    }
    if (file_) {
      struct stat now {};
      if (::fstat(file_.get(), &now) == 0 && now.st_size < offset_) {  // truncated (copytruncate)
        offset_ = 0;
        partial_.clear();
      }
    }
    drain(out, more);
    return out;
  }

 private:
  void reopen(bool from_end) {
    file_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    partial_.clear();
    offset_ = 0;
    if (!file_) return;
    struct stat st {};
    if (::fstat(file_.get(), &st) == 0) {
      ino_ = st.st_ino;
      dev_ = st.st_dev;
      if (from_end) offset_ = st.st_size;
    }
  }

  void drain(std::vector<Line>& out, bool& more) {
    if (!file_) return;
    std::size_t budget = kMaxReadPerCall;
    char buf[65536];
    while (budget > 0) {
      const ssize_t n = ::pread(file_.get(), buf, std::min(sizeof buf, budget), offset_);
      if (n <= 0) return;
      offset_ += n;
      budget -= static_cast<std::size_t>(n);
      std::string_view chunk(buf, static_cast<std::size_t>(n));
      while (!chunk.empty()) {
        const std::size_t nl = chunk.find('\n');
        if (nl == std::string_view::npos) {
          if (partial_.size() < kMaxLine) partial_.append(chunk.substr(0, kMaxLine - partial_.size()));
          break;
        }
        if (partial_.size() < kMaxLine) partial_.append(chunk.substr(0, std::min(nl, kMaxLine - partial_.size())));
        if (auto split = split_syslog_line(partial_))
          out.push_back(Line{split->first, std::string(split->second), now_ms()});
        partial_.clear();
        chunk.remove_prefix(nl + 1);
      }
    }
    more = true;
  }

  std::string path_;
  UniqueFd inotify_;
  UniqueFd file_;
  ino_t ino_ = 0;
  dev_t dev_ = 0;
  off_t offset_ = 0;
  std::string partial_;
};

class Journal final : public CronLogSource {
 public:
  /// The host's journal from its end, or `files` from their start; either from `since_usec`.
  Result<void> start(const std::vector<std::string>* files, std::optional<uint64_t> since_usec) {
    if (files) {
      std::vector<const char*> paths;
      for (const auto& f : *files) paths.push_back(f.c_str());
      paths.push_back(nullptr);
      if (int r = sd_journal_open_files(out_ptr(j_), paths.data(), 0); r < 0)
        return std::unexpected(Error::from_errno("sd_journal_open_files", "journal", -r));
    } else if (int r = sd_journal_open(out_ptr(j_), SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM); r < 0) {
      return std::unexpected(Error::from_errno("sd_journal_open", "journal", -r));
    }
    // Two fields: both must hold. _UID is journald's own (trusted) field, never the sender's word.
    for (const char* m : {"SYSLOG_IDENTIFIER=CRON", "_UID=0"})
      if (int r = sd_journal_add_match(j_.get(), m, 0); r < 0)
        return std::unexpected(Error::from_errno("sd_journal_add_match", "journal", -r));
    if (since_usec) {
      if (int r = sd_journal_seek_realtime_usec(j_.get(), *since_usec); r < 0)
        return std::unexpected(Error::from_errno("sd_journal_seek_realtime_usec", "journal", -r));
    } else if (files) {
      (void)sd_journal_seek_head(j_.get());
    } else {
      if (int r = sd_journal_seek_tail(j_.get()); r < 0)
        return std::unexpected(Error::from_errno("sd_journal_seek_tail", "journal", -r));
      (void)sd_journal_previous(j_.get());  // on the last entry: next() gives only what comes after
    }
    fd_ = sd_journal_get_fd(j_.get());
    if (fd_ < 0) return std::unexpected(Error::from_errno("sd_journal_get_fd", "journal", -fd_));
    return {};
  }
  int fd() const override { return fd_; }
  uint32_t events() const override {
    const int e = sd_journal_get_events(j_.get());
    return e > 0 ? static_cast<uint32_t>(e) : EPOLLIN;
  }
  std::string describe() const override { return "the journal (SYSLOG_IDENTIFIER=CRON, _UID=0)"; }
  std::vector<Line> read(bool& more) override {
    (void)sd_journal_process(j_.get());
    std::vector<Line> out;
    more = false;
    for (int n = 0;; ++n) {
      if (n == kMaxJournalEntries) {
        more = true;
        break;
      }
      if (sd_journal_next(j_.get()) <= 0) break;
      Line l;
      uint64_t usec = 0;
      l.unix_ms = sd_journal_get_realtime_usec(j_.get(), &usec) >= 0 ? static_cast<int64_t>(usec / 1000) : now_ms();
      l.pid = field_number("_PID").value_or(0);  // the sender's real pid; SYSLOG_PID is its claim
      auto msg = field("MESSAGE");
      if (!msg || l.pid <= 0) continue;
      l.message = std::string(msg->substr(0, kMaxLine));
      out.push_back(std::move(l));
    }
    return out;
  }

 private:
  std::optional<std::string_view> field(const char* name) {
    const void* data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j_.get(), name, &data, &len) < 0) return std::nullopt;
    std::string_view v(static_cast<const char*>(data), len);
    const std::size_t eq = v.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    return v.substr(eq + 1);
  }
  std::optional<int64_t> field_number(const char* name) {
    auto v = field(name);
    if (!v || v->empty() || v->size() > 10) return std::nullopt;
    int64_t n = 0;
    for (char c : *v) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }

  Owned<sd_journal, sd_journal_close> j_;
  int fd_ = -1;  // sd_journal_get_fd's: the journal's own, closed by sd_journal_close
};

}  // namespace

Result<std::unique_ptr<CronLogSource>> CronLogSource::syslog_file(std::string path) {
  auto s = std::make_unique<SyslogFile>(std::move(path));
  if (auto r = s->start(); !r) return std::unexpected(r.error());
  return s;
}

Result<std::unique_ptr<CronLogSource>> CronLogSource::journal(std::optional<uint64_t> since_usec) {
  auto s = std::make_unique<Journal>();
  if (auto r = s->start(nullptr, since_usec); !r) return std::unexpected(r.error());
  return s;
}

Result<std::unique_ptr<CronLogSource>> CronLogSource::journal_files(std::vector<std::string> paths,
                                                                    std::optional<uint64_t> since_usec) {
  auto s = std::make_unique<Journal>();
  if (auto r = s->start(&paths, since_usec); !r) return std::unexpected(r.error());
  return s;
}

int cron_log_level(const std::vector<std::string>& argv) {
  int level = 1;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    std::string_view v;
    if (a == "-L" && i + 1 < argv.size())
      v = argv[++i];
    else if (a.starts_with("-L"))
      v = a.substr(2);
    else
      continue;
    int n = 0;
    bool ok = !v.empty() && v.size() < 4;
    for (char c : v) ok = ok && c >= '0' && c <= '9', n = n * 10 + (c - '0');
    if (ok) level = n;
  }
  return level;
}

Result<std::unique_ptr<CronLogWatch>> CronLogWatch::open(const std::string& setting, const std::string& root,
                                                         std::string host, Sink sink,
                                                         std::optional<uint64_t> since_usec) {
  Result<std::unique_ptr<CronLogSource>> source = fail("no source");
  const bool has_journal = root.empty() && ::access("/run/systemd/journal", F_OK) == 0;
  const auto files = journal_files_setting();  // CRONITOR_JOURNAL: tests name their journal files
  if (setting == "journal" || (setting == "auto" && has_journal)) {
    if (files && !files->empty())
      source = CronLogSource::journal_files(*files, since_usec);
    else
      source = CronLogSource::journal(files ? since_usec : std::nullopt);
  } else
    source = CronLogSource::syslog_file(setting == "auto" ? root + "/var/log/syslog" : setting);
  if (!source) return std::unexpected(source.error());
  return std::unique_ptr<CronLogWatch>(new CronLogWatch(std::move(*source), std::move(host), std::move(sink), root));
}

CronLogWatch::CronLogWatch(std::unique_ptr<CronLogSource> source, std::string host, Sink sink, std::string root)
    : source_(std::move(source)),
      sink_(std::move(sink)),
      root_(std::move(root)),
      tracker_(std::move(host), [this](const std::string& user, const std::string& command) {
        auto it = by_command_.find({user, command});
        return it == by_command_.end() ? std::nullopt : std::optional(it->second);
      }) {}

CronLogWatch::~CronLogWatch() = default;

Result<void> CronLogWatch::attach(sd_event* ev) {
  sd_event_source* s = nullptr;
  if (int r = sd_event_add_io(ev, &s, source_->fd(), source_->events(), on_io, this); r < 0)
    return std::unexpected(Error::from_errno("sd_event_add_io", describe(), -r));
  src_.reset(s);
  return {};
}

void CronLogWatch::clear_jobs() {
  by_command_.clear();
  by_key_.clear();
}

void CronLogWatch::set_job(const std::string& key, const std::string& user, int64_t uid,
                           const std::string& crontab_command) {
  if (auto old = by_key_.find(key); old != by_key_.end()) by_command_.erase(old->second);
  std::pair<std::string, std::string> id{user.empty() ? "root" : user, cron_logged_command(crontab_command)};
  by_command_.insert_or_assign(id, CronRunTracker::Match{key, uid < 0 ? 0 : uid});
  by_key_.insert_or_assign(key, std::move(id));
}

void CronLogWatch::forget_job(const std::string& key) {
  auto old = by_key_.find(key);
  if (old == by_key_.end()) return;
  if (auto c = by_command_.find(old->second); c != by_command_.end() && c->second.key == key) by_command_.erase(c);
  by_key_.erase(old);
}

CronRunTracker::Logs CronLogWatch::logs() {
  CronRunTracker::Logs l{end_seen_, failure_seen_};
  if (l.ends && l.failures) return l;
  const auto pid = read_cron_pid(root_);
  if (!pid) return l;
  const auto argv = proc_cmdline(*pid);
  if (argv.empty()) return l;
  const int level = cron_log_level(argv);
  return {l.ends || (level & 2) != 0, l.failures || (level & 4) != 0};
}

bool CronLogWatch::poll() {
  bool more = false;
  std::vector<cronitor::RunEvent> events;
  do {
    for (const auto& l : source_->read(more)) {
      auto parsed = parse_cron_message(l.pid, l.message);
      if (!parsed) continue;
      if (parsed->kind == CronLogLine::Kind::kEnd) end_seen_ = true;
      if (parsed->kind == CronLogLine::Kind::kError) failure_seen_ = true;
      if (parsed->kind == CronLogLine::Kind::kCmd && cmd_observer_)
        cmd_observer_(parsed->job_pid > 0 ? parsed->job_pid : parsed->cron_pid, parsed->user, parsed->command,
                      l.unix_ms);
      // cron's level is read at a CMD or END line (an error line needs none); what lines showed sticks.
      const auto logs = parsed->kind == CronLogLine::Kind::kError ? CronRunTracker::Logs{true, true} : this->logs();
      for (auto& e : tracker_.feed(*parsed, l.unix_ms, logs)) events.push_back(std::move(e));
    }
  } while (more && events.size() < 10000);
  tracker_.forget_before(now_ms());
  if (!events.empty()) sink_(std::move(events));
  return more;
}

int CronLogWatch::on_io(sd_event_source* s, int, uint32_t, void* ud) {
  auto* w = static_cast<CronLogWatch*>(ud);
  w->poll();
  sd_event_source_set_io_events(s, w->source_->events());
  return 0;
}

}  // namespace cronitor::agent
