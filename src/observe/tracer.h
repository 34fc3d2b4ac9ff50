// Tracer: OpenTelemetry spans of ferry's requests (docs/tracing.md), sampled parent-based -- a
// request that comes with a W3C traceparent follows its sampled flag, one without is sampled at
// `rate` by its trace id -- and exported in batches from a thread of its own, as OTLP JSON
// (ExportTraceServiceRequest) lines in a file (`ferry serve --trace-file`) and/or POSTed to an
// OTLP/HTTP collector (`--trace-endpoint`). A batch the collector does not take is dropped and
// counted (export_failed), and the next batch tries again.
//
// End() queues a finished span: lock held for a push, never blocking on the exporter; past
// `queue_capacity` spans are dropped and counted. Destruction exports what is queued.
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"
#include "observe/otlp_http.h"

namespace ferry::observe {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// A W3C trace context (https://www.w3.org/TR/trace-context/): the caller's trace and span.
struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = false;
};
// "00-<32 hex>-<16 hex>-<2 hex>"; nullopt when malformed or all-zero ids (the header is then ignored).
std::optional<TraceContext> ParseTraceparent(std::string_view header);
std::string FormatTraceparent(const TraceId& trace, const SpanId& span, bool sampled);
std::string Hex(std::span<const std::uint8_t> bytes);

struct Span {
  using Value = std::variant<std::string, std::int64_t, double>;
  enum class Kind : std::uint8_t { kInternal = 1, kServer = 2, kConsumer = 5 };
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string trace_state;  // the caller's W3C tracestate, carried by every span of the trace here
  std::string name;
  Kind kind = Kind::kInternal;
  std::int64_t start_unix_ns = 0, end_unix_ns = 0;
  std::vector<std::pair<std::string, Value>> attributes;
  bool error = false;
  std::string status_message;
};

class Tracer {
 public:
  struct Options {
    double rate = 1.0;                // share of root traces sampled (--trace-rate)
    std::filesystem::path file;       // --trace-file: OTLP JSON, one export request a line
    std::string endpoint;             // --trace-endpoint: http://host:port[/v1/traces] (OTLP/HTTP JSON)
    std::chrono::milliseconds export_timeout{2000};
    std::size_t queue_capacity = 8192;  // spans waiting at most
    std::size_t max_batch = 512;        // spans an export carries
    std::chrono::milliseconds delay{500};  // how long a partial batch waits
  };
  static core::Result<std::unique_ptr<Tracer>> Create(const Options& options);
  ~Tracer();

  // Parent-based: the parent's flag when there is one, else `rate` over the trace id.
  bool Sample(const std::optional<TraceContext>& parent, const TraceId& trace) const;
  static TraceId NewTraceId();
  static SpanId NewSpanId();
  void End(Span span);

  std::uint64_t exported() const { return exported_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }  // the queue full
  std::uint64_t export_failed() const { return export_failed_.load(std::memory_order_relaxed); }
  // ferry_trace_spans_total{outcome} and ferry_trace_queue_depth, as Prometheus text.
  void RenderMetrics(std::string& out);

 private:
  explicit Tracer(const Options& options);
  void Run(std::stop_token stop);
  void Export(std::vector<Span>& batch);

  const Options options_;
  int fd_ = -1;  // constant after Create
  std::optional<OtlpEndpoint> endpoint_;  // constant after Create
  std::atomic<std::uint64_t> exported_{0}, dropped_{0}, export_failed_{0};
  bool failing_ = false;  // the last export to the endpoint failed (logged once); the exporter thread's
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::deque<Span> queue_;  // protected by mutex_
  std::jthread thread_;     // last
};

}  // namespace ferry::observe
