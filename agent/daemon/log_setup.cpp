#include "agent/daemon/log_setup.h"

#include <sys/stat.h>

#include <charconv>
#include <string>

#include "common/text.h"

namespace cronitor::agent {

namespace {

/// "%*" in the pattern: the "<N>" prefix of the message's level.
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char text[] = {'<', static_cast<char>('0' + journal_priority(msg.level)), '>'};
    dest.append(text, text + sizeof text);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

/// "%E" in the pattern: the message with what a user can name in it (job names, commands, spool
/// file names) escaped, so no value can end the line, forge another one or drive a terminal.
class EscapedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text = escape_text(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessageFlag>(); }
};

}  // namespace

int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;  // LOG_CRIT
    case spdlog::level::err:
      return 3;  // LOG_ERR
    case spdlog::level::warn:
      return 4;  // LOG_WARNING
    case spdlog::level::info:
      return 6;  // LOG_INFO
    default:
      return 7;  // LOG_DEBUG (debug, trace)
  }
}

bool stderr_is_journal(std::optional<std::string_view> journal_stream, int stderr_fd) {
  if (!journal_stream) return false;
  const std::string_view v = *journal_stream;
  const auto colon = v.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0, ino = 0;
  const auto d = std::from_chars(v.data(), v.data() + colon, dev);
  const auto i = std::from_chars(v.data() + colon + 1, v.data() + v.size(), ino);
  if (d.ec != std::errc{} || d.ptr != v.data() + colon || i.ec != std::errc{} || i.ptr != v.data() + v.size())
    return false;
  struct stat st {};
  if (::fstat(stderr_fd, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(bool journal) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<EscapedMessageFlag>('E');
  if (journal)
    f->add_flag<PriorityFlag>('*').set_pattern("%*%E");
  else
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l: %E");
  return f;
}

}  // namespace cronitor::agent
