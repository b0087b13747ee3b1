// A real unprivileged local user for tests that attack the root daemon: made with useradd,
// removed with userdel (and its files) when the object goes. Tests run as root.
#pragma once

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace cronitor::testing {

class TempUser {
 public:
  /// Creates `name` (removing a leftover of an earlier, killed run first).
  explicit TempUser(std::string name) : name_(std::move(name)) {
    run("userdel -r " + name_ + " >/dev/null 2>&1");
    if (run("useradd --no-create-home --shell /bin/sh --user-group " + name_) != 0)
      throw std::runtime_error("useradd " + name_ + " failed");
    const passwd* pw = ::getpwnam(name_.c_str());
    if (pw == nullptr) throw std::runtime_error("getpwnam " + name_ + " failed after useradd");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
  ~TempUser() { run("userdel " + name_ + " >/dev/null 2>&1"); }
  TempUser(const TempUser&) = delete;
  TempUser& operator=(const TempUser&) = delete;

  const std::string& name() const { return name_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }

  /// In a forked child: become this user for good (groups, gid, uid), or exit 126.
  void become() const {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0) ::_exit(126);
  }

 private:
  static int run(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string name_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace cronitor::testing
