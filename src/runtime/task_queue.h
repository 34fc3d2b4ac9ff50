// TaskQueue: worker threads running tasks in the order queued (one worker: one at a time), for work
// that must not block the I/O threads and has no scheduler of its own (models' operations, such
// as a Python model's explain; explanations). Push refuses (false) beyond `capacity` waiting
// tasks. The destructor runs what is queued, then joins. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry::runtime {

class TaskQueue {
 public:
  explicit TaskQueue(std::size_t capacity, std::size_t workers = 1);
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
  std::vector<std::thread> workers_;  // last: started once the rest is ready
};

}  // namespace ferry::runtime
