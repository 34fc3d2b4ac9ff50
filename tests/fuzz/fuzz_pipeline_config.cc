// Fuzz target: pipeline configurations (model.yaml with `pipeline:`), parsed and checked as when
// a pipeline loads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipeline/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ferry::pipeline::Pipeline::Parse(text, "fuzz/model.yaml", "fuzz");
  return 0;
}
