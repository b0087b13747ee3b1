// A POSIX shell command split into words and operators the way sh reads it (quotes, backslashes,
// $(...), `...`, ${...}), each token with its byte span, so that parts of a command can be cut
// out and put back verbatim. Expansions are not performed: their text is kept as written.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cronitor::discovery {

struct ShellToken {
  enum class Kind {
    kWord,
    kOperator,  // ; & && | || ( )
    kRedirect,  // [N]> >> < >& <& <> >| (its target is the next word)
  };
  Kind kind = Kind::kWord;
  std::size_t begin = 0;  // byte span in the command
  std::size_t end = 0;
  std::string value;     // a word with its quotes removed (expansions as written); an operator's text
  bool quoted = false;   // a quote or backslash took part in the word
  bool expands = false;  // $..., `...`, an unquoted glob or a leading ~: the shell changes the text

  bool word() const { return kind == Kind::kWord; }
  bool op(std::string_view o) const { return kind == Kind::kOperator && value == o; }
};

/// Splits `command` into tokens; a `#` that starts a word ends the command (a comment). Fails on
/// what sh itself would refuse or read on further lines: an unclosed quote or substitution, and on
/// here-documents (`<<`), whose text is not on the line.
[[nodiscard]] Result<std::vector<ShellToken>> split_shell(std::string_view command);

/// True for a NAME=VALUE word that sh reads as an assignment before a command.
bool shell_assignment(std::string_view command, const ShellToken& t);

}  // namespace cronitor::discovery
