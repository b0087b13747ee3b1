// Issue 18 item 9: prometheus.textfile's file in a folder others may write. A symlink planted at
// the old temporary name ("agent.prom.tmp -> victim") or at the target's name is never written
// through; a folder a user could swap or fill is refused with the reason.
#include "agent/control/textfile_writer.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/temp_user.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TextfileWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/textfile_writerXXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/textfile";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    victim_ = root_ + "/victim";
    std::ofstream(victim_) << "precious\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  /// Names in the folder other than the target and the planted ones: leftovers.
  size_t temp_files() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      n += e.path().filename().string().ends_with(".tmp") && e.path().filename() != "agent.prom.tmp";
    return n;
  }

  std::string root_, dir_, victim_;
};

TEST_F(TextfileWriter, PlantedSymlinksAreNeverFollowed) {
  const std::string prom = dir_ + "/agent.prom";
  // What the agent wrote before: path + ".tmp", opened with O_TRUNC, following the link.
  ASSERT_EQ(::symlink(victim_.c_str(), (prom + ".tmp").c_str()), 0);
  ASSERT_EQ(::symlink(victim_.c_str(), prom.c_str()), 0);
  ASSERT_TRUE(write_textfile(prom, "cronitor_agent_up 1\n"));
  EXPECT_EQ(read(victim_), "precious\n");
  struct stat st {};
  ASSERT_EQ(::lstat(prom.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));  // the link at the target's name was replaced
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(read(prom), "cronitor_agent_up 1\n");
  ASSERT_TRUE(write_textfile(prom, "cronitor_agent_up 2\n"));
  EXPECT_EQ(read(prom), "cronitor_agent_up 2\n");
  EXPECT_EQ(temp_files(), 0u);
}

TEST_F(TextfileWriter, AFolderOthersCanWriteWithoutTheStickyBitIsRefused) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  auto r = write_textfile(dir_ + "/agent.prom", "x 1\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("writable by other users and not sticky"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ + "/agent.prom"));
  EXPECT_EQ(temp_files(), 0u);
  ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);  // as /tmp: others' names cannot be removed or replaced
  EXPECT_TRUE(write_textfile(dir_ + "/agent.prom", "x 1\n"));
}

// A real user owns the folder, or plants links in a sticky world-writable one as node_exporter
// setups often have.
TEST_F(TextfileWriter, AUsersFolderIsRefusedAndTheirLinksInASharedOneAreNotFollowed) {
  if (::getuid() != 0) GTEST_SKIP() << "needs root: makes a user with useradd";
  cronitor::testing::TempUser user("escprom");
  ASSERT_EQ(::chown(dir_.c_str(), user.uid(), user.gid()), 0);
  auto r = write_textfile(dir_ + "/agent.prom", "x 1\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not root"), std::string::npos) << r.error().message;

  ASSERT_EQ(::chown(dir_.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);
  ASSERT_EQ(::chmod(root_.c_str(), 0755), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    user.become();
    const std::string prom = dir_ + "/agent.prom";
    ::_exit(::symlink(victim_.c_str(), (prom + ".tmp").c_str()) == 0 && ::symlink(victim_.c_str(), prom.c_str()) == 0
                ? 0
                : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // rename replaces the user's link at the target's name (root may, sticky bit or not); nothing
  // is written through either link.
  ASSERT_TRUE(write_textfile(dir_ + "/agent.prom", "x 1\n"));
  EXPECT_EQ(read(victim_), "precious\n");
  struct stat st {};
  ASSERT_EQ(::lstat((dir_ + "/agent.prom").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(read(dir_ + "/agent.prom"), "x 1\n");
  EXPECT_EQ(temp_files(), 0u);
}

}  // namespace
}  // namespace cronitor::agent
