// InferenceRequest / InferenceResponse: one inference as every frontend hands it to the runtime,
// independent of the wire format (KServe V2 JSON, binary extension, gRPC, Kafka).
// Plain value types; move them between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
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

struct InferenceResponse {
  std::string model_name;
  std::int64_t model_version = 0;
  std::string id;
  Parameters parameters;
  std::vector<Tensor> outputs;
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
