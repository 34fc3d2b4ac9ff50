#include "observe/monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/random.h"

namespace ferry::observe {
namespace {

using Clock = std::chrono::steady_clock;

template <std::size_t N>
void Count(const std::array<double, N>& bounds, std::array<std::uint64_t, N + 1>& counts, double value) {
  std::size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  ++counts[i];
}

}  // namespace

Monitor::Monitor(MonitorConfig config, Identity identity, std::shared_ptr<MonitorSink> sink, Options options)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      sink_(std::move(sink)),
      options_(options),
      rate_(config_.rate),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

Monitor::~Monitor() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

double Monitor::KeyShare(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::string_view Monitor::ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kRandom: return "random";
    case Reason::kHashed: return "hashed";
    case Reason::kEvery: return "every";
    case Reason::kError: return "error";
    case Reason::kSlow: return "slow";
    case Reason::kNone: break;
  }
  return "none";
}

Monitor::Reason Monitor::Sample(std::optional<std::string_view> key) {
  if (config_.every > 0) {
    return every_count_.fetch_add(1, std::memory_order_relaxed) % config_.every == 0 ? Reason::kEvery : Reason::kNone;
  }
  const double rate = rate_.load(std::memory_order_relaxed);
  if (rate <= 0) return Reason::kNone;
  if (key) return KeyShare(*key) < rate ? Reason::kHashed : Reason::kNone;
  if (rate >= 1) return Reason::kRandom;
  return core::RandomUnit() < rate ? Reason::kRandom : Reason::kNone;
}

Monitor::Reason Monitor::Always(bool failed, std::chrono::nanoseconds took) const {
  if (failed && config_.always_error) return Reason::kError;
  if (config_.always_slow && took >= std::chrono::milliseconds(config_.slow_ms)) return Reason::kSlow;
  return Reason::kNone;
}

double Monitor::Weight(Reason reason) const {
  if (reason == Reason::kEvery) return static_cast<double>(config_.every);
  if (reason == Reason::kRandom || reason == Reason::kHashed) {
    const double rate = rate_.load(std::memory_order_relaxed);
    return rate > 0 ? 1 / rate : 0;
  }
  return 1;
}

bool Monitor::TakeRateToken() {
  if (config_.max_per_s <= 0) return true;
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  std::int64_t window = rate_window_.load(std::memory_order_relaxed);
  if (window != second && rate_window_.compare_exchange_strong(window, second, std::memory_order_relaxed)) {
    rate_used_.store(0, std::memory_order_relaxed);
  }
  return static_cast<double>(rate_used_.fetch_add(1, std::memory_order_relaxed)) < config_.max_per_s;
}

bool Monitor::Submit(MonitorRecord record) {
  if (!TakeRateToken()) {
    dropped_rate_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= config_.capacity) {
      ++dropped_full_;
      return false;
    }
    queue_.push_back(std::move(record));
    wake = queue_.size() == 1 || queue_.size() >= config_.max_records;
  }
  if (wake) wake_.notify_one();
  return true;
}

void Monitor::Run(std::stop_token stop) {
  std::vector<MonitorRecord> batch;
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    wake_.wait(lock, stop, [&] { return !queue_.empty(); });
    if (stop.stop_requested()) break;
    // A partial batch waits up to linger_ms from now for more.
    const auto due = Clock::now() + std::chrono::milliseconds(config_.linger_ms);
    wake_.wait_until(lock, stop, due, [&] { return queue_.size() >= config_.max_records; });
    if (stop.stop_requested()) break;
    SendQueued(lock, batch);
  }
  // Stopping: send what is queued, for up to flush_timeout, and not past a batch the sink failed
  // (it is away: waiting for it again would only hold up the shutdown).
  const auto deadline = Clock::now() + options_.flush_timeout;
  bool failing = false;
  while (!queue_.empty() && Clock::now() < deadline && !failing) {
    failing = !SendQueued(lock, batch);
  }
  if (!queue_.empty()) {
    spdlog::warn("monitoring of model '{}' version {}: {} record(s) not sent at shutdown (the sink {} did not take "
                 "them within {} ms)",
                 identity_.model, identity_.version, queue_.size(), sink_->Describe(), options_.flush_timeout.count());
    send_error_.fetch_add(queue_.size(), std::memory_order_relaxed);
    queue_.clear();
  }
}

