// Random numbers for ids (trace and span ids, event ids) and sampling decisions: a per-thread
// xorshift64* generator seeded from std::random_device. No lock, no allocation; not for secrets.
#pragma once

#include <cstdint>
#include <random>

namespace ferry::core {

inline std::uint64_t RandomU64() {
  thread_local std::uint64_t state = [] {
    const std::uint64_t seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    return seed ? seed : 0x9E3779B97F4A7C15ull;  // xorshift never leaves zero
  }();
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

// A uniform draw in [0, 1).
inline double RandomUnit() { return static_cast<double>(RandomU64() >> 11) * 0x1.0p-53; }

}  // namespace ferry::core
