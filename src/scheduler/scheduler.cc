#include "scheduler/scheduler.h"

#include <algorithm>
#include <cassert>
#include <fmt/format.h>

#include "scheduler/batch.h"

namespace ferry::sched {

std::unique_ptr<Scheduler> Scheduler::Create(Options options, std::vector<ExecuteFn> instances) {
  assert(!instances.empty() && "a scheduler needs at least one instance");
  std::sort(options.preferred_batch_sizes.begin(), options.preferred_batch_sizes.end());
  std::unique_ptr<Scheduler> scheduler(new Scheduler(std::move(options), std::move(instances)));
  for (auto& instance : scheduler->instances_) {
    scheduler->workers_.emplace_back([s = scheduler.get(), &instance](std::stop_token stop) { s->Work(instance, stop); });
  }
  return scheduler;
}

Scheduler::Scheduler(Options options, std::vector<ExecuteFn> instances) : options_(std::move(options)) {
  instances_.reserve(instances.size());
  for (auto& execute : instances) instances_.push_back(Instance{.execute = std::move(execute)});
  workers_.reserve(instances_.size());
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  for (auto& w : workers_) w.request_stop();
  ready_.notify_all();
  workers_.clear();  // joins once the queue is empty: a stopping worker still takes queued jobs
}

std::size_t Scheduler::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

core::Result<void> Scheduler::Submit(Job&& job) {
  const auto now = Clock::now();
  job.queued_at = now;
  job.rows = options_.max_batch_size > 0 ? Rows(job.request) : 1;
  auto timeout = options_.default_timeout;
  if (auto it = job.request.parameters.find("timeout"); it != job.request.parameters.end()) {
    if (const auto* us = std::get_if<std::int64_t>(&it->second); us && *us > 0) {
      timeout = std::chrono::microseconds(*us);
    }
  }
  if (timeout.count() > 0) job.deadline = now + timeout;
  Instance* lent = nullptr;
  bool wake = false;
  bool wake_all = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return core::Unavailable(fmt::format("model '{}' version {} is being unloaded", options_.model_name,
                                           options_.model_version));
    }
    if (queue_.size() >= options_.max_queue_size) {
      return core::Unavailable(fmt::format("model '{}' version {}: queue is full ({} requests waiting); retry later",
                                           options_.model_name, options_.model_version, queue_.size()));
    }
    lent = LendInstance();
    if (!lent) {
      queue_.push_back(std::move(job));
      // Only a worker whose instance is idle can take the job. When every instance is busy, the
      // thread that frees one looks at the queue first (a worker before it waits again, an
      // inline caller in RunLent), so waking a worker now would only put it back to sleep.
      wake = std::any_of(instances_.begin(), instances_.end(), [](const Instance& i) { return !i.busy; });
      // A worker whose instance is lent does not take work: wake them all so an idle one does.
      wake_all = lent_ > 0;
    }
  }
  if (!lent) {
    if (wake) wake_all ? ready_.notify_all() : ready_.notify_one();
    return {};
  }
  RunLent(*lent, std::move(job));
  return {};
}

void Scheduler::RunLent(Instance& lent, Job&& job) {
  inline_runs_.fetch_add(1, std::memory_order_relaxed);
  std::vector<Job> batch;
  batch.push_back(std::move(job));
  std::vector<Job> expired;
  bool waiting = false;
  // What queued while the instance ran (it was busy) runs here too, as the worker would have run
  // it, sparing the worker's wake-up and the answer's hand-back; up to kMaxDrained batches, so
  // that this caller's thread returns to its own work under a sustained load.
  for (int drained = 0;; ++drained) {
    if (!batch.empty()) Run(lent.execute, batch);
    batch.clear();
    FailExpired(expired);
    std::lock_guard lock(mutex_);
    if (drained < kMaxDrained) {
      auto unused_wake = Clock::time_point::max();
      TakeBatch(Clock::now(), expired, unused_wake, stopping_, batch);
    }
    if (batch.empty() && expired.empty()) {
      lent.busy = false;
      --lent_;
      waiting = !queue_.empty();
      break;
    }
  }
  if (waiting) ready_.notify_all();  // its worker skipped what queued meanwhile
}

void Scheduler::FailExpired(std::vector<Job>& expired) {
  const auto now = Clock::now();
  for (Job& job : expired) {
    if (job.counted) statistics_.RecordFailure(now - job.queued_at);
    job.done(core::MakeError(core::ErrorCode::kDeadlineExceeded,
                             fmt::format("model '{}' version {}: the request waited {} us in the queue, past its "
                                         "timeout; it was not run",
                                         options_.model_name, options_.model_version,
                                         std::chrono::duration_cast<std::chrono::microseconds>(now - job.queued_at)
                                             .count())));
  }
  expired.clear();
}

Scheduler::Instance* Scheduler::LendInstance() {
  // A model that waits to fill its batches keeps every request for its workers; one that does not
  // (max_queue_delay 0) would run a lone request at once as a batch of one, which this does.
  const bool fills_batches = options_.batching && options_.max_queue_delay.count() > 0;
  if (options_.inline_below.count() <= 0 || fills_batches || !queue_.empty()) return nullptr;
  const std::int64_t mean = mean_execution_ns_.load(std::memory_order_relaxed);
  if (mean < 0 || mean >= std::chrono::duration_cast<std::chrono::nanoseconds>(options_.inline_below).count()) {
    return nullptr;
  }
  for (Instance& instance : instances_) {
    if (!instance.busy) {
      instance.busy = true;
      ++lent_;
      return &instance;
    }
  }
  return nullptr;
}

