// The process's own resource use, for the metrics endpoint. Reads /proc and getrusage; cheap.
#pragma once

#include <cstdint>

namespace ferry::observe {

struct ProcessStats {
  std::uint64_t resident_bytes = 0;  // RSS
  double cpu_seconds = 0;            // user + system
  std::uint64_t threads = 0;
};

ProcessStats ReadProcessStats();

}  // namespace ferry::observe
