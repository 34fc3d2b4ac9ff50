#include "routing/classification.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/data_type.h"
#include "core/tensor.h"

namespace ferry::routing {
namespace {

template <typename T>
std::string Format(T value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "1" : "0";
  } else if constexpr (std::is_floating_point_v<T>) {
    return fmt::format("{:f}", value);
  } else {
    return fmt::format("{}", value);
  }
}

// Each row's top `k` of `values` (rows x classes) as strings.
template <typename T, typename Read>
void TopK(std::size_t rows, std::size_t classes, std::size_t k, Read read, const std::vector<std::string>* labels,
          std::vector<std::string>& out) {
  std::vector<std::size_t> order(classes);
  for (std::size_t row = 0; row < rows; ++row) {
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t a, std::size_t b) {
                        const T x = read(row * classes + a), y = read(row * classes + b);
                        return x > y || (x == y && a < b);
                      });
    for (std::size_t i = 0; i < k; ++i) {
      const std::size_t index = order[i];
      std::string text = fmt::format("{}:{}", Format<T>(read(row * classes + index)), index);
      if (labels && index < labels->size()) {
        text += ':';
        text += (*labels)[index];
      }
      out.push_back(std::move(text));
    }
  }
}

template <typename T>
void TopKOf(const core::Tensor& t, std::size_t rows, std::size_t classes, std::size_t k,
            const std::vector<std::string>* labels, std::vector<std::string>& out) {
  const auto values = t.values<T>();
  TopK<T>(rows, classes, k, [&](std::size_t i) { return values[i]; }, labels, out);
}

core::Result<std::vector<std::string>> Classes(const core::Tensor& t, std::size_t rows, std::size_t classes,
                                               std::size_t k, const std::vector<std::string>* labels) {
  using core::DataType;
  std::vector<std::string> out;
  out.reserve(rows * k);
  switch (t.type()) {
    case DataType::kBool: TopKOf<bool>(t, rows, classes, k, labels, out); break;
    case DataType::kUint8: TopKOf<std::uint8_t>(t, rows, classes, k, labels, out); break;
    case DataType::kUint16: TopKOf<std::uint16_t>(t, rows, classes, k, labels, out); break;
    case DataType::kUint32: TopKOf<std::uint32_t>(t, rows, classes, k, labels, out); break;
    case DataType::kUint64: TopKOf<std::uint64_t>(t, rows, classes, k, labels, out); break;
    case DataType::kInt8: TopKOf<std::int8_t>(t, rows, classes, k, labels, out); break;
    case DataType::kInt16: TopKOf<std::int16_t>(t, rows, classes, k, labels, out); break;
    case DataType::kInt32: TopKOf<std::int32_t>(t, rows, classes, k, labels, out); break;
    case DataType::kInt64: TopKOf<std::int64_t>(t, rows, classes, k, labels, out); break;
    case DataType::kFp32: TopKOf<float>(t, rows, classes, k, labels, out); break;
    case DataType::kFp64: TopKOf<double>(t, rows, classes, k, labels, out); break;
    case DataType::kFp16: {
      const auto values = t.values<std::uint16_t>();
      TopK<float>(rows, classes, k, [&](std::size_t i) { return core::HalfToFloat(values[i]); }, labels, out);
      break;
    }
    case DataType::kBf16: {
      const auto values = t.values<std::uint16_t>();
      TopK<float>(rows, classes, k, [&](std::size_t i) { return core::Bf16ToFloat(values[i]); }, labels, out);
      break;
    }
    default:
      return core::InvalidArgument(fmt::format("output '{}' is {}: it cannot be classified", t.name(),
                                               core::DataTypeName(t.type())));
  }
  return out;
}

}  // namespace

core::Result<std::vector<ClassificationRequest>> ClassificationRequests(const core::InferenceRequest& request,
                                                                        const core::ModelSignature& signature) {
  std::vector<ClassificationRequest> wanted;
  for (const auto& output : request.outputs) {
    auto it = output.parameters.find("classification");
    if (it == output.parameters.end()) continue;
    const auto* count = std::get_if<std::int64_t>(&it->second);
    if (!count || *count < 1) {
      return core::InvalidArgument(fmt::format(
          "output '{}': 'classification' must be a positive integer (how many classes to return)", output.name));
    }
    auto spec = std::find_if(signature.outputs.begin(), signature.outputs.end(),
                             [&](const auto& s) { return s.name == output.name; });
    if (spec != signature.outputs.end() && spec->type == core::DataType::kBytes) {
      return core::InvalidArgument(fmt::format("output '{}' is BYTES: it cannot be classified", output.name));
    }
    wanted.push_back({output.name, *count});
  }
  return wanted;
}

core::Result<void> Classify(core::InferenceResponse& response, const std::vector<ClassificationRequest>& wanted,
                            bool batched, const ClassLabels& labels) {
  for (const auto& request : wanted) {
    auto tensor = std::find_if(response.outputs.begin(), response.outputs.end(),
                               [&](const core::Tensor& t) { return t.name() == request.output; });
    if (tensor == response.outputs.end()) continue;
    const auto dims = tensor->shape().dims();
    const std::size_t total = static_cast<std::size_t>(tensor->element_count());
    const std::size_t rows = batched && !dims.empty() ? static_cast<std::size_t>(dims[0]) : 1;
    const std::size_t classes = rows == 0 ? 0 : total / rows;
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(request.count), classes);
    const auto label_list = labels.find(request.output);
    FERRY_ASSIGN_OR_RETURN(auto strings, Classes(*tensor, rows, classes, k,
                                                 label_list == labels.end() ? nullptr : &label_list->second));
    std::size_t bytes = 0;
    for (const auto& s : strings) bytes += 4 + s.size();
    const core::Shape shape = batched ? core::Shape({static_cast<std::int64_t>(rows), static_cast<std::int64_t>(k)})
                                      : core::Shape({static_cast<std::int64_t>(k)});
    auto classified = core::Tensor::AllocateBytes(tensor->name(), core::DataType::kBytes, shape, bytes);
    std::byte* out = classified.bytes().data();
    for (const auto& s : strings) out += core::WriteBytesElement(out, s);
    *tensor = std::move(classified);
  }
  return {};
}

std::vector<std::string> ParseLabels(std::string_view text) {
  std::vector<std::string> labels;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    labels.emplace_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return labels;
}

}  // namespace ferry::routing
