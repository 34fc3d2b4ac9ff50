#include "routing/timer.h"

namespace ferry::routing {

Timer::Timer() : thread_([this](std::stop_token stop) { Run(stop); }) {}

Timer::~Timer() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Whatever is left runs now: its callers must not wait for a moment that will not come.
  while (!entries_.empty()) {
    auto callback = std::move(entries_.top().callback);
    entries_.pop();
    callback();
  }
}

void Timer::At(Clock::time_point when, std::move_only_function<void()> callback) {
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    earliest = entries_.empty() || when < entries_.top().when;
    entries_.push(Entry{.when = when, .order = next_order_++, .callback = std::move(callback)});
  }
  if (earliest) wake_.notify_one();
}

void Timer::Run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (entries_.empty()) {
      wake_.wait(lock, stop, [this] { return !entries_.empty(); });
      continue;
    }
    const auto when = entries_.top().when;
    if (Clock::now() < when) {
      wake_.wait_until(lock, stop, when, [this, when] { return !entries_.empty() && entries_.top().when < when; });
      continue;
    }
    auto callback = std::move(entries_.top().callback);
    entries_.pop();
    lock.unlock();
    callback();
    lock.lock();
  }
}

}  // namespace ferry::routing
