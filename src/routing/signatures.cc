#include "routing/signatures.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace ferry::routing {
namespace {

std::string Describe(const core::TensorSpec& spec) {
  return fmt::format("{} {}", core::DataTypeName(spec.type), spec.shape.ToString());
}

// The shape both fit, or nullopt.
std::optional<core::Shape> Merge(const core::Shape& a, const core::Shape& b) {
  if (a.rank() != b.rank()) return std::nullopt;
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < a.rank(); ++i) {
    if (a[i] == b[i]) {
      dims.push_back(a[i]);
    } else if (a[i] < 0 || b[i] < 0) {
      dims.push_back(-1);
    } else {
      return std::nullopt;
    }
  }
  return core::Shape(std::move(dims));
}

const core::TensorSpec* Find(const std::vector<core::TensorSpec>& specs, const std::string& name) {
  auto it = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
  return it == specs.end() ? nullptr : &*it;
}

}  // namespace

core::Result<core::ModelSignature> CommonSignature(
    const std::vector<std::pair<std::string, core::ModelSignature>>& routes) {
  if (routes.empty()) return core::ModelSignature{};
  const auto& [first_name, first] = routes.front();
  core::ModelSignature common = first;
  for (std::size_t r = 1; r < routes.size(); ++r) {
    const auto& [name, signature] = routes[r];
    for (auto& input : common.inputs) {
      const core::TensorSpec* other = Find(signature.inputs, input.name);
      if (!other) {
        return core::InvalidArgument(fmt::format("route '{}' takes input '{}' but route '{}' does not (it takes: {})",
                                                 first_name, input.name, name, [&] {
                                                   std::vector<std::string> names;
                                                   for (const auto& s : signature.inputs) names.push_back(s.name);
                                                   return fmt::format("{}", fmt::join(names, ", "));
                                                 }()));
      }
      auto shape = Merge(input.shape, other->shape);
      if (other->type != input.type || !shape) {
        return core::InvalidArgument(fmt::format("input '{}': route '{}' takes {}, route '{}' takes {}", input.name,
                                                 first_name, Describe(input), name, Describe(*other)));
      }
      input.shape = std::move(*shape);
    }
    for (const auto& input : signature.inputs) {
      if (!Find(common.inputs, input.name)) {
        return core::InvalidArgument(fmt::format("route '{}' takes input '{}' but route '{}' does not", name,
                                                 input.name, first_name));
      }
    }
    std::vector<core::TensorSpec> outputs;
    for (auto& output : common.outputs) {
      const core::TensorSpec* other = Find(signature.outputs, output.name);
      if (!other || other->type != output.type) continue;
      auto shape = Merge(output.shape, other->shape);
      if (!shape) shape = core::Shape(std::vector<std::int64_t>(output.shape.rank(), -1));
      if (output.shape.rank() != other->shape.rank()) continue;
      output.shape = std::move(*shape);
      outputs.push_back(std::move(output));
    }
    common.outputs = std::move(outputs);
  }
  if (common.outputs.empty() && !first.outputs.empty()) {
    std::vector<std::string> names;
    for (const auto& [name, _] : routes) names.push_back(name);
    return core::InvalidArgument(
        fmt::format("routes {} have no output in common (same name and datatype)", fmt::join(names, ", ")));
  }
  return common;
}

}  // namespace ferry::routing
