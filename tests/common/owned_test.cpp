// common/owned.h: a C library's handle released once, by its own function, and out_ptr handing a
// handle a C function writes over to its owner (or leaving the owner as it was).
#include "common/owned.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cronitor {
namespace {

// A stand-in C library: handles are slots of `pool`; `releases` lists what was released, in order.
struct Handle {
  int id;
};
std::vector<int> releases;
Handle pool[3] = {{0}, {1}, {2}};

int release_handle(Handle* h) {
  releases.push_back(h->id);
  return 0;
}
void release_quietly(Handle* h) { releases.push_back(100 + h->id); }
// As sd_bus_open and its kind: 0 and a handle written, or an error and nothing written.
int open_handle(int which, Handle** out) {
  if (which < 0) return -2;
  *out = &pool[which];
  return 0;
}

using Owner = Owned<Handle, release_handle>;

TEST(Owned, ReleasesItsHandleOnceWithTheLibrarysFunctionAndNeverANullOne) {
  releases.clear();
  {
    Owner a(&pool[0]);
    Owner none;                                  // nothing to release
    Owned<Handle, release_quietly> b(&pool[1]);  // a release function without a result
    Owner moved = std::move(a);                  // the handle has one owner: released once
    moved.reset(&pool[2]);                       // the old handle first
    EXPECT_EQ(releases, (std::vector<int>{0}));
  }
  // At the end of the scope, in reverse order of declaration.
  EXPECT_EQ(releases, (std::vector<int>{0, 2, 101}));
}

TEST(Owned, OutPtrHandsTheWrittenHandleOverAndLeavesTheOwnerAloneWhenNothingWasWritten) {
  releases.clear();
  Owner h;
  ASSERT_EQ(open_handle(1, out_ptr(h)), 0);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->id, 1);
  EXPECT_EQ(open_handle(-1, out_ptr(h)), -2);  // failed, wrote nothing: still the first
  EXPECT_EQ(h->id, 1);
  EXPECT_TRUE(releases.empty());
  ASSERT_EQ(open_handle(0, out_ptr(h)), 0);  // a new one: the old one released
  EXPECT_EQ(h->id, 0);
  EXPECT_EQ(releases, (std::vector<int>{1}));
  h.reset();
  EXPECT_EQ(releases, (std::vector<int>{1, 0}));
}

TEST(Owned, AListingClosesItsDescriptor) {
  // The real thing: a DIR* from fdopendir owns the descriptor it was given, and closedir closes it.
  int fd = -1;
  {
    const Owned<DIR, ::closedir> d(::opendir("/"));
    ASSERT_TRUE(d);
    fd = ::dirfd(d.get());
    ASSERT_GE(fd, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD), -1);  // open
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed with its owner
}

}  // namespace
}  // namespace cronitor
