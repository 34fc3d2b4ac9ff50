// Fuzz target: the binary tensor extension. The input is the JSON header and the binary data
// after it, as on the wire; the first two bytes (little-endian) give the JSON length, as the
// Inference-Header-Content-Length header does.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/v2_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t json_size = data[0] | (std::size_t{data[1]} << 8);
  data += 2;
  size -= 2;
  if (json_size > size) json_size = size;
  const std::string_view json(reinterpret_cast<const char*>(data), json_size);
  const std::span<const std::byte> binary(reinterpret_cast<const std::byte*>(data) + json_size, size - json_size);
  ferry::core::RequestLimits limits;
  limits.max_tensor_elements = 1 << 20;
  (void)ferry::protocol::DecodeInferRequest(json, binary, limits);
  // The client side reads the same layout back from responses.
  (void)ferry::protocol::DecodeInferResponse(json, binary);
  return 0;
}
