// RequestLimits: bounds on what one inference request may ask of the server, checked by the
// codecs before they allocate, so that a small request cannot claim a large amount of memory or
// time. Each is set by a `ferry serve` flag; exceeding one is a 400 naming the limit and its flag.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::core {

struct RequestLimits {
  std::size_t max_inputs = 256;                // --max-inputs
  std::int64_t max_tensor_elements = 1LL << 28;  // --max-tensor-elements, per tensor
  std::size_t max_json_depth = 32;             // --max-json-depth, nesting of a JSON body
  std::size_t max_bytes_element = 16u << 20;   // --max-bytes-element, one BYTES element
};

}  // namespace ferry::core