void Scheduler::RecordDuration(std::chrono::nanoseconds took) {
  // Races between instances lose an update at worst: the mean only decides where to run.
  const std::int64_t mean = mean_execution_ns_.load(std::memory_order_relaxed);
  const std::int64_t next = mean < 0 ? took.count() : mean + (took.count() - mean) / 8;
  mean_execution_ns_.store(next, std::memory_order_relaxed);
}

std::vector<Scheduler::Queue::iterator> Scheduler::NextBatch(Clock::time_point now, std::vector<Job>& expired,
                                                             Clock::time_point& wake, bool stopping) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->deadline <= now) {
      expired.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Queue::iterator> batch;
  if (queue_.empty()) return batch;
  const auto head = queue_.begin();
  batch.push_back(head);
  if (!options_.batching) return batch;

  std::int64_t rows = head->rows;
  for (auto it = std::next(head); it != queue_.end() && rows < options_.max_batch_size; ++it) {
    if (rows + it->rows > options_.max_batch_size) continue;
    if (!Compatible(head->request, head->outputs, it->request, it->outputs)) continue;
    batch.push_back(it);
    rows += it->rows;
  }
  const auto& preferred = options_.preferred_batch_sizes;
  const bool full = rows >= options_.max_batch_size ||
                    (!preferred.empty() && (rows >= preferred.back() ||
                                            std::binary_search(preferred.begin(), preferred.end(), rows)));
  const auto due = head->queued_at + options_.max_queue_delay;
  if (full || stopping || now >= due) return batch;
  wake = std::min(due, head->deadline);
  return {};
}

void Scheduler::TakeBatch(Clock::time_point now, std::vector<Job>& expired, Clock::time_point& wake, bool stopping,
                          std::vector<Job>& batch) {
  for (auto it : NextBatch(now, expired, wake, stopping)) {
    batch.push_back(std::move(*it));
    queue_.erase(it);
  }
}

void Scheduler::Work(Instance& instance, std::stop_token stop) {
  std::vector<Job> expired;
  std::vector<Job> batch;
  bool ran = false;  // the instance ran a batch of this worker's: free it again
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (ran) instance.busy = false;
      while (true) {
        // Returns false only when stop is requested and nothing is left to run (no instance is
        // lent then: a caller of Submit holds the scheduler alive until its inline run ends).
        if (!ready_.wait(lock, stop, [&] { return !queue_.empty() && !instance.busy; })) return;
        auto wake = Clock::time_point::max();
        const std::size_t seen = queue_.size();
        TakeBatch(Clock::now(), expired, wake, stopping_ || stop.stop_requested(), batch);
        if (!batch.empty() || !expired.empty()) {
          ran = !batch.empty();
          if (ran) instance.busy = true;
          break;
        }
        // Waiting for the batch to fill: wake up at its deadline or when a request arrives.
        ready_.wait_until(lock, stop, wake, [&] { return queue_.size() != seen && !instance.busy; });
      }
    }
    FailExpired(expired);
    if (!batch.empty()) Run(instance.execute, batch);
    batch.clear();
  }
}

void Scheduler::Run(ExecuteFn& execute, std::vector<Job>& batch) {
  const auto started = Clock::now();
  core::ComputeTimes times;
  core::Result<std::vector<core::Tensor>> outputs = std::vector<core::Tensor>();
  std::vector<std::int64_t> rows;
  rows.reserve(batch.size());
  for (const Job& job : batch) rows.push_back(job.rows);
  if (batch.size() == 1) {
    outputs = execute(batch[0].request.inputs, batch[0].outputs, &times);
  } else {
    std::vector<const core::InferenceRequest*> requests;
    requests.reserve(batch.size());
    for (const Job& job : batch) requests.push_back(&job.request);
    auto joined = JoinInputs(requests);
    outputs = joined ? execute(*joined, batch[0].outputs, &times) : std::unexpected(joined.error());
    if (!outputs && outputs.error().code == core::ErrorCode::kInvalidArgument) {
      // The data of one request is at fault (a value the model refuses, a Python model's
      // validate): run each alone, so that only the requests at fault fail.
      for (Job& job : batch) {
        std::vector<Job> one;
        one.push_back(std::move(job));
        Run(execute, one);
      }
      return;
    }
  }
  const auto finished = Clock::now();
  RecordDuration(finished - started);
  if (times.input + times.infer + times.output == std::chrono::nanoseconds(0)) times.infer = finished - started;

  core::Result<std::vector<std::vector<core::Tensor>>> split = std::unexpected(core::Error{});
  if (!outputs) {
    split = std::unexpected(std::move(outputs).error());
  } else if (batch.size() == 1) {
    split.emplace();
    split->push_back(std::move(*outputs));
  } else {
    split = SplitOutputs(std::move(*outputs), rows);
  }
  if (!split) {
    for (Job& job : batch) {
      if (job.counted) statistics_.RecordFailure(finished - job.queued_at);
      job.done(std::unexpected(split.error()));
    }
    return;
  }
  std::uint64_t total_rows = 0;
  for (auto r : rows) total_rows += static_cast<std::uint64_t>(r);
  statistics_.RecordExecution(total_rows, times);
  for (std::size_t j = 0; j < batch.size(); ++j) {
    Job& job = batch[j];
    if (job.counted) statistics_.RecordSuccess(started - job.queued_at, times, finished - job.queued_at);
    core::InferenceResponse response;
    response.model_name = options_.model_name;
    response.model_version = options_.model_version;
    response.id = std::move(job.request.id);
    response.outputs = std::move((*split)[j]);
    response.timing = {.queue = started - job.queued_at,
                       .compute = finished - started,
                       .batch_size = static_cast<std::int64_t>(total_rows)};
    job.done(std::move(response));
  }
}

}  // namespace ferry::sched
