#include "runtime/tracing.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "routing/route_info.h"

namespace ferry::runtime {
namespace {

using observe::Span;

std::int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Span Child(const Span& parent, std::string name, std::int64_t start, std::int64_t end) {
  Span s;
  s.trace_id = parent.trace_id;
  s.span_id = observe::Tracer::NewSpanId();
  s.parent_span_id = parent.span_id;
  s.trace_state = parent.trace_state;
  s.name = std::move(name);
  s.start_unix_ns = start;
  s.end_unix_ns = end;
  return s;
}

// The parts of a traced call: each step a child span of the call's span, ended at once.
class Steps final : public core::CallTrace {
 public:
  Steps(observe::Tracer* tracer, const Span& call) : tracer_(tracer) {
    call_.trace_id = call.trace_id;  // the call's span, its ids only
    call_.span_id = call.span_id;
    call_.trace_state = call.trace_state;
  }
  void Step(std::string_view name, Clock::time_point start, Clock::time_point end,
            std::initializer_list<Attribute> attributes) override {
    // Steady clock to the wall clock the spans are on: back from now.
    const auto now = Clock::now();
    const std::int64_t unix_now = UnixNanos();
    auto ago = [&](Clock::time_point t) {
      return unix_now - std::chrono::duration_cast<std::chrono::nanoseconds>(now - t).count();
    };
    Span s = Child(call_, std::string(name), ago(start), ago(end));
    for (const auto& [key, value] : attributes) {
      if (!value.empty()) s.attributes.emplace_back(std::string(key), std::string(value));
    }
    tracer_->End(std::move(s));
  }

