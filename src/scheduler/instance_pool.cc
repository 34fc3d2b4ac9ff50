#include "scheduler/instance_pool.h"

#include <cassert>
#include <fmt/format.h>

namespace ferry::sched {

std::unique_ptr<InstancePool> InstancePool::Create(Options options, std::vector<ExecuteFn> instances) {
  assert(!instances.empty() && "an instance pool needs at least one instance");
  std::unique_ptr<InstancePool> pool(new InstancePool(std::move(options), instances.size()));
  for (auto& execute : instances) {
    pool->workers_.emplace_back([p = pool.get(), fn = std::move(execute)](std::stop_token stop) mutable {
      p->Work(std::move(fn), stop);
    });
  }
  return pool;
}

InstancePool::InstancePool(Options options, std::size_t workers) : options_(std::move(options)) {
  workers_.reserve(workers);
}

InstancePool::~InstancePool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  for (auto& w : workers_) w.request_stop();
  ready_.notify_all();
  workers_.clear();  // joins once the queue is empty: a stopping worker still takes queued jobs
}

core::Result<void> InstancePool::Submit(Job&& job) {
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
    job.queued_at = std::chrono::steady_clock::now();
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return {};
}

void InstancePool::Work(ExecuteFn execute, std::stop_token stop) {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      // Returns false only when stop is requested and nothing is left to run.
      if (!ready_.wait(lock, stop, [this] { return !queue_.empty(); })) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto started = std::chrono::steady_clock::now();
    core::ComputeTimes times;
    auto outputs = execute(job.request.inputs, job.outputs, &times);
    const auto finished = std::chrono::steady_clock::now();
    if (!outputs) {
      statistics_.RecordFailure(finished - job.queued_at);
      job.done(std::unexpected(std::move(outputs).error()));
      continue;
    }
    if (times.input + times.infer + times.output == std::chrono::nanoseconds(0)) times.infer = finished - started;
    const auto& first = job.request.inputs;
    const std::uint64_t rows = options_.max_batch_size > 0 && !first.empty() && first[0].shape().rank() > 0
                                   ? static_cast<std::uint64_t>(first[0].shape()[0])
                                   : 1;
    statistics_.RecordExecution(rows, times);
    statistics_.RecordSuccess(started - job.queued_at, times, finished - job.queued_at);
    core::InferenceResponse response;
    response.model_name = options_.model_name;
    response.model_version = options_.model_version;
    response.id = std::move(job.request.id);
    response.outputs = std::move(*outputs);
    job.done(std::move(response));
  }
}

}  // namespace ferry::sched
