// libFuzzer target: CronSpec::parse in both dialects must accept or reject any bytes without a
// crash, UB or hang; what it accepts must give strictly increasing fire times in every zone.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schedule/cron_spec.h"
#include "tests/fuzz/fuzz_support.h"

using cronitor::schedule::CivilTime;
using cronitor::schedule::CronDialect;
using cronitor::schedule::CronSpec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > cronitor::fuzz::kMaxInput) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (CronDialect dialect : {CronDialect::kDebian, CronDialect::kExtended}) {
    auto spec = CronSpec::parse(text, dialect);
    if (!spec) {
      FUZZ_CHECK(!spec.error().message.empty(), "an error without a message");
      continue;
    }
    if (spec->has(CronSpec::kReboot)) continue;
    for (const auto& zone : cronitor::fuzz::zones()) {
      int64_t t = cronitor::fuzz::base_time(text);
      for (int i = 0; i < cronitor::fuzz::kSteps; ++i) {
        const auto next = spec->next_fire(t, zone);
        if (!next) break;
        FUZZ_CHECK(*next > t, "next_fire(%lld) = %lld in %s", static_cast<long long>(t), static_cast<long long>(*next),
                   zone.name().c_str());
        t = *next;
      }
    }
    CivilTime c = CivilTime::from_linear(cronitor::fuzz::base_time(text));
    for (int i = 0; i < cronitor::fuzz::kSteps; ++i) {
      const auto next = spec->next_civil(c);
      if (!next) break;
      FUZZ_CHECK(next->linear() > c.linear(), "next_civil went backwards");
      c = *next;
    }
    for (unsigned month = 1; month <= 12; ++month) {
      const uint32_t mask = spec->day_mask(2028, month);
      FUZZ_CHECK((mask & 1u) == 0, "day 0 in the day mask");
    }
  }
  return 0;
}