bool Monitor::SendQueued(std::unique_lock<std::mutex>& lock, std::vector<MonitorRecord>& batch) {
  const std::size_t n = std::min(queue_.size(), config_.max_records);
  batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
  queue_.erase(queue_.begin(), queue_.begin() + n);
  lock.unlock();
  const bool sent = SendBatch(batch);
  lock.lock();
  return sent;
}

bool Monitor::SendBatch(std::vector<MonitorRecord>& batch) {
  const auto started = Clock::now();
  const auto outcome = sink_->Send(batch, config_.format);
  const double took = std::chrono::duration<double>(Clock::now() - started).count();
  sent_.fetch_add(outcome.sent, std::memory_order_relaxed);
  send_error_.fetch_add(outcome.failed, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    Count(kBatchBounds, batch_counts_, static_cast<double>(batch.size()));
    batch_sum_ += static_cast<double>(batch.size());
    Count(kSendBounds, send_counts_, took);
    send_sum_ += took;
    ++sends_;
    if (outcome.failed > 0) last_error_ = outcome.error;
  }
  if (outcome.failed > 0) {
    spdlog::warn("monitoring of model '{}' version {}: {} record(s) not sent to {}: {}", identity_.model,
                 identity_.version, outcome.failed, sink_->Describe(), outcome.error);
  }
  batch.clear();
  return outcome.failed == 0;
}

Monitor::Counters Monitor::counters() const {
  Counters c;
  c.sent = sent_.load(std::memory_order_relaxed);
  c.send_error = send_error_.load(std::memory_order_relaxed);
  c.sampled_out = sampled_out_.load(std::memory_order_relaxed);
  c.truncated = truncated_.load(std::memory_order_relaxed);
  c.dropped_rate = dropped_rate_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  c.dropped_full = dropped_full_;
  c.queued = queue_.size();
  c.last_error = last_error_;
  return c;
}

void Monitor::CollectMetrics(MetricSet& set) const {
  const auto c = counters();
  const MetricSet::Labels model{{"model", identity_.model}, {"version", std::to_string(identity_.version)}};
  auto with = [&](std::string_view outcome) {
    auto labels = model;
    labels.emplace_back("outcome", std::string(outcome));
    return labels;
  };
  constexpr std::string_view kEvents = "ferry_monitoring_events_total";
  constexpr std::string_view kEventsHelp =
      "Requests seen by the monitoring stream, by outcome: sent, sampled_out, dropped_full, dropped_rate, send_error";
  set.Counter(kEvents, kEventsHelp, with("sent"), static_cast<double>(c.sent));
  set.Counter(kEvents, kEventsHelp, with("sampled_out"), static_cast<double>(c.sampled_out));
  set.Counter(kEvents, kEventsHelp, with("dropped_full"), static_cast<double>(c.dropped_full));
  set.Counter(kEvents, kEventsHelp, with("dropped_rate"), static_cast<double>(c.dropped_rate));
  set.Counter(kEvents, kEventsHelp, with("send_error"), static_cast<double>(c.send_error));
  set.Counter("ferry_monitoring_truncated_total", "Records whose payload was cut to payload.max_bytes", model,
              static_cast<double>(c.truncated));
  set.Gauge("ferry_monitoring_queue_depth", "Monitoring records waiting to be sent", model,
            static_cast<double>(c.queued));
  std::lock_guard lock(mutex_);
  set.Histogram("ferry_monitoring_batch_records", "Records a batch sent to the monitoring sink", model, kBatchBounds,
                std::vector<std::uint64_t>(batch_counts_.begin(), batch_counts_.end()), batch_sum_, sends_);
  set.Histogram("ferry_monitoring_send_seconds", "Time the monitoring sink took to take a batch", model, kSendBounds,
                std::vector<std::uint64_t>(send_counts_.begin(), send_counts_.end()), send_sum_, sends_);
}

}  // namespace ferry::observe
