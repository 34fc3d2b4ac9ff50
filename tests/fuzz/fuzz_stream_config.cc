// Fuzz target: ferry.yaml (`ferry serve --config`), the Kafka streams configuration. (Kafka
// events themselves are decoded by the /predict codec, which fuzz_predict covers.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stream/stream_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ferry::stream::ParseStreamConfig(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  return 0;
}
