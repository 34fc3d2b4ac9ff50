// Spans of the calls the runtime receives (observe/tracer.h, docs/tracing.md): a request span
// (server or consumer kind, child of the caller's W3C traceparent when it sent one) and, for a
// model's answer, its queue wait and batch execution as children, placed by the scheduler's
// measured durations back from the moment it answered. Like monitoring, only calls that enter
// through the runtime are traced; a router's span names the route that answered.
// Cost: with tracing off (no tracer) `done` is returned untouched; a request not sampled costs a
// header lookup and a draw.
#pragma once

#include "observe/tracer.h"
#include "routing/servable.h"

namespace ferry::runtime {

routing::InferDone TraceInfer(observe::Tracer* tracer, const routing::Servable& servable,
                              const routing::CallContext& context, routing::InferDone done);
routing::PredictDone TracePredict(observe::Tracer* tracer, const routing::Servable& servable, std::size_t records,
                                  const routing::CallContext& context, routing::PredictDone done);

}  // namespace ferry::runtime
