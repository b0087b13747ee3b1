// ConfigFileWatch (agent/sources/config_file_watch.h), built without the daemon: the config file's
// folder watched on a private loop; a burst of writes (or a rename over it) reloads once after the
// settle, and a file changed between the start's read and the watch reloads without an event.
#include "agent/sources/config_file_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/sd_loop.h"
#include "tests/support/test_dir.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;

struct ConfigFolder {
  fs::path dir = cronitor::testing::test_dir("config-file-watch");
  std::string file = (dir / "agent.yaml").string();
  ConfigFolder() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    write("mode: standalone\n");
  }
  ~ConfigFolder() { fs::remove_all(dir); }
  void write(const std::string& text) const { std::ofstream(file) << text; }
};

/// The folder, a private loop and a watch that counts its reloads, its start's read noted.
class ConfigFileWatchTest : public ::testing::Test {
 protected:
  ConfigFileWatchTest() { w.note_read(); }
  ConfigFolder f;
  cronitor::testing::SdLoop loop;
  int reloads = 0;
  ConfigFileWatch w{f.file, [this] { ++reloads; }};
};

TEST_F(ConfigFileWatchTest, ABurstOfWritesAndARenameReloadOnceAfterTheSettle) {
  w.attach(loop.ev);
  ASSERT_TRUE(w.watching());
  EXPECT_FALSE(w.settling());
  const auto written = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) f.write("mode: standalone # " + std::to_string(i) + "\n");
  std::ofstream(f.dir / "agent.yaml.new") << "mode: standalone\n";
  fs::rename(f.dir / "agent.yaml.new", f.file);  // how editors save
  ASSERT_TRUE(loop.run_until([&] { return reloads > 0; }));
  EXPECT_GE(std::chrono::steady_clock::now() - written, std::chrono::microseconds(ConfigFileWatch::kSettleUsec));
  loop.dispatch_ready();
  EXPECT_EQ(reloads, 1);
  EXPECT_FALSE(w.settling());
}

TEST_F(ConfigFileWatchTest, AFileWrittenBetweenTheReadAndTheWatchReloads) {
  f.write("mode: standalone\nhostname: changed-before-the-watch\n");
  w.attach(loop.ev);
  EXPECT_TRUE(w.settling());  // no event will tell: it acts as if one had
  ASSERT_TRUE(loop.run_until([&] { return reloads == 1; }));
}

TEST_F(ConfigFileWatchTest, AnUnchangedFileOrAnotherFileDoesNotReload) {
  w.attach(loop.ev);
  EXPECT_FALSE(w.settling());
  std::ofstream(f.dir / "other.yaml") << "x\n";
  loop.dispatch_ready();
  EXPECT_FALSE(w.settling());
  EXPECT_EQ(reloads, 0);
}

TEST(ConfigFileWatch, AFolderThatIsNotThereIsNoWatch) {
  cronitor::testing::SdLoop loop;
  const std::string path = "/nonexistent-config-file-watch/agent.yaml";
  ConfigFileWatch w(path, [] {});
  w.note_read();
  w.attach(loop.ev);
  EXPECT_FALSE(w.watching());
  EXPECT_FALSE(w.settling());
}

}  // namespace
}  // namespace cronitor::agent
