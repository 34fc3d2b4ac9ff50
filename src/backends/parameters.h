// model.yaml `parameters` as the backends read them (strings in LoadOptions::parameters).
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <string>

#include "backends/backend.h"

namespace ferry::backends {

// The parameter `key`, or `fallback` when model.yaml does not set it.
inline std::string StringParameter(const LoadOptions& options, const std::string& key, std::string fallback) {
  auto it = options.parameters.find(key);
  return it == options.parameters.end() ? fallback : it->second;
}

// The integer parameter `key` in [min, max], or `fallback` when model.yaml does not set it.
inline core::Result<int> IntParameter(const LoadOptions& options, const std::string& key, int fallback, int min,
                                      int max) {
  auto it = options.parameters.find(key);
  if (it == options.parameters.end()) return fallback;
  int value = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return core::InvalidArgument(fmt::format("parameter {} must be an integer {}..{}, got '{}'", key, min, max, text));
  }
  return value;
}

}  // namespace ferry::backends
