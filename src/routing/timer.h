// Timer: runs callbacks at given times, on its own thread -- an ensemble leaves out members that
// have not answered by their deadline. Callbacks must be short and must not block; a callback
// whose moment has passed runs as soon as the thread gets to it. There is no cancelling: a
// callback that finds its work already done just returns.
//
// Thread safety: At may be called from any thread. Destruction runs every callback still waiting
// at once (so no call waits for a deadline that would never come), then joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace ferry::routing {

class Timer {
 public:
  using Clock = std::chrono::steady_clock;

  Timer();
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void At(Clock::time_point when, std::move_only_function<void()> callback);

 private:
  struct Entry {
    Clock::time_point when;
    std::uint64_t order;  // ties run in the order they were set
    mutable std::move_only_function<void()> callback;
    bool operator>(const Entry& other) const {
      return when != other.when ? when > other.when : order > other.order;
    }
  };
  void Run(std::stop_token stop);

  std::mutex mutex_;
  std::condition_variable_any wake_;
  // Protected by mutex_.
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> entries_;
  std::uint64_t next_order_ = 0;

  std::jthread thread_;  // last: started once the rest is ready
};

}  // namespace ferry::routing
