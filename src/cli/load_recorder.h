// What load_generator's HTTP slots and the gRPC module's calls (cli/grpc_module.h) share: the
// recorder of one run's answers and the open-loop schedule.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/load_generator.h"

namespace ferry::cli {

using LoadClock = std::chrono::steady_clock;

// Latencies of the measured window, and the window itself.
class Recorder {
 public:
  Recorder(LoadClock::time_point start, LoadClock::time_point end);

  // Counts answers that arrive within the window. Returns false once the run is over.
  bool Record(LoadClock::time_point sent, LoadClock::time_point answered, bool ok, std::string_view error);

  LoadResult Finish(int concurrency);

 private:
  LoadClock::time_point start_, end_;
  std::vector<double> latencies_;
  std::uint64_t errors_ = 0;
  std::string first_error_;
};

// The open-loop schedule: request k is due at t0 + k * interval. Shared by the slots of one run,
// all on one thread.
struct Pacer {
  LoadClock::time_point t0;
  LoadClock::duration interval{0};
  std::uint64_t next = 0;
  bool active() const { return interval.count() > 0; }
  LoadClock::time_point Take() { return t0 + interval * static_cast<LoadClock::rep>(next++); }
};

// 1/rate, or zero (a closed loop) when rate is not positive.
LoadClock::duration Interval(double rate);

}  // namespace ferry::cli
