#include "runtime/monitoring.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "core/json_writer.h"
#include "core/random.h"
#include "core/tensor_json.h"
#include "routing/route_info.h"

namespace ferry::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using observe::Monitor;
using observe::MonitorConfig;

constexpr std::string_view kSchema = "ferry.monitoring.v1";

// What is known of a recorded call before it is answered.
struct Pending {
  std::shared_ptr<Monitor> monitor;
  Monitor::Reason reason = Monitor::Reason::kNone;
  Clock::time_point start;
  std::chrono::system_clock::time_point time;
  std::string_view protocol;  // a literal of the context's class
  bool binary = false;        // HTTP binary tensor extension
  std::string request_id;
  std::string key;
  std::string traceparent;
  std::string tracestate;
  std::string request_json;  // the request's inputs or records, when recorded and sampled up front
};

std::optional<std::string_view> KeyOf(const MonitorConfig& config, const routing::CallContext& context) {
  if (config.key.empty()) return std::nullopt;
  if (config.key == "key") return context.Key();
  return context.Header(std::string_view(config.key).substr(7));
}

bool Excluded(const MonitorConfig& config, std::string_view name) {
  return std::find(config.exclude.begin(), config.exclude.end(), name) != config.exclude.end();
}

// A random version 4 UUID.
std::string EventId() {
  std::uint64_t hi = core::RandomU64(), lo = core::RandomU64();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                     lo & 0xFFFFFFFFFFFFull);
}

std::string Rfc3339(std::chrono::system_clock::time_point time) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", tm, us % 1000000);
}

// Tensors as V2 JSON objects; one whose data would take more than max_bytes is written as its
// name, datatype and shape with `truncated: true`, an excluded one with `excluded: true`.
void WriteTensors(const std::vector<core::Tensor>& tensors, Monitor& monitor, core::JsonWriter& w) {
  const MonitorConfig& config = monitor.config();
  std::string data;
  w.BeginArray();
  for (const auto& t : tensors) {
    w.BeginObject();
    w.Key("name");
    w.String(t.name());
    w.Key("datatype");
    w.String(core::DataTypeName(t.type()));
    w.Key("shape");
    w.BeginArray();
    for (auto d : t.shape().dims()) w.Number(d);
    w.EndArray();
    if (Excluded(config, t.name())) {
      w.Key("excluded");
      w.Bool(true);
    } else {
      data.clear();
      core::JsonWriter dw(data);
      core::WriteTensorData(t, dw);
      if (data.size() > config.max_bytes) {
        monitor.CountTruncated();
        w.Key("truncated");
        w.Bool(true);
      } else {
        w.Key("data");
        w.Raw(data);
      }
    }
    w.EndObject();
  }
  w.EndArray();
}

// Records as JSON objects (excluded fields left out); past max_bytes, {"truncated": true, "count": n}.
std::string RecordsJson(std::span<const core::Record> records, Monitor& monitor) {
  const MonitorConfig& config = monitor.config();
  std::string out;
  core::JsonWriter w(out);
  w.BeginArray();
  for (const auto& record : records) {
    w.BeginObject();
    for (const auto& field : record.fields) {
      if (Excluded(config, field.name)) continue;
      w.Key(field.name);
      core::WriteJson(field.value, w);
    }
    w.EndObject();
  }
  w.EndArray();
  if (out.size() > config.max_bytes) {
    monitor.CountTruncated();
    out = fmt::format(R"({{"truncated":true,"count":{}}})", records.size());
  }
  return out;
}

std::optional<Pending> Start(const routing::Servable& servable, const routing::CallContext& context) {
  const auto& monitor = servable.monitor();
  if (!monitor) return std::nullopt;
  const MonitorConfig& config = monitor->config();
  const auto key = KeyOf(config, context);
  const auto reason = monitor->Sample(key);
  if (reason == Monitor::Reason::kNone && !monitor->WatchesOutcome()) {
    monitor->CountSampledOut();
    return std::nullopt;
  }
  Pending p{.monitor = monitor,
            .reason = reason,
            .start = Clock::now(),
            .time = std::chrono::system_clock::now(),
            .protocol = context.Protocol(),
            .binary = context.Header("inference-header-content-length").has_value(),
            .request_id = {},
            .key = key ? std::string(*key) : std::string(),
            .traceparent = std::string(context.Header("traceparent").value_or("")),
            .tracestate = std::string(context.Header("tracestate").value_or("")),
            .request_json = {}};
  p.request_id = std::string(context.Header("x-request-id").value_or(""));
  return p;
}

