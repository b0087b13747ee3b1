// libFuzzer target, differential: decode() (common/event.cpp) must accept exactly the bytes the DOM
// decoder it replaced accepts (tests/common/event_decode_reference.h), with the same event, and
// refuse the others with the same message; and of the two JSON parsers under decode, simdjson must
// accept a text only when nlohmann_json does (common/event_json.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/event.h"
#include "common/event_json.h"
#include "tests/common/event_decode_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto want = cronitor::reference_decode(input);
  auto got = cronitor::decode(input);
  if (want.has_value() != got.has_value()) std::abort();
  if (want ? !(*want == *got) : want.error().message != got.error().message) std::abort();
  // As decode parses it: the text bounded in nesting before any parser sees it.
  if (cronitor::nesting_depth(input) <= cronitor::kMaxNesting && cronitor::fast_json_accepts(input) &&
      !nlohmann::json::accept(input.begin(), input.end()))
    std::abort();
  return 0;
}
