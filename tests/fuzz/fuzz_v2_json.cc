// Fuzz target: the KServe V2 JSON infer request codec (the body of POST .../infer with no binary
// data), and the small JSON bodies of the repository extension.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/v2_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ferry::core::RequestLimits limits;
  limits.max_tensor_elements = 1 << 20;  // keep each run's allocations small
  if (auto request = ferry::protocol::DecodeInferRequest(text, {}, limits); request) {
    const ferry::protocol::OutputFormat format(*request);
    (void)format.IsBinary("output");
  }
  (void)ferry::protocol::DecodeIndexRequest(text);
  (void)ferry::protocol::DecodeLoadRequest(text);
  return 0;
}
