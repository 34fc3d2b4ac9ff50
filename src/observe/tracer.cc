#include "observe/tracer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/file.h"
#include "core/json_writer.h"
#include "core/random.h"

namespace ferry::observe {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not valid in traceparent
}

template <std::size_t N>
bool ReadHex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  bool nonzero = false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = HexDigit(text[2 * i]), lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    nonzero = nonzero || out[i] != 0;
  }
  return nonzero;
}

void WriteAttribute(core::JsonWriter& w, std::string_view key, const Span::Value& value) {
  w.BeginObject();
  w.Key("key");
  w.String(key);
  w.Key("value");
  w.BeginObject();
  if (const auto* s = std::get_if<std::string>(&value)) {
    w.Key("stringValue");
    w.String(*s);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    w.Key("intValue");
    w.String(std::to_string(*i));  // OTLP JSON: 64-bit integers as strings
  } else {
    w.Key("doubleValue");
    w.Number(std::get<double>(value));
  }
  w.EndObject();
  w.EndObject();
}

}  // namespace

std::string Hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  // version "00": exactly 55 characters; a later version may add fields after a dash.
  if (header.size() < 55 || (header.size() > 55 && header[55] != '-')) return std::nullopt;
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  if (header.substr(0, 2) == "ff" || HexDigit(header[0]) < 0 || HexDigit(header[1]) < 0) return std::nullopt;
  TraceContext context;
  if (!ReadHex(header.substr(3, 32), context.trace_id) || !ReadHex(header.substr(36, 16), context.span_id)) {
    return std::nullopt;
  }
  const int f0 = HexDigit(header[53]), f1 = HexDigit(header[54]);
  if (f0 < 0 || f1 < 0) return std::nullopt;
  context.sampled = (f1 & 1) != 0;
  return context;
}

std::string FormatTraceparent(const TraceId& trace, const SpanId& span, bool sampled) {
  return fmt::format("00-{}-{}-{}", Hex(trace), Hex(span), sampled ? "01" : "00");
}

Tracer::Tracer(const Options& options) : options_(options) {}

core::Result<std::unique_ptr<Tracer>> Tracer::Create(const Options& options) {
  if (!(options.rate >= 0 && options.rate <= 1)) {
    return core::InvalidArgument(fmt::format("--trace-rate must be between 0 and 1, got {}", options.rate));
  }
  std::unique_ptr<Tracer> tracer(new Tracer(options));
  if (!options.endpoint.empty()) {
    FERRY_ASSIGN_OR_RETURN(tracer->endpoint_, ParseOtlpEndpoint(options.endpoint));
  }
  if (!options.file.empty()) {
    tracer->fd_ = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (tracer->fd_ < 0) {
      return core::InvalidArgument(
          fmt::format("cannot open the trace file {}: {}", options.file.string(), std::strerror(errno)));
    }
  }
  tracer->thread_ = std::jthread([t = tracer.get()](std::stop_token stop) { t->Run(stop); });
  return tracer;
}

Tracer::~Tracer() {
  thread_.request_stop();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool Tracer::Sample(const std::optional<TraceContext>& parent, const TraceId& trace) const {
  if (parent) return parent->sampled;
  if (options_.rate >= 1) return true;
  if (options_.rate <= 0) return false;
  // The trace id's last 8 bytes as a share, as OpenTelemetry's TraceIdRatioBased does.
  std::uint64_t x = 0;
  for (std::size_t i = 8; i < 16; ++i) x = (x << 8) | trace[i];
  return static_cast<double>(x >> 11) * 0x1.0p-53 < options_.rate;
}

TraceId Tracer::NewTraceId() {
  TraceId id;
  const std::uint64_t a = core::RandomU64(), b = core::RandomU64() | 1;  // never all zero
  std::memcpy(id.data(), &a, 8);
  std::memcpy(id.data() + 8, &b, 8);
  return id;
}

SpanId Tracer::NewSpanId() {
  SpanId id;
  const std::uint64_t a = core::RandomU64() | 1;
  std::memcpy(id.data(), &a, 8);
  return id;
}

void Tracer::End(Span span) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_capacity) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    if (queue_.size() != 1 && queue_.size() < options_.max_batch) return;
  }
  wake_.notify_one();
}

