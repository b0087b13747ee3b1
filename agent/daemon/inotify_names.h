// Reads every waiting event of a non-blocking inotify descriptor and says whether one of them
// names a file we care about (or the queue overflowed, when anything may have changed). The
// daemon's watches of a single folder (the config file's, /etc for the zone) only need that
// answer, then settle for a moment before acting.
#pragma once

#include <sys/inotify.h>
#include <unistd.h>

#include <string_view>

namespace cronitor::agent {

template <class Wanted>
bool drain_inotify(int fd, Wanted&& wanted) {
  alignas(inotify_event) char buf[8192];
  bool hit = false;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    for (char* p = buf; p < buf + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(p);
      if ((e->mask & IN_Q_OVERFLOW) || (e->len > 0 && wanted(std::string_view(e->name)))) hit = true;
      p += sizeof(inotify_event) + e->len;
    }
  return hit;
}

}  // namespace cronitor::agent