// The members every record has, up to the payload.
void WriteHead(const Pending& p, Monitor::Reason reason, const std::string& event_id, const std::string& time,
               const routing::RouteInfo& route, const core::Error* error, const core::ExecutionTiming* timing,
               Clock::time_point finished, core::JsonWriter& w) {
  const Monitor& m = *p.monitor;
  const auto& id = m.identity();
  w.Key("schema");
  w.String(kSchema);
  w.Key("event_id");
  w.String(event_id);
  w.Key("request_id");
  w.String(p.request_id);
  w.Key("time");
  w.String(time);
  w.Key("time_us");
  w.Number(std::chrono::duration_cast<std::chrono::microseconds>(p.time.time_since_epoch()).count());
  w.Key("model");
  w.String(id.model);
  w.Key("version");
  w.Number(id.version);
  w.Key("backend");
  w.String(id.backend);
  w.Key("protocol");
  w.String(p.protocol);
  if (p.binary) {
    w.Key("binary");
    w.Bool(true);
  }
  if (!m.config().labels.empty()) {
    w.Key("labels");
    w.BeginObject();
    for (const auto& [k, v] : m.config().labels) {
      w.Key(k);
      w.String(v);
    }
    w.EndObject();
  }
  if (!route.empty() && !route.route.empty()) {
    w.Key("route");
    w.BeginObject();
    w.Key("model");
    w.String(route.model);
    w.Key("version");
    w.Number(route.version);
    w.Key("route");
    w.String(route.route);
    w.Key("reason");
    w.String(route.reason);
    if (!route.decision_id.empty()) {
      w.Key("decision_id");
      w.String(route.decision_id);
    }
    if (!route.ensemble.empty()) {
      w.Key("ensemble");
      w.String(route.ensemble);
    }
    w.EndObject();
  }
  w.Key("status");
  w.BeginObject();
  w.Key("code");
  w.String(error ? core::ErrorCodeName(error->code) : std::string_view("OK"));
  w.Key("http");
  w.Number(error ? core::HttpStatus(error->code) : 200);
  if (error) {
    w.Key("message");
    w.String(error->message);
  }
  w.EndObject();
  auto us = [](std::chrono::nanoseconds d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
  w.Key("latency_us");
  w.BeginObject();
  w.Key("total");
  w.Number(us(finished - p.start));
  w.Key("queue");
  if (timing && timing->batch_size > 0) {
    w.Number(us(timing->queue));
  } else {
    w.Null();
  }
  w.Key("compute");
  if (timing && timing->batch_size > 0) {
    w.Number(us(timing->compute));
  } else {
    w.Null();
  }
  w.EndObject();
  w.Key("batch_size");
  if (timing && timing->batch_size > 0) {
    w.Number(timing->batch_size);
  } else {
    w.Null();
  }
  w.Key("sampling");
  w.BeginObject();
  w.Key("rate");
  w.Number(m.config().every > 0 ? 1.0 / static_cast<double>(m.config().every) : m.rate());
  w.Key("weight");
  w.Number(m.Weight(reason));
  w.Key("reason");
  w.String(Monitor::ReasonName(reason));
  w.EndObject();
  if (!p.traceparent.empty()) {
    w.Key("trace");
    w.BeginObject();
    w.Key("traceparent");
    w.String(p.traceparent);
    if (!p.tracestate.empty()) {
      w.Key("tracestate");
      w.String(p.tracestate);
    }
    w.EndObject();
  }
}

void Submit(Pending& p, std::string body, std::string event_id, std::string time) {
  const auto& id = p.monitor->identity();
  observe::MonitorRecord record{.body = std::move(body),
                                .id = std::move(event_id),
                                .time = std::move(time),
                                .source = fmt::format("/ferry/models/{}/versions/{}", id.model, id.version),
                                .key = p.key.empty() ? id.model : std::move(p.key),
                                .traceparent = std::move(p.traceparent),
                                .tracestate = std::move(p.tracestate)};
  p.monitor->Submit(std::move(record));
}

// Writes a record, the head and what `rest` adds, and hands it to the monitor.
template <typename Rest>
void Emit(Pending& p, Monitor::Reason reason, const routing::RouteInfo& route, const core::Error* error,
          const core::ExecutionTiming* timing, Clock::time_point finished, Rest&& rest) {
  std::string event_id = EventId(), time = Rfc3339(p.time);
  std::string body;
  body.reserve(512 + p.request_json.size());
  core::JsonWriter w(body);
  w.BeginObject();
  WriteHead(p, reason, event_id, time, route, error, timing, finished, w);
  rest(w);
  w.EndObject();
  Submit(p, std::move(body), std::move(event_id), std::move(time));
}

// The reason a finished call is recorded for, or kNone (counted as sampled out).
Monitor::Reason Settle(const Pending& p, bool failed, Clock::time_point finished) {
  if (p.reason != Monitor::Reason::kNone) return p.reason;
  const auto reason = p.monitor->Always(failed, finished - p.start);
  if (reason == Monitor::Reason::kNone) p.monitor->CountSampledOut();
  return reason;
}

void RecordInfer(Pending& p, const core::Result<core::InferenceResponse>& result) {
  const auto finished = Clock::now();
  const auto reason = Settle(p, !result.has_value(), finished);
  if (reason == Monitor::Reason::kNone) return;
  Emit(p, reason, result ? result->route : routing::RouteInfo(), result ? nullptr : &result.error(),
       result ? &result->timing : nullptr, finished, [&](core::JsonWriter& w) {
    if (!p.request_json.empty()) {
      w.Key("request");
      w.BeginObject();
      w.Key("inputs");
      w.Raw(p.request_json);
      w.EndObject();
    }
    if (result && p.reason != Monitor::Reason::kNone && p.monitor->config().records_response()) {
      w.Key("response");
      w.BeginObject();
      w.Key("outputs");
      WriteTensors(result->outputs, *p.monitor, w);
      w.EndObject();
    }
  });
}

void WriteAnswer(const routing::Predictions& predictions, std::size_t i, core::JsonWriter& w) {
  w.BeginObject();
  switch (predictions.state(i)) {
    case routing::Predictions::State::kAnswered:
      w.Key("state");
      w.String("answered");
      w.Key("answer");
      predictions.WriteAnswer(i, w);
      break;
    case routing::Predictions::State::kRejected:
      w.Key("state");
      w.String("rejected");
      w.Key("step");
      w.String(predictions.outcome(i).step);
      w.Key("error");
      w.String(predictions.outcome(i).error);
      break;
    case routing::Predictions::State::kSkipped:
      w.Key("state");
      w.String("skipped");
      w.Key("step");
      w.String(predictions.outcome(i).step);
      break;
  }
  w.EndObject();
}

// One monitoring record for records `rows` of a Predict call.
void RecordPredict(Pending& p, const core::Result<routing::Predictions>& result, std::span<const std::size_t> rows) {
  const auto finished = Clock::now();
  bool failed = !result.has_value();
  if (result) {
    for (std::size_t i : rows) failed = failed || result->state(i) == routing::Predictions::State::kRejected;
  }
  const auto reason = Settle(p, failed, finished);
  if (reason == Monitor::Reason::kNone) return;
  const routing::RouteInfo route = result && !rows.empty() ? result->route(rows.front()) : routing::RouteInfo();
  core::Error rejected;
  const core::Error* error = result ? nullptr : &result.error();
  if (result && failed && rows.size() == 1) {  // a stream event's record: its rejection is its status
    rejected = core::MakeError(core::ErrorCode::kRejected, result->outcome(rows.front()).error).error();
    error = &rejected;
  }
  Emit(p, reason, route, error, nullptr, finished, [&](core::JsonWriter& w) {
    if (!p.request_json.empty()) {
      w.Key("records");
      w.Raw(p.request_json);
    }
    if (result && p.reason != Monitor::Reason::kNone && p.monitor->config().records_response()) {
      std::string answers;
      core::JsonWriter aw(answers);
      aw.BeginArray();
      for (std::size_t i : rows) WriteAnswer(*result, i, aw);
      aw.EndArray();
      w.Key("answers");
      if (answers.size() > p.monitor->config().max_bytes) {
        p.monitor->CountTruncated();
        w.Raw(fmt::format(R"({{"truncated":true,"count":{}}})", rows.size()));
      } else {
        w.Raw(answers);
      }
    }
  });
}

}  // namespace

