// BatchInference: what each event of a batch leads to -- an answer for the sink, a dead letter
// with its class and stage, or nothing (skipped) -- by running the events through the servables
// they go to: the stream's model, or the one an event's headers (or V2 body) name. Each target is
// resolved once a batch; a pipeline takes the batch's records together, a model one request an
// event, all in flight at once (its scheduler batches them).
//
// It tells the events' faults from ferry's own trouble: while a model is missing, unavailable,
// its queue full or timing out, it waits through the stream's backpressure (which pauses
// consumption and retries) instead of failing the events; a wait cut short (shutdown, rebalance)
// leaves the batch without outcomes.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/explanation.h"
#include "core/json_writer.h"
#include "routing/servable.h"
#include "runtime/server.h"
#include "runtime/tracing.h"
#include "stream/event.h"
#include "stream/stream_config.h"
#include "stream/stream_metrics.h"

namespace ferry::stream {

// What one event leads to.
struct Outcome {
  enum class Kind { kNone, kAnswer, kDeadLetter, kSkip };
  Kind kind = Kind::kNone;
  std::string value;  // kAnswer: the sink message; kDeadLetter: the reason
  std::string stage;  // kDeadLetter: decode, model, or the pipeline step
  DeadLetterClass error_class = DeadLetterClass::kModel;
  routing::RouteInfo route;  // kAnswer: which servable answered (sink headers)
  std::string traceparent;   // for the sink and error records: ferry's span, else the event's (docs/tracing.md)

  static Outcome Dead(std::string reason, std::string stage, DeadLetterClass c) {
    return {Kind::kDeadLetter, std::move(reason), std::move(stage), c, {}, {}};
  }
};

// Errors that are ferry's own trouble, not the event's: the batch waits and is tried again.
bool Transient(core::ErrorCode code);
// Why a stream pauses for this error.
PauseReason ReasonOf(const core::Error& error);

// How a wait for a model ended.
enum class Waited { kDone, kStopping, kRevoked };

// Runs `attempt` until it returns no error (it returns the error that kept the model from taking
// the work); `what` names the model in the stream's state and log.
using Backpressure =
    std::function<Waited(std::string_view what, const std::function<std::optional<core::Error>()>& attempt)>;

class BatchInference {
 public:
  // `idle` runs while an answer is awaited (the stream's delivery reports).
  BatchInference(const StreamSpec& spec, runtime::Server& server, StreamCounters& counters, Backpressure backpressure,
                 std::function<void()> idle)
      : spec_(spec), server_(server), counters_(counters), backpressure_(std::move(backpressure)),
        idle_(std::move(idle)) {}

  // One outcome an event of `batch`, or nothing when a wait for a model was cut short.
  std::optional<std::vector<Outcome>> Infer(std::span<const Event* const> batch);

 private:
  using Target = std::pair<std::string, std::int64_t>;  // a model name and version (0: the latest)

  // The explanations of a batch's answered records (explain: {top_k}), by answer row.
  struct Explained {
    std::optional<core::Result<core::Explanation>> explanation;  // none: not asked for
    std::vector<std::int64_t> row_of;                           // answer row -> explanation row
    std::size_t top_k = 0;
    // The answer of `row`, with its "explanations" (or "explanation_error") member.
    void Write(const routing::Predictions& answers, std::size_t row, core::JsonWriter& w) const;
  };
  Explained Explain(const routing::Servable& servable, const routing::Predictions& answers,
                    std::vector<core::Record> records) const;
  void AddExplanations(const routing::Servable& servable, core::InferenceRequest request, std::string& answer) const;

  Waited ResolveTarget(const Target& target, bool named_by_event, core::Result<routing::ServableHandle>& servable);
  // `traced`: the batch's events as the calls' contexts (runtime/tracing.h), one an event.
  Waited RunRecords(const Target& target, const routing::ServableHandle& servable, std::span<const Event* const> batch,
                    std::span<runtime::TracedContext> traced, const std::vector<std::size_t>& events,
                    std::vector<Outcome>& outcomes);
  Waited RunTensors(const Target& target, const routing::ServableHandle& servable, std::span<const Event* const> batch,
                    std::span<runtime::TracedContext> traced, const std::vector<std::size_t>& events,
                    std::vector<std::optional<core::Result<core::InferenceRequest>>>& requests,
                    std::vector<Outcome>& outcomes);
  template <typename T>
  T Await(std::future<T>& future);

  const StreamSpec& spec_;
  runtime::Server& server_;
  StreamCounters& counters_;
  Backpressure backpressure_;
  std::function<void()> idle_;
};

}  // namespace ferry::stream
