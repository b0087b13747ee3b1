#include "common/run_id.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace cronitor {
namespace {

/// `n` random bytes from the kernel; where getrandom cannot give them (Linux < 3.17 only), bytes
/// mixed from the pid, the clocks and a counter, so that two ids still differ.
void random_bytes(unsigned char* b, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::getrandom(b + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got == n) return;
  static std::atomic<uint64_t> counter{0};
  timespec mono{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  uint64_t x = static_cast<uint64_t>(::getpid()) << 32 ^ static_cast<uint64_t>(mono.tv_nsec) ^
               static_cast<uint64_t>(mono.tv_sec) << 20 ^ counter.fetch_add(1) * 0x9E3779B97F4A7C15ull;
  for (size_t i = got; i < n; ++i) {  // splitmix64, one byte of each step
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    b[i] = static_cast<unsigned char>(z ^ (z >> 31));
  }
}

}  // namespace

std::string new_run_id(int64_t unix_ms) {
  const uint64_t ms = static_cast<uint64_t>(std::clamp<int64_t>(unix_ms, 0, (int64_t{1} << 48) - 1));
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));  // big-endian
  random_bytes(b + 6, 10);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);  // version 7
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // the RFC's variant (10xx)
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

std::string new_run_id() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return new_run_id(int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000);
}

}  // namespace cronitor