routing::InferDone WatchInfer(const routing::Servable& servable, const core::InferenceRequest& request,
                              const routing::CallContext& context, routing::InferDone done) {
  auto pending = Start(servable, context);
  if (!pending) return done;
  if (pending->request_id.empty()) pending->request_id = request.id;
  if (pending->reason != Monitor::Reason::kNone && pending->monitor->config().records_request()) {
    core::JsonWriter w(pending->request_json);
    WriteTensors(request.inputs, *pending->monitor, w);
  }
  return [p = std::move(*pending), done = std::move(done)](core::Result<core::InferenceResponse> result) mutable {
    RecordInfer(p, result);
    done(std::move(result));
  };
}

routing::PredictDone WatchPredict(const routing::Servable& servable, std::span<const core::Record> records,
                                  std::span<const routing::CallContext* const> contexts, routing::PredictDone done) {
  if (!servable.monitor() || contexts.empty()) return done;
  if (contexts.size() == 1) {
    auto pending = Start(servable, *contexts.front());
    if (!pending) return done;
    if (pending->reason != Monitor::Reason::kNone && pending->monitor->config().records_request()) {
      pending->request_json = RecordsJson(records, *pending->monitor);
    }
    return [p = std::move(*pending), n = records.size(), done = std::move(done)](
               core::Result<routing::Predictions> result) mutable {
      std::vector<std::size_t> rows(n);
      for (std::size_t i = 0; i < n; ++i) rows[i] = i;
      RecordPredict(p, result, rows);
      done(std::move(result));
    };
  }
  // One record an event.
  std::vector<std::pair<std::size_t, Pending>> watched;
  for (std::size_t i = 0; i < contexts.size() && i < records.size(); ++i) {
    auto pending = Start(servable, *contexts[i]);
    if (!pending) continue;
    if (pending->reason != Monitor::Reason::kNone && pending->monitor->config().records_request()) {
      pending->request_json = RecordsJson(records.subspan(i, 1), *pending->monitor);
    }
    watched.emplace_back(i, std::move(*pending));
  }
  if (watched.empty()) return done;
  return [watched = std::move(watched), done = std::move(done)](core::Result<routing::Predictions> result) mutable {
    for (auto& [i, p] : watched) {
      const std::size_t row[] = {i};
      RecordPredict(p, result, row);
    }
    done(std::move(result));
  };
}

}  // namespace ferry::runtime
