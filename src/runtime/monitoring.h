// Recording calls on a servable's monitoring stream (observe/monitor.h, docs/monitoring.md): the
// runtime wraps a call's completion so that, when the call is sampled (or its outcome must be
// recorded: always: [error, slow]), a record is built from the request and its answer and queued.
//
// Cost: a servable without monitoring, or a call not sampled whose outcome cannot make it
// recorded, keeps its `done` untouched (a sampling decision: a few nanoseconds). A sampled call's
// request is serialised before it is sent (it is moved away then), its answer on the thread that
// answers, before `done` runs.
//
// Only calls that enter through the runtime are recorded (frontends, streams, embedding
// programs): a router's calls to its routes are recorded in the router's record (its route),
// not again for the models it reaches.
// Thread safety: free functions; call from any thread.
#pragma once

#include <span>

#include "core/inference.h"
#include "core/record.h"
#include "routing/servable.h"

namespace ferry::runtime {

routing::InferDone WatchInfer(const routing::Servable& servable, const core::InferenceRequest& request,
                              const routing::CallContext& context, routing::InferDone done);

// `contexts`: one for all the records (an HTTP /predict request: one monitoring record for the
// call), or one a record (stream events: one monitoring record an event).
routing::PredictDone WatchPredict(const routing::Servable& servable, std::span<const core::Record> records,
                                  std::span<const routing::CallContext* const> contexts, routing::PredictDone done);

}  // namespace ferry::runtime
