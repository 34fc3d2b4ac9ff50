// Fuzz target: router configurations (model.yaml with `router:`), parsed as when a router loads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "routing/router_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = ferry::routing::ParseRouterConfig(text, "fuzz/model.yaml");
  if (config) (void)ferry::routing::TargetNames(*config);
  return 0;
}