void Tracer::Run(std::stop_token stop) {
  std::vector<Span> batch;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, stop, [&] { return !queue_.empty(); });
    if (!stop.stop_requested()) {
      wake_.wait_until(lock, stop, std::chrono::steady_clock::now() + options_.delay,
                       [&] { return queue_.size() >= options_.max_batch; });
    }
    while (!queue_.empty()) {
      const std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      lock.unlock();
      Export(batch);
      lock.lock();
      if (!stop.stop_requested()) break;  // serving: one batch, then wait again; stopping: all
    }
    if (stop.stop_requested() && queue_.empty()) return;
  }
}

void Tracer::Export(std::vector<Span>& batch) {
  std::string out;
  core::JsonWriter w(out);
  w.BeginObject();
  w.Key("resourceSpans");
  w.BeginArray();
  w.BeginObject();
  w.Key("resource");
  w.BeginObject();
  w.Key("attributes");
  w.BeginArray();
  WriteAttribute(w, "service.name", std::string("ferry"));
  w.EndArray();
  w.EndObject();
  w.Key("scopeSpans");
  w.BeginArray();
  w.BeginObject();
  w.Key("scope");
  w.BeginObject();
  w.Key("name");
  w.String("ferry");
  w.EndObject();
  w.Key("spans");
  w.BeginArray();
  for (const auto& s : batch) {
    w.BeginObject();
    w.Key("traceId");
    w.String(Hex(s.trace_id));
    w.Key("spanId");
    w.String(Hex(s.span_id));
    if (s.parent_span_id != SpanId{}) {
      w.Key("parentSpanId");
      w.String(Hex(s.parent_span_id));
    }
    if (!s.trace_state.empty()) {
      w.Key("traceState");
      w.String(s.trace_state);
    }
    w.Key("name");
    w.String(s.name);
    w.Key("kind");
    w.Number(static_cast<int>(s.kind));
    w.Key("startTimeUnixNano");
    w.String(std::to_string(s.start_unix_ns));
    w.Key("endTimeUnixNano");
    w.String(std::to_string(s.end_unix_ns));
    w.Key("attributes");
    w.BeginArray();
    for (const auto& [key, value] : s.attributes) WriteAttribute(w, key, value);
    w.EndArray();
    w.Key("status");
    w.BeginObject();
    w.Key("code");
    w.Number(s.error ? 2 : 1);  // ERROR, OK
    if (!s.status_message.empty()) {
      w.Key("message");
      w.String(s.status_message);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  if (endpoint_) {
    if (auto posted = PostOtlp(*endpoint_, out, options_.export_timeout); !posted) {
      if (!failing_) spdlog::warn("tracing: spans not exported (dropped until it answers): {}", posted.error().message);
      failing_ = true;
      export_failed_.fetch_add(batch.size(), std::memory_order_relaxed);
      if (fd_ < 0) {
        batch.clear();
        return;
      }
    } else if (failing_) {
      spdlog::info("tracing: the OTLP collector takes spans again");
      failing_ = false;
    }
  }
  out.push_back('\n');
  if (fd_ >= 0 && !core::WriteAll(fd_, out)) {
    spdlog::warn("tracing: {} span(s) not written to {}: {}", batch.size(), options_.file.string(),
                 std::strerror(errno));
    dropped_.fetch_add(batch.size(), std::memory_order_relaxed);
    batch.clear();
    return;
  }
  exported_.fetch_add(batch.size(), std::memory_order_relaxed);
  batch.clear();
}

void Tracer::RenderMetrics(std::string& out) {
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    queued = queue_.size();
  }
  out += "# HELP ferry_trace_spans_total Spans by outcome: exported, dropped_full (the queue), export_failed\n";
  out += "# TYPE ferry_trace_spans_total counter\n";
  out += fmt::format("ferry_trace_spans_total{{outcome=\"exported\"}} {}\n", exported());
  out += fmt::format("ferry_trace_spans_total{{outcome=\"dropped_full\"}} {}\n", dropped());
  out += fmt::format("ferry_trace_spans_total{{outcome=\"export_failed\"}} {}\n", export_failed());
  out += "# HELP ferry_trace_queue_depth Spans waiting to be exported\n# TYPE ferry_trace_queue_depth gauge\n";
  out += fmt::format("ferry_trace_queue_depth {}\n", queued);
}

}  // namespace ferry::observe
