// TaskQueue: one worker thread running tasks in order, for work that must not block the I/O
// threads and has no scheduler of its own (models' operations, such as a Python model's explain).
// Push refuses (false) beyond `capacity` waiting tasks. The destructor runs what is queued, then
// joins. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ferry::runtime {

class TaskQueue {
 public:
  explicit TaskQueue(std::size_t capacity);
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  bool Push(std::move_only_function<void()> task);

 private:
  void Run();

  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::move_only_function<void()>> tasks_;  // protected by mu_
  bool stopping_ = false;                              // protected by mu_
  std::thread worker_;  // last: started once the rest is ready
};

}  // namespace ferry::runtime
