// libFuzzer target: parse_iso8601 (the --from option) must accept or reject any bytes without a
// crash or UB; an accepted time printed with format_iso8601 must parse back to the same instant.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schedule/iso8601.h"
#include "tests/fuzz/fuzz_support.h"

using cronitor::schedule::format_iso8601;
using cronitor::schedule::Instant;
using cronitor::schedule::parse_iso8601;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > cronitor::fuzz::kMaxInput) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& zone : cronitor::fuzz::zones()) {
    auto t = parse_iso8601(text, zone);
    if (!t) {
      FUZZ_CHECK(!t.error().message.empty(), "an error without a message");
      continue;
    }
    // Printing covers the years 0000-9999: the round trip is checked a day inside that range
    // (a zone's offset may move the local date across its edge).
    if (*t < Instant{std::chrono::seconds(-62167219200 + 86400)} ||
        *t >= Instant{std::chrono::seconds(253402300800 - 86400)}) {
      continue;
    }
    const std::string printed = format_iso8601(*t, zone);
    auto back = parse_iso8601(printed, zone);
    FUZZ_CHECK(back.has_value(), "'%s' (printed in %s) does not parse: %s", printed.c_str(), zone.name().c_str(),
               back.error().message.c_str());
    FUZZ_CHECK(*back == *t, "'%s' parses to another instant", printed.c_str());
  }
  return 0;
}
