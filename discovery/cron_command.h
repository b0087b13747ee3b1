// The command part of a crontab line: cron's '%' rule, and the wrapped form `cronitor-exec KEY --`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cronitor::discovery {

/// Debian cron keeps a command to this many bytes (MAX_COMMAND - 1); longer lines are cut.
inline constexpr std::size_t kCronMaxCommand = 999;

/// Offset of the first '%' that cron treats as the end of the command (stdin follows), or npos.
/// Follows cron's scan: a backslash escapes the next character, only "\%" is special.
std::size_t find_stdin_split(std::string_view command);

/// What the shell receives from cron for `command`: the part before the split, with "\%" as "%".
std::string shell_command(std::string_view command);

/// The stdin cron feeds for `command` ('%' as newline, "\%" as '%'), empty when there is none.
std::string stdin_text(std::string_view command);

/// A command recognised as running through cronitor's wrapper.
struct WrappedCommand {
  std::string key;
  std::string inner;       // the original command (the part before the stdin split)
  std::string rest;        // what follows the wrapped part: the '%' stdin text, trailing blanks
  bool canonical = false;  // our recommended form, which unwrap reverses byte for byte
};

/// Recognises `[PATH/]cronitor-exec [FLAGS] KEY [--] CMD` (CMD single-quoted or not); nullopt for
/// anything else, cronitor-cli's `cronitor exec KEY CMD` included (an upstream's own tool).
std::optional<WrappedCommand> parse_wrapped(std::string_view command);

/// Quotes `s` for a POSIX shell with single quotes ('\'' inside).
std::string shell_single_quote(std::string_view s);

/// The recommended wrapped form: `EXEC KEY -- 'ORIGINAL'%stdin` with trailing blanks kept outside.
/// Fails when the result would exceed cron's command length limit.
Result<std::string> wrap_command(std::string_view command, std::string_view key, std::string_view exec_path);

/// The original command of a wrapped one (exact bytes for the canonical form).
std::string unwrap_command(const WrappedCommand& w);

/// True for shells that read `-c` like sh: wrapping under any other SHELL= is refused.
bool posix_shell(std::string_view shell);

}  // namespace cronitor::discovery
