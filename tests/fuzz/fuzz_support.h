// Shared bits of the schedule fuzz targets: a hard check that survives NDEBUG, the zones every
// parsed schedule is evaluated in, and base times around their DST transitions.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "schedule/zone.h"

#define FUZZ_CHECK(cond, ...)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fputc('\n', stderr);                                                     \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace cronitor::fuzz {

// Inputs longer than this only slow the fuzzer down; every parser has its own, larger limit.
constexpr size_t kMaxInput = 512;
// How many successive fire times each parsed schedule is asked for, per zone: bounded work.
constexpr int kSteps = 6;

inline const std::vector<schedule::Zone>& zones() {
  static const std::vector<schedule::Zone> z = [] {
    std::vector<schedule::Zone> out;
    for (const char* n : {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"}) {
      auto zone = schedule::Zone::load(n);
      if (!zone) std::abort();
      out.push_back(*zone);
    }
    return out;
  }();
  return z;
}

// Unix seconds: just before Berlin's spring and autumn changes of 2026, a leap day, 2099's end.
inline int64_t base_time(std::string_view input) {
  static constexpr int64_t kBases[] = {1774744200, 1792886400, 1835395200, 4102444799};
  return kBases[input.size() % 4];
}

}  // namespace cronitor::fuzz
