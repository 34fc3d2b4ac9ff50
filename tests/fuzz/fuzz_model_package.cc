// Fuzz target: model packages from the Kafka models topic (tar + zstd), unpacked into a scratch
// folder as a serving instance would (and removed after each run).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "stream/model_package.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("ferry-fuzz-package-" + std::to_string(getpid()));
  (void)ferry::stream::UnpackModel(std::string_view(reinterpret_cast<const char*>(data), size), scratch);
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  return 0;
}