 private:
  observe::Tracer* tracer_;
  Span call_;
};

// The request span, begun: its ids, parent and the attributes known before the answer.
struct Begun {
  observe::Tracer* tracer = nullptr;
  Span span;
  bool responds = false;  // HTTP and gRPC: `done` encodes and sends the answer
};

std::optional<Begun> Begin(observe::Tracer* tracer, const routing::Servable& servable, TracedContext& context,
                           std::string_view operation) {
  if (!tracer) return std::nullopt;
  std::optional<observe::TraceContext> parent;
  if (auto header = context.caller().Header("traceparent")) parent = observe::ParseTraceparent(*header);
  const observe::TraceId trace = parent ? parent->trace_id : observe::Tracer::NewTraceId();
  if (!tracer->Sample(parent, trace)) return std::nullopt;
  Begun b{.tracer = tracer, .span = {}};
  Span& s = b.span;
  s.trace_id = trace;
  s.span_id = observe::Tracer::NewSpanId();
  if (parent) {
    s.parent_span_id = parent->span_id;
    s.trace_state = std::string(context.caller().Header("tracestate").value_or(""));
  }
  context.Adopt(observe::FormatTraceparent(s.trace_id, s.span_id, true), std::make_shared<Steps>(tracer, s));
  s.name = std::string(operation) + " " + servable.name();
  const std::string_view protocol = context.Protocol();
  b.responds = protocol == "http" || protocol == "grpc";
  s.kind = protocol == "kafka" || protocol == "mqtt" ? Span::Kind::kConsumer : Span::Kind::kServer;
  s.start_unix_ns = UnixNanos();
  s.attributes.emplace_back("ferry.model", servable.name());
  s.attributes.emplace_back("ferry.version", servable.version());
  s.attributes.emplace_back("ferry.protocol", std::string(protocol));
  if (protocol == "grpc") {
    s.attributes.emplace_back("rpc.system", std::string("grpc"));
    s.attributes.emplace_back("rpc.service", std::string("inference.GRPCInferenceService"));
    s.attributes.emplace_back("rpc.method", std::string("ModelInfer"));
  } else if (protocol == "http") {
    s.attributes.emplace_back("http.request.method", std::string("POST"));
    s.attributes.emplace_back("url.path", "/v2/models/" + servable.name() + "/" + std::string(operation));
  } else if (protocol == "kafka" || protocol == "mqtt") {
    s.attributes.emplace_back("messaging.system", std::string(protocol));
    s.attributes.emplace_back("messaging.operation.type", std::string("process"));
  }
  return b;
}

// The answer is there: the span's attributes from it, and its queue and execute children.
void Finish(Begun& b, const core::Error* error, const routing::RouteInfo* route, const core::ExecutionTiming* timing) {
  Span& s = b.span;
  s.end_unix_ns = UnixNanos();
  if (route && !route->route.empty()) {
    s.attributes.emplace_back("ferry.route", route->route);
    s.attributes.emplace_back("ferry.route.reason", route->reason);
    s.attributes.emplace_back("ferry.route.model", route->model);
  }
  if (error) {
    s.error = true;
    s.status_message = error->message;
    s.attributes.emplace_back("error.type", std::string(core::ErrorCodeName(error->code)));
  }
  if (timing && timing->batch_size > 0) {
    // The scheduler answered just now: its execution ended here, and the queue wait before it.
    const std::int64_t executed = s.end_unix_ns - timing->compute.count();
    const std::int64_t queued = std::max(s.start_unix_ns, executed - timing->queue.count());
    Span queue = Child(s, "queue", queued, executed);
    Span execute = Child(s, "execute", executed, s.end_unix_ns);
    execute.attributes.emplace_back("ferry.batch_size", timing->batch_size);
    b.tracer->End(std::move(queue));
    b.tracer->End(std::move(execute));
  }
}

// Ends the span once `respond` ran -- the frontend encoding and sending the answer -- with a
// `respond` child for that part (HTTP and gRPC; streams and embedding programs end it before).
template <typename Respond>
void EndAfter(Begun& b, Respond&& respond) {
  if (!b.responds) {
    b.tracer->End(std::move(b.span));
    return respond();
  }
  const std::int64_t answered = b.span.end_unix_ns;
  respond();
  b.span.end_unix_ns = UnixNanos();
  b.tracer->End(Child(b.span, "respond", answered, b.span.end_unix_ns));
  b.tracer->End(std::move(b.span));
}

}  // namespace

routing::InferDone TraceInfer(observe::Tracer* tracer, const routing::Servable& servable, TracedContext& context,
                              routing::InferDone done) {
  auto begun = Begin(tracer, servable, context, "infer");
  if (!begun) return done;
  return [b = std::move(*begun), done = std::move(done)](core::Result<core::InferenceResponse> result) mutable {
    if (result) {
      Finish(b, nullptr, &result->route, &result->timing);
    } else {
      Finish(b, &result.error(), nullptr, nullptr);
    }
    EndAfter(b, [&] { done(std::move(result)); });
  };
}

routing::PredictDone TracePredict(observe::Tracer* tracer, const routing::Servable& servable, std::size_t records,
                                  std::span<TracedContext* const> contexts, routing::PredictDone done) {
  if (!tracer || contexts.empty()) return done;
  if (contexts.size() == 1) {
    auto begun = Begin(tracer, servable, *contexts.front(), "predict");
    if (!begun) return done;
    begun->span.attributes.emplace_back("ferry.records", static_cast<std::int64_t>(records));
    return [b = std::move(*begun), done = std::move(done)](core::Result<routing::Predictions> result) mutable {
      if (result) {
        const routing::RouteInfo route = result->size() > 0 ? result->route(0) : routing::RouteInfo();
        Finish(b, nullptr, &route, nullptr);
      } else {
        Finish(b, &result.error(), nullptr, nullptr);
      }
      EndAfter(b, [&] { done(std::move(result)); });
    };
  }
  // One record an event: a span each, its outcome its own (a rejected record is an error).
  std::vector<std::pair<std::size_t, Begun>> begun;
  for (std::size_t i = 0; i < contexts.size() && i < records; ++i) {
    if (auto b = Begin(tracer, servable, *contexts[i], "predict")) begun.emplace_back(i, std::move(*b));
  }
  if (begun.empty()) return done;
  return [begun = std::move(begun), done = std::move(done)](core::Result<routing::Predictions> result) mutable {
    for (auto& [i, b] : begun) {
      if (!result) {
        Finish(b, &result.error(), nullptr, nullptr);
      } else if (result->state(i) == routing::Predictions::State::kRejected) {
        const auto& outcome = result->outcome(i);
        const core::Error rejected{.code = core::ErrorCode::kRejected, .message = outcome.step + ": " + outcome.error};
        Finish(b, &rejected, nullptr, nullptr);
      } else {
        const routing::RouteInfo route = result->route(i);
        Finish(b, nullptr, &route, nullptr);
      }
      b.tracer->End(std::move(b.span));  // a stream event's answer is written after the batch's
    }
    done(std::move(result));
  };
}

}  // namespace ferry::runtime
