// Scheduler: the execution side of one model version. Requests wait in a bounded FIFO queue;
// one worker thread per model instance takes work from it, and each instance runs one execution
// at a time.
//
// Inline execution: handing a request to a worker and its answer back costs two thread wake-ups
// (tens of microseconds on an idle machine), more than a small model's whole execution. So when
// the model does not wait to fill batches (batching off, or max_queue_delay 0), nothing is
// queued, an instance is idle and the model's executions have taken less than `inline_below` on
// average, Submit runs the request on that instance at once, on the calling thread (a frontend's
// I/O thread, a stream's), and its callback runs there before Submit returns. A slower model, a
// busy one, or one that waits to fill its batches is queued as above. Requests that queued while
// an inline run held the instance are then run by that same caller (as the worker would have
// batched them, up to kMaxDrained batches) before Submit returns, instead of waking the worker:
// under a steady load of concurrent callers the work passes from caller to caller and the
// workers sleep.
//
// With dynamic batching (max_batch_size > 0 and `batching` set), a worker joins compatible
// queued requests (same inputs, same non-batch dims, same wanted outputs) along the first dim,
// counting each request's rows, up to max_batch_size rows; it dispatches at once when the batch
// is full or reaches a preferred size, otherwise when the oldest request has waited
// max_queue_delay. Outputs are split back so that each request gets exactly its rows.
//
// Backpressure: Submit refuses at once (UNAVAILABLE, "queue is full") when max_queue_size
// requests wait. A request that waits past its timeout (its "timeout" parameter in microseconds,
// or default_timeout) is answered DEADLINE_EXCEEDED and never run.
//
// Thread safety: Submit may be called from any thread. Each accepted job's callback runs exactly
// once: on a worker thread, on the calling thread (before Submit returns) when it ran inline, or
// on the thread of another caller of Submit whose inline run it queued behind.
// Destruction refuses new jobs, lets the workers run every job already queued, then joins them:
// an accepted request is always answered.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
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

// Runs one execution on one instance: inputs (already validated) and the names of the wanted
// outputs, in order; returns those outputs and fills the times it measured (if it can).
using ExecuteFn = std::move_only_function<core::Result<std::vector<core::Tensor>>(
    std::span<const core::Tensor> inputs, std::span<const std::string> outputs, core::ComputeTimes* times)>;

using InferCallback = std::move_only_function<void(core::Result<core::InferenceResponse>)>;

class Scheduler {
 public:
  struct Options {
    std::string model_name;
    std::int64_t model_version = 0;
    std::int64_t max_batch_size = 0;     // > 0: the first dim of every input and output is the batch
    bool batching = false;               // join requests (needs max_batch_size > 0)
    std::chrono::microseconds max_queue_delay{0};  // how long a batch may wait to fill
    std::vector<std::int64_t> preferred_batch_sizes;  // dispatch at once at these sizes
    std::size_t max_queue_size = 4096;   // waiting requests; beyond it Submit refuses at once
    std::chrono::microseconds default_timeout{0};  // 0: requests wait as long as it takes
    // Run a request on the calling thread when the mean execution takes less (0: never).
    std::chrono::microseconds inline_below{0};
  };

  struct Job {
    core::InferenceRequest request;
    std::vector<std::string> outputs;  // output names to compute, in response order
    InferCallback done;
    // Set by Submit.
    std::chrono::steady_clock::time_point queued_at{};
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::int64_t rows = 1;
    // False for an explainer's own evaluations (KernelSHAP's coalitions): left out of the
    // request statistics (success, fail, queue); their rows still count as executions.
    bool counted = true;
  };

  // One worker thread per element of `instances`, which must not be empty.
  static std::unique_ptr<Scheduler> Create(Options options, std::vector<ExecuteFn> instances);
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `job`, or runs it inline (see above). When the queue is full or the scheduler is
  // stopping, returns UNAVAILABLE and leaves `job` untouched (its callback is not called).
  core::Result<void> Submit(Job&& job);
  // Requests run on their callers' threads so far.
  std::uint64_t inline_runs() const { return inline_runs_.load(std::memory_order_relaxed); }

  // The version's cumulative statistics; callers may record requests refused before queueing.
  Statistics& statistics() { return statistics_; }
  std::size_t queue_depth() const;

 private:
  using Queue = std::list<Job>;
  using Clock = std::chrono::steady_clock;

  // One model instance; `busy` while a worker or an inline caller runs it (protected by mutex_).
  struct Instance {
    ExecuteFn execute;
    bool busy = false;
  };

  Scheduler(Options options, std::vector<ExecuteFn> instances);
  void Work(Instance& instance, std::stop_token stop);
  // How many queued batches a caller runs after its own inline run before it leaves the rest to
  // the workers.
  static constexpr int kMaxDrained = 16;

  // Under the lock: an idle instance to run a job on the calling thread, marked busy; or null.
  Instance* LendInstance();
  // Runs `job` on `lent` (from LendInstance), then what queued meanwhile (see above), and frees it.
  void RunLent(Instance& lent, Job&& job);
  // Answers each of `expired` DEADLINE_EXCEEDED (it waited past its timeout), then clears it.
  void FailExpired(std::vector<Job>& expired);
  // Under the lock: moves expired jobs to `expired`, then picks the next batch (iterators into
  // queue_, oldest first) or returns empty with `wake` set to when to look again.
  std::vector<Queue::iterator> NextBatch(Clock::time_point now, std::vector<Job>& expired, Clock::time_point& wake,
                                         bool stopping);
  // Under the lock: NextBatch's jobs, moved out of queue_ onto `batch`.
  void TakeBatch(Clock::time_point now, std::vector<Job>& expired, Clock::time_point& wake, bool stopping,
                 std::vector<Job>& batch);
  void Run(ExecuteFn& execute, std::vector<Job>& batch);
  // The executions' mean duration (an exponential average), for inline execution.
  void RecordDuration(std::chrono::nanoseconds took);

  // Constant after construction.
  const Options options_;
  Statistics statistics_;  // thread-safe itself
  std::atomic<std::int64_t> mean_execution_ns_{-1};  // -1: nothing measured yet
  std::atomic<std::uint64_t> inline_runs_{0};

  mutable std::mutex mutex_;
  std::condition_variable_any ready_;
  // Protected by mutex_.
  Queue queue_;
  bool stopping_ = false;
  std::vector<Instance> instances_;  // fixed in size at construction
  std::size_t lent_ = 0;             // instances running a job inline now

  std::vector<std::jthread> workers_;  // last: joined first on destruction
};

}  // namespace ferry::sched
