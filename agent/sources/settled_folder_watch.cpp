#include "agent/sources/settled_folder_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace cronitor::agent {

Result<std::unique_ptr<SettledFolderWatch>> SettledFolderWatch::create(sd_event* ev, Options options) {
  std::unique_ptr<SettledFolderWatch> w(new SettledFolderWatch(std::move(options)));
  w->ev_ = ev;
  w->fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!w->fd_ || ::inotify_add_watch(w->fd_.get(), w->options_.folder.c_str(), w->options_.events | IN_ONLYDIR) < 0)
    return fail(std::strerror(errno));
  sd_event_source* s = nullptr;
  if (int r = sd_event_add_io(ev, &s, w->fd_.get(), EPOLLIN, on_io_cb, w.get()); r < 0) return fail(std::strerror(-r));
  w->io_src_.reset(s);
  s = nullptr;
  if (int r = sd_event_add_time(ev, &s, CLOCK_MONOTONIC, UINT64_MAX, 10000, on_settle_cb, w.get()); r < 0)
    return fail(std::strerror(-r));
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
  w->settle_src_.reset(s);
  return w;
}

bool SettledFolderWatch::wanted(std::string_view name) const {
  return std::ranges::find(options_.names, name) != options_.names.end();
}

void SettledFolderWatch::act_soon() { arm_once_in(ev_, settle_src_.get(), options_.settle_usec); }

bool SettledFolderWatch::settling() const {
  int on = SD_EVENT_OFF;
  return sd_event_source_get_enabled(settle_src_.get(), &on) >= 0 && on != SD_EVENT_OFF;
}

// Reads every waiting event; one naming a file we care about (or an overflow) pushes the act back.
int SettledFolderWatch::on_io_cb(sd_event_source*, int fd, uint32_t, void* ud) {
  auto* w = static_cast<SettledFolderWatch*>(ud);
  alignas(inotify_event) char buf[8192];
  bool hit = false;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    for (char* p = buf; p < buf + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(p);
      if ((e->mask & IN_Q_OVERFLOW) || (e->len > 0 && w->wanted(std::string_view(e->name)))) hit = true;
      p += sizeof(inotify_event) + e->len;
    }
  if (hit) w->act_soon();
  return 0;
}

int SettledFolderWatch::on_settle_cb(sd_event_source*, uint64_t, void* ud) {
  static_cast<SettledFolderWatch*>(ud)->options_.act();
  return 0;
}

}  // namespace cronitor::agent
