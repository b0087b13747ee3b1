// libFuzzer target, differential: decode() (nlohmann's SAX interface, common/event.cpp) must
// accept exactly the bytes the DOM decoder it replaced accepts (tests/common/
// event_decode_reference.h), with the same event, and refuse the others with the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/event.h"
#include "tests/common/event_decode_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto want = cronitor::reference_decode(input);
  auto got = cronitor::decode(input);
  if (want.has_value() != got.has_value()) std::abort();
  if (want ? !(*want == *got) : want.error().message != got.error().message) std::abort();
  return 0;
}
