// libFuzzer target: Schedule::parse in every kind and dialect (cron lines, 6-field monitor
// expressions, "every N unit", "at HH:MM", OnCalendar=) and what people see of the result:
// next() strictly increasing in every zone, explain() always a sentence.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schedule/schedule.h"
#include "tests/fuzz/fuzz_support.h"

using cronitor::schedule::CronDialect;
using cronitor::schedule::Instant;
using cronitor::schedule::Kind;
using cronitor::schedule::Schedule;

namespace {

void exercise(const Schedule& s, std::string_view text) {
  FUZZ_CHECK(!s.explain().empty(), "empty explanation");
  if (s.at_reboot()) return;
  for (const auto& zone : cronitor::fuzz::zones()) {
    Instant t{std::chrono::seconds(cronitor::fuzz::base_time(text))};
    for (int i = 0; i < cronitor::fuzz::kSteps; ++i) {
      const auto next = s.next(t, zone);
      if (!next) break;
      FUZZ_CHECK(*next > t, "next() did not move forward for '%s' in %s", s.text().c_str(), zone.name().c_str());
      t = *next;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > cronitor::fuzz::kMaxInput) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto [kind, dialect] :
       {std::pair{Kind::kCron, CronDialect::kExtended}, std::pair{Kind::kCron, CronDialect::kDebian},
        std::pair{Kind::kSystemd, CronDialect::kExtended}}) {
    auto s = Schedule::parse(text, kind, dialect);
    if (!s) {
      FUZZ_CHECK(!s.error().message.empty(), "an error without a message");
      continue;
    }
    if (const auto period = s->interval())
      FUZZ_CHECK(period->count() > 0, "a period of %lld s", static_cast<long long>(period->count()));
    exercise(*s, text);
  }
  return 0;
}
