// Fuzz target: .npy files, as model.yaml `explain: {background: FILE.npy}` has them read at load.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ferry::core::ParseNpyRows(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
