#include "routing/request_validation.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::routing {
namespace {

std::string Names(const std::vector<core::TensorSpec>& specs) {
  std::string names;
  for (const auto& s : specs) names += (names.empty() ? "'" : ", '") + s.name + "'";
  return names;
}

}  // namespace

core::Result<std::vector<std::string>> ValidateRequest(std::string_view model, const core::ModelSignature& signature,
                                                       std::int64_t max_batch_size,
                                                       const core::InferenceRequest& request) {
  std::vector<bool> seen(signature.inputs.size(), false);
  std::int64_t batch = -1;
  for (const core::Tensor& input : request.inputs) {
    auto it = std::find_if(signature.inputs.begin(), signature.inputs.end(),
                           [&](const core::TensorSpec& s) { return s.name == input.name(); });
    if (it == signature.inputs.end()) {
      return core::InvalidArgument(fmt::format("model '{}' has no input '{}' (its inputs: {})", model, input.name(),
                                               Names(signature.inputs)));
    }
    const auto index = static_cast<std::size_t>(it - signature.inputs.begin());
    if (seen[index]) return core::InvalidArgument(fmt::format("input '{}' is given twice", input.name()));
    seen[index] = true;
    if (input.type() != it->type) {
      return core::InvalidArgument(fmt::format("input '{}' of model '{}' must be {}, got {}", input.name(), model,
                                               core::DataTypeName(it->type), core::DataTypeName(input.type())));
    }
    if (!input.shape().Matches(it->shape)) {
      return core::InvalidArgument(fmt::format("input '{}' of model '{}' has shape {}, the model expects {} "
                                               "(-1 = any size)", input.name(), model, input.shape().ToString(),
                                               it->shape.ToString()));
    }
    if (max_batch_size > 0) {
      const std::int64_t rows = input.shape()[0];
      if (rows > max_batch_size) {
        return core::InvalidArgument(fmt::format("input '{}' has {} rows, more than max_batch_size {} of model '{}'",
                                                 input.name(), rows, max_batch_size, model));
      }
      if (batch >= 0 && rows != batch) {
        return core::InvalidArgument(fmt::format("inputs of model '{}' disagree on the batch size: '{}' has {} rows, "
                                                 "another input {}", model, input.name(), rows, batch));
      }
      batch = rows;
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      return core::InvalidArgument(fmt::format("missing input '{}' ({} {}) for model '{}'", signature.inputs[i].name,
                                               core::DataTypeName(signature.inputs[i].type),
                                               signature.inputs[i].shape.ToString(), model));
    }
  }

  std::vector<std::string> outputs;
  if (request.outputs.empty()) {
    for (const auto& spec : signature.outputs) outputs.push_back(spec.name);
    return outputs;
  }
  for (const core::RequestedOutput& wanted : request.outputs) {
    auto it = std::find_if(signature.outputs.begin(), signature.outputs.end(),
                           [&](const core::TensorSpec& s) { return s.name == wanted.name; });
    if (it == signature.outputs.end()) {
      return core::InvalidArgument(fmt::format("model '{}' has no output '{}' (its outputs: {})", model, wanted.name,
                                               Names(signature.outputs)));
    }
    if (std::find(outputs.begin(), outputs.end(), wanted.name) != outputs.end()) {
      return core::InvalidArgument(fmt::format("output '{}' is requested twice", wanted.name));
    }
    outputs.push_back(wanted.name);
  }
  return outputs;
}

}  // namespace ferry::routing
