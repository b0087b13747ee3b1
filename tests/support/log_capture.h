// Tests of code that logs through spdlog's default logger: what it logs, read back as text.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>

namespace cronitor::testing {

/// The default logger writes to `out` while this lives; the one before comes back after.
class LogCapture {
 public:
  explicit LogCapture(std::ostringstream& out)
      : saved_(spdlog::default_logger()),
        logger_(std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_mt>(out))) {
    spdlog::set_default_logger(logger_);
  }
  ~LogCapture() { spdlog::set_default_logger(saved_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

 private:
  std::shared_ptr<spdlog::logger> saved_, logger_;
};

}  // namespace cronitor::testing
