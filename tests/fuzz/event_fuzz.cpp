// libFuzzer target for the run event format: decode() must reject or accept any bytes without
// crashing, and whatever it accepts must survive encode() and decode again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto event = cronitor::decode(input);
  if (!event) return 0;
  std::string line = cronitor::encode(*event);
  if (line.size() > cronitor::kMaxLineBytes) std::abort();
  auto again = cronitor::decode(line);
  if (!again || !(*again == *event)) std::abort();
  return 0;
}
