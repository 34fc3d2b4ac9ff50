// Monitor: one model version's monitoring stream (docs/monitoring.md). It decides which requests
// are recorded, holds their records in a bounded queue, and sends them to a sink in batches from
// its own thread.
//
// The hot path is Sample(): lock-free and allocation-free, a few nanoseconds for a request not
// recorded. A sampled request's record is built by the caller (runtime/monitoring.h) and handed
// to Submit(), which never blocks inference: past `queue.capacity` the record is dropped and
// counted. The sender thread takes up to `batching.max_records` at a time, or what has waited
// `linger_ms`; what the sink fails to take is dropped and counted (send_error), and the next batch
// tries again, so a sink that comes back is used again without any action.
//
// Lifecycle: built with its version, destroyed with it. Destruction sends what is queued (for up
// to `flush_timeout`, and no further once the sink fails a batch), then stops the thread.
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "observe/metric_set.h"
#include "observe/monitor_config.h"

namespace ferry::observe {

// One record on its way to a sink: the JSON object, and what CloudEvents headers are made of.
struct MonitorRecord {
  std::string body;
  std::string id;       // the event id (ce_id)
  std::string time;     // RFC 3339 UTC with microseconds (ce_time)
  std::string source;   // /ferry/models/<model>/versions/<version> (ce_source)
  std::string key;      // the Kafka message key: the sampling key's value when there is one, else the model
  std::string traceparent;  // W3C trace context of the request, when it had one
  std::string tracestate;   // and its vendors' state, when the caller sent one
};

// Where records go. Send is called from one monitor thread at a time per monitor, but a sink may
// be shared by several monitors (models naming the same file or topic): it locks what it shares.
class MonitorSink {
 public:
  struct Outcome {
    std::size_t sent = 0;
    std::size_t failed = 0;
    std::string error;  // why records failed, when some did
  };
  virtual ~MonitorSink() = default;
  // Blocks until the sink has taken the records or failed them (a bounded time).
  virtual Outcome Send(std::span<const MonitorRecord> records, MonitorConfig::Format format) = 0;
  virtual std::string Describe() const = 0;
};

class Monitor {
 public:
  // Why a request is recorded.
  enum class Reason : std::uint8_t { kNone, kRandom, kHashed, kEvery, kError, kSlow };

  struct Identity {
    std::string model;
    std::int64_t version = 0;
    std::string backend;
  };
  struct Options {
    std::chrono::milliseconds flush_timeout{5000};  // destruction: how long queued records may take
  };

  Monitor(MonitorConfig config, Identity identity, std::shared_ptr<MonitorSink> sink, Options options);
  Monitor(MonitorConfig config, Identity identity, std::shared_ptr<MonitorSink> sink)
      : Monitor(std::move(config), std::move(identity), std::move(sink), Options{}) {}
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  const MonitorConfig& config() const { return config_; }
  const Identity& identity() const { return identity_; }

  // Whether a request is recorded, before anything about it is serialised: `key` is the value of
  // sampling.key in the request (nullopt: it has none, and the request is drawn at random).
  Reason Sample(std::optional<std::string_view> key);
  // Whether requests not sampled must still be watched to the end (always: [error] or [slow]).
  bool WatchesOutcome() const { return config_.always_error || config_.always_slow; }
  // For a request not sampled: whether its outcome makes it recorded all the same.
  Reason Always(bool failed, std::chrono::nanoseconds took) const;
  // A request not recorded.
  void CountSampledOut() { sampled_out_.fetch_add(1, std::memory_order_relaxed); }
  void CountTruncated() { truncated_.fetch_add(1, std::memory_order_relaxed); }
  // The weight a record of `reason` stands for (1 / rate; 1 for error, slow).
  double Weight(Reason reason) const;

  // Queues a record; false (counted) when the queue is full or max_per_s is reached.
  bool Submit(MonitorRecord record);

  // The sampling rate now; PUT /v2/models/{m}/monitoring changes it while serving.
  double rate() const { return rate_.load(std::memory_order_relaxed); }
  void SetRate(double rate) { rate_.store(rate, std::memory_order_relaxed); }

  struct Counters {
    std::uint64_t sent = 0, sampled_out = 0, dropped_full = 0, dropped_rate = 0, send_error = 0, truncated = 0;
    std::size_t queued = 0;
    std::string last_error;
  };
  Counters counters() const;
  // ferry_monitoring_* metrics of this version.
  void CollectMetrics(MetricSet& set) const;

  // A 64-bit FNV-1a hash of `key` as a share in [0, 1): a key is recorded when this is below the
  // rate, the same on every replica (docs/monitoring.md shows how to compute it).
  static double KeyShare(std::string_view key);
  static std::string_view ReasonName(Reason reason);

 private:
  void Run(std::stop_token stop);
  // Takes up to max_records off the queue and sends them with `lock` (on mutex_) released.
  // False when the sink failed records of the batch.
  bool SendQueued(std::unique_lock<std::mutex>& lock, std::vector<MonitorRecord>& batch);
  bool SendBatch(std::vector<MonitorRecord>& batch);
  bool TakeRateToken();

  // Constant after construction.
  const MonitorConfig config_;
  const Identity identity_;
  const std::shared_ptr<MonitorSink> sink_;
  const Options options_;

  // Lock-free: read and counted by request threads.
  std::atomic<double> rate_;
  std::atomic<std::uint64_t> every_count_{0};
  std::atomic<std::uint64_t> sampled_out_{0}, truncated_{0}, dropped_rate_{0};
  std::atomic<std::int64_t> rate_window_{0};  // the second max_per_s counts in
  std::atomic<std::uint64_t> rate_used_{0};

  // Written by the sender thread, read by counters().
  std::atomic<std::uint64_t> sent_{0}, send_error_{0};
  static constexpr std::array<double, 8> kBatchBounds{1, 5, 10, 50, 100, 250, 500, 1000};
  static constexpr std::array<double, 8> kSendBounds{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};

  mutable std::mutex mutex_;
  // Protected by mutex_.
  std::condition_variable_any wake_;
  std::deque<MonitorRecord> queue_;
  std::uint64_t dropped_full_ = 0;
  std::string last_error_;
  std::array<std::uint64_t, kBatchBounds.size() + 1> batch_counts_{};
  double batch_sum_ = 0;
  std::array<std::uint64_t, kSendBounds.size() + 1> send_counts_{};
  double send_sum_ = 0;
  std::uint64_t sends_ = 0;

  std::jthread thread_;  // last: stopped before the members above go
};

}  // namespace ferry::observe
