// A shared library opened on first use (dlopen) instead of at the program's start, for the
// libraries that the daemon needs only sometimes: libcurl and what it brings (about 20 libraries,
// OpenSSL among them) only once something is sent, libmicrohttpd and GnuTLS only when /metrics or
// the dashboard listens. A library the dynamic linker maps at start costs its relocated and
// read-around pages whether it is used or not: 5.9 MiB of PSS in a minimal Debian 12 system.
// uplink/curl_dl.cpp and agent/control/mhd_dl.cpp define the library's functions that the product
// calls, each forwarding to the symbol found here, so the code that calls them is unchanged.
#pragma once

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace cronitor {

class LazyLibrary {
 public:
  explicit LazyLibrary(const char* soname) : soname_(soname) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  /// Opens the library once (any thread); false when it could not be opened (error() says why).
  bool load() {
    std::call_once(once_, [this] {
      handle_ = ::dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
      if (!handle_) {
        const char* e = ::dlerror();
        error_ = e ? e : std::string(soname_) + ": cannot be opened";
      }
    });
    return handle_ != nullptr;
  }
  /// The symbol `name` as a function of type F, or nullptr (library not opened, symbol missing).
  template <typename F>
  F function(const char* name) {
    return load() ? reinterpret_cast<F>(::dlsym(handle_, name)) : nullptr;
  }
  const char* soname() const { return soname_; }
  const std::string& error() const { return error_; }

 private:
  const char* soname_;
  std::once_flag once_;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace cronitor
