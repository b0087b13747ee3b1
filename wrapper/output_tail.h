// The last N bytes of a job's output, kept while the bytes stream through.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cronitor::wrapper {

/// A ring buffer holding the last `capacity` bytes appended.
class OutputTail {
 public:
  explicit OutputTail(size_t capacity) : buf_(capacity) {}

  /// Appends bytes; only the last `capacity` of everything appended are kept.
  void append(std::string_view data) {
    if (buf_.empty()) return;
    total_ += data.size();
    if (data.size() >= buf_.size()) data = data.substr(data.size() - buf_.size());
    size_t first = std::min(data.size(), buf_.size() - pos_);
    data.copy(buf_.data() + pos_, first);
    data.substr(first).copy(buf_.data(), data.size() - first);
    pos_ = (pos_ + data.size()) % buf_.size();
  }

  /// The kept bytes, oldest first.
  std::string str() const {
    if (total_ < buf_.size()) return std::string(buf_.data(), total_);
    std::string out(buf_.data() + pos_, buf_.size() - pos_);
    out.append(buf_.data(), pos_);
    return out;
  }

  /// Bytes appended in all.
  size_t total() const { return total_; }

 private:
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t total_ = 0;
};

}  // namespace cronitor::wrapper
