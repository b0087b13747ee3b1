// SettledFolderWatch (agent/sources/settled_folder_watch.h): a folder watched for a few names; a
// write of one (not of another name) acts once, after the writes settle. The daemon's config
// watch and zone watch are this class.
#include "agent/sources/settled_folder_watch.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/support/sd_loop.h"

namespace cronitor::agent {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kSettle = 50'000;

struct Folder {
  fs::path path = fs::temp_directory_path() / ("settled-" + std::to_string(::getpid()));
  Folder() { fs::create_directories(path); }
  ~Folder() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text = "x") const { std::ofstream(path / name) << text; }
};

struct Watch {
  cronitor::testing::SdLoop loop;
  int acts = 0;
  SteadyClock::time_point acted_at;
  std::unique_ptr<SettledFolderWatch> w;
  explicit Watch(const Folder& f) {
    SettledFolderWatch::Options o;
    o.folder = f.path;
    o.names = {"agent.yaml", "timezone"};
    o.events = IN_CLOSE_WRITE | IN_MOVED_TO;
    o.settle_usec = kSettle;
    o.act = [this] {
      ++acts;
      acted_at = SteadyClock::now();
    };
    auto r = SettledFolderWatch::create(loop.ev, std::move(o));
    EXPECT_TRUE(r) << r.error().message;
    if (r) w = std::move(*r);
  }
};

TEST(SettledFolderWatch, OnlyTheNamesOfInterestArmIt) {
  Folder f;
  Watch w(f);
  ASSERT_TRUE(w.w);
  f.write("other.yaml");
  w.loop.dispatch_ready();
  EXPECT_FALSE(w.w->settling());
  const auto written = SteadyClock::now();
  f.write("agent.yaml");
  w.loop.dispatch_ready();
  EXPECT_TRUE(w.w->settling());
  ASSERT_TRUE(w.loop.run_until([&] { return w.acts == 1; }));
  EXPECT_GE(w.acted_at - written, std::chrono::microseconds(kSettle));
  EXPECT_FALSE(w.w->settling());
}

TEST(SettledFolderWatch, ABurstOfWritesAndARenameActOnce) {
  Folder f;
  Watch w(f);
  ASSERT_TRUE(w.w);
  for (int i = 0; i < 5; ++i) f.write("timezone", std::to_string(i));
  f.write("agent.yaml.new");
  fs::rename(f.path / "agent.yaml.new", f.path / "agent.yaml");  // how editors save
  ASSERT_TRUE(w.loop.run_until([&] { return w.acts == 1; }));
  w.loop.dispatch_ready();
  EXPECT_EQ(w.acts, 1);
  EXPECT_FALSE(w.w->settling());
}

TEST(SettledFolderWatch, ActSoonActsWithoutAWrite) {
  Folder f;
  Watch w(f);
  ASSERT_TRUE(w.w);
  w.w->act_soon();
  EXPECT_TRUE(w.w->settling());
  ASSERT_TRUE(w.loop.run_until([&] { return w.acts == 1; }));
}

TEST(SettledFolderWatch, AFolderThatIsNotThereSaysWhy) {
  cronitor::testing::SdLoop loop;
  SettledFolderWatch::Options o;
  o.folder = "/nonexistent-settled-folder";
  o.names = {"x"};
  o.events = IN_CLOSE_WRITE;
  o.act = [] {};
  auto r = SettledFolderWatch::create(loop.ev, std::move(o));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, std::strerror(ENOENT));
}

}  // namespace
}  // namespace cronitor::agent
