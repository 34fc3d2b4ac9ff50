// InstancePool: the execution side of one model version. Requests wait in a bounded FIFO queue and
// one worker thread per model instance takes them in turn, so inference never runs on a frontend's
// I/O thread and each instance runs one request at a time.
//
// Thread safety: Submit may be called from any thread. Each accepted job's callback runs exactly
// once, on a worker thread. Destruction refuses new jobs, lets the workers run every job already
// queued, then joins them: an accepted request is always answered by the model.
//
// The dynamic batcher will sit in front of this queue; for now each request executes alone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/inference.h"
#include "scheduler/statistics.h"

namespace ferry::sched {

// Runs one request on one instance: inputs (already validated) and the names of the wanted
// outputs, in order; returns those outputs and fills the times it measured (if it can).
using ExecuteFn = std::move_only_function<core::Result<std::vector<core::Tensor>>(
    std::span<const core::Tensor> inputs, std::span<const std::string> outputs, core::ComputeTimes* times)>;

using InferCallback = std::move_only_function<void(core::Result<core::InferenceResponse>)>;

class InstancePool {
 public:
  struct Options {
    std::string model_name;
    std::int64_t model_version = 0;
    std::size_t max_queue_size = 4096;  // waiting requests; beyond it Submit refuses at once
    std::int64_t max_batch_size = 0;    // > 0: the first input dim counts rows for statistics
  };

  struct Job {
    core::InferenceRequest request;
    std::vector<std::string> outputs;  // output names to compute, in response order
    InferCallback done;
    std::chrono::steady_clock::time_point queued_at{};  // set by Submit
  };

  // One worker thread per element of `instances`, which must not be empty.
  static std::unique_ptr<InstancePool> Create(Options options, std::vector<ExecuteFn> instances);
  ~InstancePool();

  InstancePool(const InstancePool&) = delete;
  InstancePool& operator=(const InstancePool&) = delete;

  // Queues `job`. When the queue is full or the pool is stopping, returns UNAVAILABLE and leaves
  // `job` untouched (its callback is not called).
  core::Result<void> Submit(Job&& job);

  // The version's cumulative statistics; callers may record requests refused before queueing.
  Statistics& statistics() { return statistics_; }

 private:
  InstancePool(Options options, std::size_t workers);
  void Work(ExecuteFn execute, std::stop_token stop);

  // Constant after construction.
  const Options options_;
  Statistics statistics_;  // thread-safe itself

  std::mutex mutex_;
  std::condition_variable_any ready_;
  // Protected by mutex_.
  std::deque<Job> queue_;
  bool stopping_ = false;

  std::vector<std::jthread> workers_;  // last: joined first on destruction
};

}  // namespace ferry::sched
