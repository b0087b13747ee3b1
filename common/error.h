// The one error model of the project: expected failures travel as std::expected<T, Error>.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <system_error>
#include <utility>

namespace cronitor {

/// An expected failure: a message for people, and errno when a system call failed.
struct Error {
  std::string message;
  int sys_errno = 0;

  /// An error carrying errno from `call` (e.g. "inotify_add_watch"), with `context` (often a path).
  static Error from_errno(std::string_view call, std::string_view context, int err = errno) {
    std::string m(context);
    if (!m.empty()) m += ": ";
    m += call;
    m += ": ";
    m += std::generic_category().message(err);
    return Error{std::move(m), err};
  }
};

template <typename T>
using Result = std::expected<T, Error>;

/// Shorthand for returning an error from a function that returns Result<T>.
inline std::unexpected<Error> fail(std::string message) { return std::unexpected(Error{std::move(message), 0}); }

}  // namespace cronitor
