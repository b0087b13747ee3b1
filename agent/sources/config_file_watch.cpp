#include "agent/sources/config_file_watch.h"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>

#include <filesystem>

#include "agent/sources/settled_folder_watch.h"
#include "common/file_state.h"

namespace cronitor::agent {

ConfigFileWatch::ConfigFileWatch(const std::string& path, std::function<void()> reload)
    : path_(path), reload_(std::move(reload)) {}
ConfigFileWatch::~ConfigFileWatch() = default;

void ConfigFileWatch::note_read() {
  if (struct stat st{}; ::stat(path_.c_str(), &st) == 0) read_ = st;
}

void ConfigFileWatch::attach(sd_event* ev) {
  const std::filesystem::path path(path_);
  SettledFolderWatch::Options o;
  o.folder = path.has_parent_path() ? path.parent_path().string() : ".";
  o.names = {path.filename().string()};
  o.events = IN_CLOSE_WRITE | IN_MOVED_TO;
  o.settle_usec = kSettleUsec;
  o.act = [this] {
    spdlog::info("\"{}\" changed: reloading", path_);
    reload_();
  };
  auto w = SettledFolderWatch::create(ev, std::move(o));
  if (!w) {
    spdlog::info("not watching \"{}\" for changes ({}); reload with SIGHUP", path.string(), w.error().message);
    return;
  }
  watch_ = std::move(*w);
  // Written between the start's read and this watch: no event will tell, so reload as if one had.
  struct stat now {};
  if (read_ && (::stat(path.c_str(), &now) != 0 || !unchanged(*read_, now))) watch_->act_soon();
}

bool ConfigFileWatch::settling() const { return watch_ && watch_->settling(); }

}  // namespace cronitor::agent
