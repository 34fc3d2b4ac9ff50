#include "stream/batch_inference.h"

#include <fmt/format.h>

#include <charconv>
#include <future>
#include <map>

#include "core/json_writer.h"
#include "protocol/explain_json.h"
#include "protocol/predict_json.h"
#include "routing/route_info.h"
#include "runtime/monitoring.h"
#include "stream/event_codec.h"

namespace ferry::stream {
namespace {

// The class of a model's error about one event (the event's fault: it is dead-lettered).
DeadLetterClass ClassOf(core::ErrorCode code) {
  return code == core::ErrorCode::kInvalidArgument || code == core::ErrorCode::kRejected ? DeadLetterClass::kValidation
                                                                                           : DeadLetterClass::kModel;
}

}  // namespace

bool Transient(core::ErrorCode code) {
  return code == core::ErrorCode::kUnavailable || code == core::ErrorCode::kResourceExhausted ||
         code == core::ErrorCode::kDeadlineExceeded;
}

PauseReason ReasonOf(const core::Error& error) {
  if (error.code == core::ErrorCode::kDeadlineExceeded) return PauseReason::kTimeout;
  if (error.code == core::ErrorCode::kResourceExhausted || error.message.find("queue is full") != std::string::npos) {
    return PauseReason::kQueueFull;
  }
  return PauseReason::kModelUnavailable;
}

// Waits for an answer, running `idle_` meanwhile (the deliveries of earlier batches, without
// blocking in librdkafka, so that the answer is picked up as soon as it comes).
template <typename T>
T BatchInference::Await(std::future<T>& future) {
  while (future.wait_for(std::chrono::microseconds(200)) != std::future_status::ready) idle_();
  return future.get();
}

// Events for a servable that takes records (a pipeline, a router over pipelines): JSON records
// in, one answer a record. Each event is decided on alone by a router (its own context).
// The answers' explanations, when the stream asks for them: one explanation of the answered
// records, computed after their answers (an explanation that fails adds its reason instead; the
// answers go out either way).
BatchInference::Explained BatchInference::Explain(const routing::Servable& servable,
                                                  const routing::Predictions& answers,
                                                  std::vector<core::Record> records) const {
  Explained explained;
  if (spec_.explain_top_k < 0 || records.size() != answers.size()) return explained;
  explained.top_k = static_cast<std::size_t>(spec_.explain_top_k);
  std::vector<core::Record> answered;
  explained.row_of.assign(answers.size(), -1);
  for (std::size_t row = 0; row < answers.size(); ++row) {
    if (answers.state(row) != routing::Predictions::State::kAnswered) continue;
    explained.row_of[row] = static_cast<std::int64_t>(answered.size());
    answered.push_back(std::move(records[row]));
  }
  if (!answered.empty()) explained.explanation = servable.ExplainRecords(std::move(answered));
  return explained;
}

void BatchInference::Explained::Write(const routing::Predictions& answers, std::size_t row, core::JsonWriter& w) const {
  if (!explanation) return answers.WriteAnswer(row, w);
  routing::Predictions::Replacement replacement;
  if (*explanation) {
    replacement.field = "explanations";
    replacement.write = [&](core::JsonWriter& out) {
      protocol::WriteRowExplanation(**explanation, row_of[row], top_k, out);
    };
  } else {
    replacement.field = "explanation_error";
    replacement.write = [&](core::JsonWriter& out) { out.String(explanation->error().message); };
  }
  answers.WriteAnswer(row, w, &replacement);
}

// A V2 answer's explanations (explain: {top_k}): its rows explained after it, added to the JSON
// object as "explanations" (or "explanation_error"); the answer goes out either way.
void BatchInference::AddExplanations(const routing::Servable& servable, core::InferenceRequest request,
                                     std::string& answer) const {
  if (answer.empty() || answer.back() != '}') return;
  const auto explanation = servable.Explain(std::move(request));
  answer.pop_back();
  core::JsonWriter w(answer);
  answer += ',';
  if (explanation) {
    w.Key("explanations");
    protocol::WriteExplanations(*explanation, static_cast<std::size_t>(spec_.explain_top_k), w);
  } else {
    w.Key("explanation_error");
    w.String(explanation.error().message);
  }
  answer += '}';
}

Waited BatchInference::RunRecords(const Target& target, const routing::ServableHandle& servable,
                                  std::span<const Event* const> batch, std::span<runtime::TracedContext> traced,
                                  const std::vector<std::size_t>& events, std::vector<Outcome>& outcomes) {
  std::vector<std::ptrdiff_t> row_of(batch.size(), -1);
  std::vector<const routing::CallContext*> context_of;
  std::vector<runtime::TracedContext*> traced_of;
  auto decode = [&] {
    std::vector<core::Record> records;
    records.reserve(events.size());
    context_of.clear();
    traced_of.clear();
    for (std::size_t i : events) {
      const Event& event = *batch[i];
      if (spec_.source_encoder != "json") {
        outcomes[i] = Outcome::Dead("a pipeline takes JSON records (source encoder json)", "decode",
                                    DeadLetterClass::kDecode);
        continue;
      }
      auto decoded = protocol::DecodePredictRequest(event.Payload());
      if (!decoded) {
        outcomes[i] = Outcome::Dead(EventError(decoded.error()), "decode", DeadLetterClass::kDecode);
      } else if (decoded->instances) {
        outcomes[i] = Outcome::Dead("an event must be one record, not {\"instances\": [...]}", "decode",
                                    DeadLetterClass::kDecode);
      } else {
        row_of[i] = static_cast<std::ptrdiff_t>(records.size());
        records.push_back(std::move(decoded->records.front()));
        context_of.push_back(&traced[i]);
        traced_of.push_back(&traced[i]);
      }
    }
    return records;
  };
  std::optional<core::Result<routing::Predictions>> prediction;
  std::vector<core::Record> kept;  // the records, for their explanations (explain: {top_k})
  const Waited waited = backpressure_(fmt::format("model '{}'", target.first), [&]() -> std::optional<core::Error> {
    std::promise<core::Result<routing::Predictions>> promise;
    auto future = promise.get_future();
    auto records = decode();
    if (records.empty()) return std::nullopt;
    if (spec_.explain_top_k >= 0) kept = records;
    auto traced_done = runtime::TracePredict(server_.tracer(), *servable, records.size(), traced_of,
                                             [&promise](core::Result<routing::Predictions> result) {
                                               promise.set_value(std::move(result));
                                             });
    auto answered = runtime::WatchPredict(*servable, records, context_of, std::move(traced_done));
    servable->Predict(std::move(records), context_of, std::move(answered));
    prediction = Await(future);
    // A whole batch refused: the servable's trouble (a step's model missing too), not the events'.
    if (!*prediction && (Transient(prediction->error().code) || prediction->error().code == core::ErrorCode::kNotFound)) {
      return prediction->error();
    }
    return std::nullopt;
  });
  if (waited != Waited::kDone || !prediction) return waited;
  ++counters_.batches;
  if (!*prediction) {
    for (std::size_t i : events) {
      if (row_of[i] >= 0) {
        outcomes[i] = Outcome::Dead(prediction->error().message, "model", ClassOf(prediction->error().code));
      }
    }
    return waited;
  }
  const routing::Predictions& answers = **prediction;
  const Explained explained = Explain(*servable, answers, std::move(kept));
  for (std::size_t i : events) {
    if (row_of[i] < 0) continue;
    const auto row = static_cast<std::size_t>(row_of[i]);
    const auto& outcome = answers.outcome(row);
    switch (outcome.state) {
      case routing::Predictions::State::kAnswered: {
        Outcome& o = outcomes[i];
        o.kind = Outcome::Kind::kAnswer;
        o.route = answers.route(row);
        if (spec_.sink_encoder == "none") {
          o.value.assign(batch[i]->Payload());
        } else {
          core::JsonWriter w(o.value);
          explained.Write(answers, row, w);
        }
        break;
      }
      case routing::Predictions::State::kRejected:
        outcomes[i] = Outcome::Dead(outcome.error, outcome.step, DeadLetterClass::kValidation);
        break;
      case routing::Predictions::State::kSkipped: outcomes[i] = {Outcome::Kind::kSkip, {}, {}, {}, {}, {}}; break;
    }
  }
  return waited;
}

// Events for a servable that takes tensors: one request each, all in flight at once (its
// scheduler batches them). `requests` holds the requests decoded while routing, if any.
Waited BatchInference::RunTensors(const Target& target, const routing::ServableHandle& servable,
                                  std::span<const Event* const> batch, std::span<runtime::TracedContext> traced,
                                  const std::vector<std::size_t>& events,
                  std::vector<std::optional<core::Result<core::InferenceRequest>>>& requests,
                  std::vector<Outcome>& outcomes) {
  std::vector<std::optional<core::Result<core::InferenceResponse>>> answers(batch.size());
  std::vector<std::uint8_t> undecodable(batch.size());
  std::vector<std::optional<core::InferenceRequest>> kept(batch.size());  // for explanations
  // Raw events take the servable's first input: looked up once a batch, not once an event.
  const auto signature = spec_.source_encoder == "json" ? core::ModelSignature() : servable->Signature();
  const Waited waited = backpressure_(fmt::format("model '{}'", target.first), [&]() -> std::optional<core::Error> {
    std::vector<std::promise<core::Result<core::InferenceResponse>>> promises(events.size());
    std::vector<std::future<core::Result<core::InferenceResponse>>> futures;
    for (std::size_t k = 0; k < events.size(); ++k) {
      const std::size_t i = events[k];
      futures.push_back(promises[k].get_future());
      auto request = requests[i] ? std::move(*requests[i])
                                 : DecodeEventRequest(batch[i]->Payload(), spec_.source_encoder,
                                                      &signature);
      requests[i].reset();  // used up: a retry decodes again
      if (!request) {
        undecodable[i] = 1;
        promises[k].set_value(std::unexpected(request.error()));
        continue;
      }
      request->model_name = target.first;
      request->model_version = target.second;
      if (spec_.explain_top_k >= 0) kept[i] = core::Clone(*request);
      auto traced_done = runtime::TraceInfer(server_.tracer(), *servable, traced[i],
                                             [&promise = promises[k]](core::Result<core::InferenceResponse> r) {
                                               promise.set_value(std::move(r));
                                             });
      auto answered = runtime::WatchInfer(*servable, *request, traced[i], std::move(traced_done));
      servable->Infer(std::move(*request), traced[i], std::move(answered));
    }
    std::optional<core::Error> retry;
    for (std::size_t k = 0; k < events.size(); ++k) {
      answers[events[k]] = Await(futures[k]);
      const auto& answer = *answers[events[k]];
      if (!answer && !undecodable[events[k]] && Transient(answer.error().code) && !retry) retry = answer.error();
    }
    return retry;
  });
  if (waited != Waited::kDone) return waited;
  ++counters_.batches;
  for (std::size_t i : events) {
    if (!answers[i]) continue;
    const auto& answer = *answers[i];
    if (answer && answer->outputs.empty()) {
      outcomes[i] = {Outcome::Kind::kSkip, {}, {}, {}, {}, {}};  // a model's Python hook skipped it (docs/python.md)
    } else if (answer) {
      outcomes[i] = {Outcome::Kind::kAnswer,
                     EncodeEventAnswer(*answer, batch[i]->Payload(), spec_.sink_encoder),
                     {}, {}, routing::RouteOf(*answer), {}};
      if (kept[i]) AddExplanations(*servable, std::move(*kept[i]), outcomes[i].value);
    } else if (undecodable[i]) {
      outcomes[i] = Outcome::Dead(answer.error().message, "decode", DeadLetterClass::kDecode);
    } else {
      outcomes[i] = Outcome::Dead(answer.error().message, "model", ClassOf(answer.error().code));
    }
  }
  return waited;
}

// The servable answering for a target, waiting (paused) while it cannot serve. The stream's
// own model waits also while the repository does not have it (removed, not yet published); a
// model an event names that the repository does not have is the event's fault.
Waited BatchInference::ResolveTarget(const Target& target, bool named_by_event, core::Result<routing::ServableHandle>& servable) {
  return backpressure_(fmt::format("model '{}'", target.first), [&]() -> std::optional<core::Error> {
    servable = server_.Resolve(target.first, target.second);
    if (servable) return std::nullopt;
    const auto code = servable.error().code;
    if (Transient(code) || (code == core::ErrorCode::kNotFound && !named_by_event)) return servable.error();
    return std::nullopt;
  });
}

std::optional<std::vector<Outcome>> BatchInference::Infer(std::span<const Event* const> batch) {
  // Where each event goes: the stream's model, or the one its headers name, or -- for a V2
  // request to a servable that takes tensors -- the one its body names. Each target is
  // resolved once a batch.
  std::vector<Outcome> outcomes(batch.size());
  std::vector<runtime::TracedContext> traced;  // the events as their calls' contexts
  traced.reserve(batch.size());
  for (const Event* event : batch) traced.emplace_back(*event);
  std::vector<std::optional<Target>> target_of(batch.size());
  std::vector<std::uint8_t> named_by_event(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Target target{spec_.model, spec_.model_version};
    if (const auto named = batch[i]->Header("ferry-model").value_or(""); !named.empty()) {
      target = {std::string(named), 0};
      named_by_event[i] = 1;
    }
    if (const auto v = batch[i]->Header("ferry-model-version").value_or(""); !v.empty()) {
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), target.second);
      if (ec != std::errc() || end != v.data() + v.size() || target.second < 1) {
        outcomes[i] = Outcome::Dead(fmt::format("header ferry-model-version '{}' is not a version", v), "decode",
                                    DeadLetterClass::kDecode);
        continue;
      }
      named_by_event[i] = 1;
    }
    target_of[i] = std::move(target);
  }
  std::map<Target, core::Result<routing::ServableHandle>> resolved;
  const routing::ServableHandle* found = nullptr;
  auto resolve = [&](const Target& target, bool by_event) -> Waited {
    found = nullptr;
    auto it = resolved.find(target);
    if (it == resolved.end()) {
      core::Result<routing::ServableHandle> servable = core::NotFound("");
      if (const Waited w = ResolveTarget(target, by_event, servable); w != Waited::kDone) return w;
      it = resolved.emplace(target, std::move(servable)).first;
    }
    if (it->second) found = &*it->second;
    return Waited::kDone;
  };
  std::vector<std::optional<core::Result<core::InferenceRequest>>> requests(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!target_of[i] || named_by_event[i] || spec_.source_encoder != "json") continue;
    if (resolve(*target_of[i], false) != Waited::kDone) return std::nullopt;
    if (!found || (*found)->TakesRecords()) continue;
    requests[i] = DecodeEventRequest(batch[i]->Payload(), spec_.source_encoder, nullptr);
    if (*requests[i] && !(*requests[i])->model_name.empty()) {
      target_of[i] = Target{(*requests[i])->model_name, (*requests[i])->model_version};
    }
  }
  std::map<Target, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (target_of[i]) groups[*target_of[i]].push_back(i);
  }
  for (const auto& [target, events] : groups) {
    const bool by_event = target != Target{spec_.model, spec_.model_version};
    if (resolve(target, by_event) != Waited::kDone) return std::nullopt;
    Waited waited = Waited::kDone;
    if (!found) {
      const auto& error = resolved.at(target).error();
      for (std::size_t i : events) {
        outcomes[i] = Outcome::Dead(error.message, "model",
                                    error.code == core::ErrorCode::kNotFound ? DeadLetterClass::kUnknownModel
                                                                             : DeadLetterClass::kModel);
      }
    } else if ((*found)->TakesRecords()) {
      waited = RunRecords(target, *found, batch, traced, events, outcomes);
    } else {
      waited = RunTensors(target, *found, batch, traced, events, requests, outcomes);
    }
    if (waited != Waited::kDone) return std::nullopt;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) outcomes[i].traceparent = traced[i].traceparent();
  return outcomes;
}

}  // namespace ferry::stream
