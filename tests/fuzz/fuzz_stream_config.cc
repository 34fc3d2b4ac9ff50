// Fuzz target: ferry.yaml (`ferry serve --config`), the Kafka and MQTT streams configuration.
// (Stream events themselves: fuzz_event_codec, and for pipelines the /predict codec, fuzz_predict.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stream/stream_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ferry::stream::ParseStreamConfig(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  return 0;
}
