#include "protocol/explain_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "core/json_writer.h"
#include "protocol/v2_json.h"

namespace ferry::protocol {
namespace {

using core::JsonWriter;

// The name an output column goes by: "probability", or "probability:2" for one of several
// columns or a column other than the first (a binary classifier's second class).
std::string ColumnName(const core::Explanation& e, const core::OutputContributions& o) {
  const bool several = std::count_if(e.outputs.begin(), e.outputs.end(),
                                     [&](const core::OutputContributions& x) { return x.output == o.output; }) > 1;
  return several || o.column != 0 ? fmt::format("{}:{}", o.output, o.column) : o.output;
}

// Opens an explained output's object: {"output": its column's name, "space": ...
void BeginOutput(const core::Explanation& e, const core::OutputContributions& o, JsonWriter& w) {
  w.BeginObject();
  w.Key("output");
  w.String(ColumnName(e, o));
  w.Key("space");
  w.String(o.space);
}

// {"base_value", "prediction", "contributions": {feature: value, ...}} of row r, the largest
// contributions first, the top_k of them (0: all).
void WriteRow(const core::Explanation& e, const core::OutputContributions& o, std::int64_t r, std::size_t top_k,
              JsonWriter& w) {
  const std::size_t width = e.features.size();
  const std::size_t shown = top_k == 0 ? width : std::min(top_k, width);
  const double* values = o.values.data() + static_cast<std::size_t>(r) * width;
  std::vector<std::size_t> order(width);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return std::abs(values[a]) > std::abs(values[b]); });
  w.BeginObject();
  w.Key("base_value");
  w.Number(o.base[static_cast<std::size_t>(r)]);
  w.Key("prediction");
  w.Number(e.Prediction(o, r));
  w.Key("contributions");
  w.BeginObject();
  for (std::size_t i = 0; i < shown; ++i) {
    w.Key(e.features[order[i]]);
    w.Number(values[order[i]]);
  }
  w.EndObject();
  if (!o.interactions.empty()) {  // features x features, in the order of "features"
    w.Key("interactions");
    w.BeginArray();
    const double* m = o.interactions.data() + static_cast<std::size_t>(r) * width * width;
    for (std::size_t i = 0; i < width; ++i) {
      w.BeginArray();
      for (std::size_t j = 0; j < width; ++j) w.Number(m[i * width + j]);
      w.EndArray();
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

core::Result<ExplainFormat> ExplainFormatOf(const core::Parameters& parameters) {
  ExplainFormat format;
  if (auto it = parameters.find("top_k"); it != parameters.end()) {
    const auto* k = std::get_if<std::int64_t>(&it->second);
    if (!k || *k < 0) return core::InvalidArgument("parameter 'top_k' must be an integer >= 0");
    format.top_k = static_cast<std::size_t>(*k);
  }
  if (auto it = parameters.find("format"); it != parameters.end()) {
    const auto* f = std::get_if<std::string>(&it->second);
    if (!f || (*f != "compact" && *f != "v2")) return core::InvalidArgument("parameter 'format' must be \"compact\" or \"v2\"");
    format.v2 = *f == "v2";
  }
  return format;
}

core::Result<core::InferenceResponse> ExplanationResponse(const core::Explanation& e) {
  core::InferenceResponse response{.model_name = e.model, .model_version = e.version, .id = {},
                                   .parameters = {{"method", e.method}}, .outputs = {}, .route = {}};
  if (!e.route.empty()) response.parameters.emplace("route", e.route);
  if (e.additivity_error >= 0) response.parameters.emplace("additivity_error", e.additivity_error);
  const auto width = static_cast<std::int64_t>(e.features.size());
  std::size_t bytes = 0;
  for (const auto& f : e.features) bytes += 4 + f.size();
  auto names = core::Tensor::AllocateBytes("feature_names", core::DataType::kBytes, core::Shape{width}, bytes);
  std::byte* at = names.bytes().data();
  for (const auto& f : e.features) {
    const auto length = static_cast<std::uint32_t>(f.size());
    std::memcpy(at, &length, 4);
    std::memcpy(at + 4, f.data(), f.size());
    at += 4 + f.size();
  }
  response.outputs.push_back(std::move(names));
  const auto add = [&](std::string name, core::Shape shape, std::span<const double> values) -> core::Result<void> {
    FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(std::move(name), core::DataType::kFp64, std::move(shape)));
    std::memcpy(t.bytes().data(), values.data(), values.size_bytes());
    response.outputs.push_back(std::move(t));
    return {};
  };
  for (const auto& o : e.outputs) {
    const std::string name = ColumnName(e, o);
    std::vector<double> predictions;
    for (std::int64_t r = 0; r < e.rows; ++r) predictions.push_back(e.Prediction(o, r));
    FERRY_RETURN_IF_ERROR(add(name + ".contributions", core::Shape{e.rows, width}, o.values));
    FERRY_RETURN_IF_ERROR(add(name + ".base_value", core::Shape{e.rows}, o.base));
    FERRY_RETURN_IF_ERROR(add(name + ".prediction", core::Shape{e.rows}, predictions));
    if (!o.interactions.empty()) {
      FERRY_RETURN_IF_ERROR(add(name + ".interactions", core::Shape{e.rows, width, width}, o.interactions));
    }
  }
  return response;
}

std::string EncodeExplanation(const core::Explanation& e, const ExplainFormat& format) {
  std::string out;
  if (format.v2) {
    auto response = ExplanationResponse(e);
    if (!response) return EncodeError(response.error().message);
    EncodeInferResponse(*response, OutputFormat(), out);
    return out;
  }
  JsonWriter w(out);
  w.BeginObject();
  w.Key("model_name");
  w.String(e.model);
  w.Key("model_version");
  w.String(std::to_string(e.version));
  w.Key("method");
  w.String(e.method);
  if (!e.route.empty()) {
    w.Key("route");
    w.String(e.route);
  }
  if (e.additivity_error >= 0) {
    w.Key("additivity_error");
    w.Number(e.additivity_error);
  }
  w.Key("features");
  w.BeginArray();
  for (const auto& f : e.features) w.String(f);
  w.EndArray();
  w.Key("explanations");
  WriteExplanations(e, format.top_k, w);
  w.EndObject();
  return out;
}

void WriteExplanations(const core::Explanation& e, std::size_t top_k, core::JsonWriter& w) {
  w.BeginArray();
  for (const auto& o : e.outputs) {
    BeginOutput(e, o, w);
    w.Key("rows");
    w.BeginArray();
    for (std::int64_t r = 0; r < e.rows; ++r) WriteRow(e, o, r, top_k, w);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

void WriteRowExplanation(const core::Explanation& e, std::int64_t row, std::size_t top_k, core::JsonWriter& w) {
  w.BeginArray();
  for (const auto& o : e.outputs) {
    BeginOutput(e, o, w);
    w.Key("method");
    w.String(e.method);
    w.Key("row");
    WriteRow(e, o, row, top_k, w);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace ferry::protocol
