// An owned handle of a C library, released once by that library's own function when its owner
// ends or resets it: a DIR*, a FILE*, a SQLite connection or statement, an sd-bus connection,
// slot or message, an sd-journal, an sd-event loop, a curl handle. With UniqueFd (descriptors) and
// EventSource (sd-event sources), the product's only way to hold one (test common.ownership):
//   Owned<sqlite3_stmt, sqlite3_finalize> s_;  // a DIR's: DirListing (common/dir_listing.h)
//   s_.reset(prepared);  // null (the call failed): nothing to release
// A handle a C function hands over through an out-parameter goes to its owner through out_ptr:
//   sd_bus_open_system(out_ptr(bus_));
#pragma once

#include <memory>

namespace cronitor {

/// The deleter: calls `Release` (its result, where it has one, is dropped). unique_ptr never calls
/// it for a null handle.
template <auto Release>
struct ReleaseWith {
  template <class T>
  void operator()(T* handle) const {
    (void)Release(handle);
  }
};

template <class T, auto Release>
using Owned = std::unique_ptr<T, ReleaseWith<Release>>;

/// The T** a C function writes a new handle to (std::out_ptr of C++23, which this compiler lacks):
/// once the call's full expression ends, `owner` holds what the function wrote. Nothing written
/// (still null): `owner` is left as it was.
template <class Ptr>
class OutPtr {
 public:
  explicit OutPtr(Ptr& owner) : owner_(owner) {}
  OutPtr(const OutPtr&) = delete;
  OutPtr& operator=(const OutPtr&) = delete;
  ~OutPtr() {
    if (raw_) owner_.reset(raw_);
  }
  operator typename Ptr::pointer *() { return &raw_; }  // NOLINT: passed where the C call wants T**

 private:
  Ptr& owner_;
  typename Ptr::pointer raw_ = nullptr;
};

template <class Ptr>
OutPtr<Ptr> out_ptr(Ptr& owner) {
  return OutPtr<Ptr>(owner);
}

}  // namespace cronitor
