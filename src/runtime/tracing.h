// Spans of the calls the runtime receives (observe/tracer.h, docs/tracing.md): a request span
// (server or consumer kind, child of the caller's W3C traceparent when it sent one) and, for a
// model's answer, its queue wait and batch execution as children, placed by the scheduler's
// measured durations back from the moment it answered. Like monitoring, only calls that enter
// through the runtime are traced; a router's span names the route that answered.
// The call goes on with a TracedContext: the caller's context with ferry's span as its
// traceparent, so that what the call produces -- its monitoring record, a stream's sink and
// error records -- continues ferry's span (the caller's traceparent when the call is not traced).
// Cost: with tracing off (no tracer) `done` is returned untouched; a request not sampled costs a
// header lookup and a draw.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "observe/tracer.h"
#include "routing/servable.h"

namespace ferry::runtime {

// The caller's context, with ferry's span as the traceparent once the call is traced. Lives as
// long as the call's synchronous part (servables read their context before they return).
class TracedContext final : public routing::CallContext {
 public:
  explicit TracedContext(const routing::CallContext& caller) : caller_(&caller) {}
  std::optional<std::string_view> Header(std::string_view name) const override {
    if (name == "traceparent" && !traceparent_.empty()) return traceparent_;
    return caller_->Header(name);
  }
  std::optional<std::string_view> Key() const override { return caller_->Key(); }
  std::string_view Protocol() const override { return caller_->Protocol(); }
  bool Explaining() const override { return caller_->Explaining(); }
  std::shared_ptr<core::CallTrace> Trace() const override { return trace_; }

  // What the call's products carry: ferry's span when traced, else the caller's, else empty.
  std::string_view traceparent() const { return Header("traceparent").value_or(std::string_view()); }
  const routing::CallContext& caller() const { return *caller_; }
  // The call is traced: `traceparent` names ferry's span, `trace` takes its parts' steps.
  void Adopt(std::string traceparent, std::shared_ptr<core::CallTrace> trace) {
    traceparent_ = std::move(traceparent);
    trace_ = std::move(trace);
  }

 private:
  const routing::CallContext* caller_;
  std::string traceparent_;  // ferry's span, when the call is traced
  std::shared_ptr<core::CallTrace> trace_;
};

routing::InferDone TraceInfer(observe::Tracer* tracer, const routing::Servable& servable, TracedContext& context,
                              routing::InferDone done);
// `contexts`: one for all the records (an HTTP /predict request: one span), or one a record
// (stream events: a span an event, each the child of its own event's traceparent).
routing::PredictDone TracePredict(observe::Tracer* tracer, const routing::Servable& servable, std::size_t records,
                                  std::span<TracedContext* const> contexts, routing::PredictDone done);

}  // namespace ferry::runtime
