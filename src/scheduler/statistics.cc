#include "scheduler/statistics.h"

namespace ferry::sched {

void Statistics::RecordExecution(std::uint64_t rows, const core::ComputeTimes& times) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::lock_guard lock(mutex_);
  data_.last_inference_ms = now_ms;
  data_.inference_count += rows;
  ++data_.execution_count;
  BatchStat& batch = batches_[rows];
  batch.batch_size = rows;
  batch.compute_input.Add(times.input);
  batch.compute_infer.Add(times.infer);
  batch.compute_output.Add(times.output);
  data_.compute_duration.Observe(std::chrono::duration<double>(times.input + times.infer + times.output).count());
  data_.batch_size.Observe(static_cast<double>(rows));
}

void Statistics::RecordSuccess(std::chrono::nanoseconds queue, const core::ComputeTimes& times,
                               std::chrono::nanoseconds total) {
  std::lock_guard lock(mutex_);
  data_.success.Add(total);
  data_.queue.Add(queue);
  data_.compute_input.Add(times.input);
  data_.compute_infer.Add(times.infer);
  data_.compute_output.Add(times.output);
  data_.request_duration.Observe(std::chrono::duration<double>(total).count());
  data_.queue_duration.Observe(std::chrono::duration<double>(queue).count());
}

void Statistics::RecordFailure(std::chrono::nanoseconds total) {
  std::lock_guard lock(mutex_);
  data_.fail.Add(total);
}

void Statistics::RecordCall(std::chrono::nanoseconds total, std::uint64_t rows, bool ok) {
  if (!ok) return RecordFailure(total);
  const core::ComputeTimes times{.input = {}, .infer = total, .output = {}};
  RecordExecution(rows, times);
  RecordSuccess(std::chrono::nanoseconds(0), times, total);
}

void Statistics::RecordExplanation(std::chrono::nanoseconds total, std::uint64_t rows, bool ok) {
  std::lock_guard lock(mutex_);
  (ok ? data_.explain_success : data_.explain_fail).Add(total);
  if (ok) data_.explain_rows += rows;
}

StatisticsSnapshot Statistics::Snapshot() const {
  std::lock_guard lock(mutex_);
  StatisticsSnapshot copy = data_;
  for (const auto& [size, stat] : batches_) copy.batch_stats.push_back(stat);
  return copy;
}

}  // namespace ferry::sched
