// InferenceRequest / InferenceResponse: one inference as every frontend hands it to the runtime,
// independent of the wire format (KServe V2 JSON, binary extension, gRPC, Kafka).
// Plain value types; move them between threads.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace ferry::core {

// A protocol parameter value: the KServe V2 JSON and gRPC InferParameter kinds.
using ParameterValue = std::variant<bool, std::int64_t, double, std::string>;
using Parameters = std::map<std::string, ParameterValue, std::less<>>;

struct RequestedOutput {
  std::string name;
  Parameters parameters;
};

struct InferenceRequest {
  std::string model_name;
  std::int64_t model_version = 0;  // 0: let the model's version policy choose (the latest)
  std::string id;                  // echoed in the response
  Parameters parameters;
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty: every output of the model
};

// A deep copy of a request (its tensors' bytes too): for a router that sends one request to
// several servables (shadows, ensemble members, a fallback).
inline InferenceRequest Clone(const InferenceRequest& request) {
  InferenceRequest copy{.model_name = request.model_name, .model_version = request.model_version, .id = request.id,
                        .parameters = request.parameters, .inputs = {}, .outputs = request.outputs};
  copy.inputs.reserve(request.inputs.size());
  for (const auto& t : request.inputs) copy.inputs.push_back(t.Clone());
  return copy;
}

// Which servable computed an answer and why, when a router chose it (docs/routing.md). Every
// transport reports it under the same names -- ferry-model, ferry-model-version, ferry-route,
// ferry-route-reason, ferry-decision-id, ferry-ensemble -- as HTTP headers, gRPC trailing
// metadata, Kafka headers, and in a V2 response's `parameters`.
struct RouteInfo {
  std::string model;      // the model (or pipeline) that computed the answer
  std::int64_t version = 0;
  std::string route;      // the route taken (nested routers: outer/inner)
  std::string reason;     // weighted | sticky | override | fallback | explore | exploit | ensemble
  std::string decision_id;  // a bandit's decision, for feedback
  std::string ensemble;     // the members of an ensemble that took part

  bool empty() const { return model.empty(); }
  // An outer router's decision around this one: route and reason become "outer/inner"; the
  // decision id stays the innermost bandit's unless this one has none.
  void Wrap(std::string_view outer_route, std::string_view outer_reason, std::string_view outer_decision);
  // Calls fn(name, value) for each field to send, in the order above; empty values are left out.
  template <typename Fn>
  void ForEachField(Fn&& fn) const {
    if (!model.empty()) fn(std::string_view("ferry-model"), std::string_view(model));
    if (version > 0) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, version).ptr;
      fn(std::string_view("ferry-model-version"), std::string_view(digits, static_cast<std::size_t>(end - digits)));
    }
    if (!route.empty()) fn(std::string_view("ferry-route"), std::string_view(route));
    if (!reason.empty()) fn(std::string_view("ferry-route-reason"), std::string_view(reason));
    if (!decision_id.empty()) fn(std::string_view("ferry-decision-id"), std::string_view(decision_id));
    if (!ensemble.empty()) fn(std::string_view("ferry-ensemble"), std::string_view(ensemble));
  }
};

// Where an answer spent its time in the model's scheduler: waiting in the queue, then executing
// in a batch of `batch_size` rows. Zero when no scheduler ran it (a router's own answer).
struct ExecutionTiming {
  std::chrono::nanoseconds queue{0};
  std::chrono::nanoseconds compute{0};
  std::int64_t batch_size = 0;
};

struct InferenceResponse {
  std::string model_name;
  std::int64_t model_version = 0;
  std::string id;
  Parameters parameters;
  std::vector<Tensor> outputs;
  RouteInfo route;  // set by routers; empty when model_name itself answered
  ExecutionTiming timing;  // set by the scheduler that ran it (monitoring records)
};

// Where one model execution spent its time, as a backend measures it: preparing inputs, running
// the model, collecting outputs. Feeds the statistics extension.
struct ComputeTimes {
  std::chrono::nanoseconds input{0};
  std::chrono::nanoseconds infer{0};
  std::chrono::nanoseconds output{0};
};

// The name, type and shape of one model input or output as clients see it (-1 = any size).
struct TensorSpec {
  std::string name;
  DataType type = DataType::kFp32;
  Shape shape;
};

struct ModelSignature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

}  // namespace ferry::core
