// libFuzzer target: CalendarSpec::parse must accept or reject any bytes without a crash, UB or
// hang. What it accepts must print a normalised form that parses again to the same form (systemd
// itself can read what systemd-analyze prints), and give strictly increasing elapses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schedule/calendar_spec.h"
#include "tests/fuzz/fuzz_support.h"

using cronitor::schedule::CalendarSpec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > cronitor::fuzz::kMaxInput) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = CalendarSpec::parse(text);
  if (!spec) {
    FUZZ_CHECK(!spec.error().message.empty(), "an error without a message");
    return 0;
  }
  const std::string normalized = spec->normalized();
  auto again = CalendarSpec::parse(normalized);
  FUZZ_CHECK(again.has_value(), "normalized form '%s' does not parse: %s", normalized.c_str(),
             again.error().message.c_str());
  FUZZ_CHECK(again->normalized() == normalized, "'%s' normalizes to '%s'", normalized.c_str(),
             again->normalized().c_str());
  for (const auto& zone : cronitor::fuzz::zones()) {
    int64_t t = cronitor::fuzz::base_time(text) * 1'000'000;
    for (int i = 0; i < cronitor::fuzz::kSteps; ++i) {
      const auto next = spec->next_usec(t, zone);
      if (!next) break;
      FUZZ_CHECK(*next > t, "next_usec(%lld) = %lld in %s for '%s'", static_cast<long long>(t),
                 static_cast<long long>(*next), zone.name().c_str(), normalized.c_str());
      t = *next;
    }
  }
  return 0;
}
