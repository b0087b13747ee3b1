// A listing (DIR*) of a folder the caller holds open, on a descriptor of its own: the caller's
// descriptor stays open and unmoved, and the listing's is closed with it (closedir), or at once
// when fdopendir fails. For the spool's listing (agent) and crontab backups (discovery).
#pragma once

#include <dirent.h>
#include <unistd.h>

#include "common/owned.h"
#include "common/unique_fd.h"

namespace cronitor {

using DirListing = Owned<DIR, ::closedir>;

/// The entries of the folder open as `dirfd`, from its start; null when no descriptor or listing
/// could be had.
inline DirListing open_listing(int dirfd) {
  UniqueFd own(::dup(dirfd));
  DirListing listing(own ? ::fdopendir(own.get()) : nullptr);
  if (listing) (void)own.release();  // the listing's now: closedir closes it
  return listing;
}

}  // namespace cronitor
