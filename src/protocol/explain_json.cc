#include "protocol/explain_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/json_writer.h"

namespace ferry::protocol {
namespace {

using core::JsonWriter;

// The name an output column goes by: "probability", or "probability:2" for one of several columns.
std::string ColumnName(const core::Explanation& e, const core::OutputContributions& o) {
  const bool several = std::count_if(e.outputs.begin(), e.outputs.end(),
                                     [&](const core::OutputContributions& x) { return x.output == o.output; }) > 1;
  return several ? fmt::format("{}:{}", o.output, o.column) : o.output;
}

void WriteTensor(JsonWriter& w, std::string_view name, std::int64_t rows, std::int64_t columns,
                 const std::vector<double>& data) {
  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.Key("datatype");
  w.String("FP64");
  w.Key("shape");
  w.BeginArray();
  w.Number(rows);
  if (columns >= 0) w.Number(columns);
  w.EndArray();
  w.Key("data");
  w.BeginArray();
  for (double v : data) w.Number(v);
  w.EndArray();
  w.EndObject();
}

}  // namespace

core::Result<ExplainFormat> ExplainFormatOf(const core::InferenceRequest& request) {
  ExplainFormat format;
  if (auto it = request.parameters.find("top_k"); it != request.parameters.end()) {
    const auto* k = std::get_if<std::int64_t>(&it->second);
    if (!k || *k < 0) return core::InvalidArgument("parameter 'top_k' must be an integer >= 0");
    format.top_k = static_cast<std::size_t>(*k);
  }
  if (auto it = request.parameters.find("format"); it != request.parameters.end()) {
    const auto* f = std::get_if<std::string>(&it->second);
    if (!f || (*f != "compact" && *f != "v2")) return core::InvalidArgument("parameter 'format' must be \"compact\" or \"v2\"");
    format.v2 = *f == "v2";
  }
  return format;
}

std::string EncodeExplanation(const core::Explanation& e, std::string_view model, std::int64_t version,
                              const ExplainFormat& format) {
  std::string out;
  JsonWriter w(out);
  const std::size_t width = e.features.size();
  w.BeginObject();
  w.Key("model_name");
  w.String(model);
  w.Key("model_version");
  w.String(std::to_string(version));
  if (format.v2) {
    w.Key("parameters");
    w.BeginObject();
    w.Key("method");
    w.String(e.method);
    w.EndObject();
    w.Key("outputs");
    w.BeginArray();
    w.BeginObject();
    w.Key("name");
    w.String("feature_names");
    w.Key("datatype");
    w.String("BYTES");
    w.Key("shape");
    w.BeginArray();
    w.Number(width);
    w.EndArray();
    w.Key("data");
    w.BeginArray();
    for (const auto& f : e.features) w.String(f);
    w.EndArray();
    w.EndObject();
    for (const auto& o : e.outputs) {
      const std::string name = ColumnName(e, o);
      std::vector<double> predictions;
      for (std::int64_t r = 0; r < e.rows; ++r) predictions.push_back(e.Prediction(o, r));
      WriteTensor(w, name + ".contributions", e.rows, static_cast<std::int64_t>(width), o.values);
      WriteTensor(w, name + ".base_value", e.rows, -1, o.base);
      WriteTensor(w, name + ".prediction", e.rows, -1, predictions);
    }
    w.EndArray();
    w.EndObject();
    return out;
  }
  w.Key("method");
  w.String(e.method);
  w.Key("features");
  w.BeginArray();
  for (const auto& f : e.features) w.String(f);
  w.EndArray();
  w.Key("explanations");
  w.BeginArray();
  std::vector<std::size_t> order(width);
  const std::size_t shown = format.top_k == 0 ? width : std::min(format.top_k, width);
  for (const auto& o : e.outputs) {
    w.BeginObject();
    w.Key("output");
    w.String(ColumnName(e, o));
    w.Key("space");
    w.String(o.space);
    w.Key("rows");
    w.BeginArray();
    for (std::int64_t r = 0; r < e.rows; ++r) {
      const double* values = o.values.data() + static_cast<std::size_t>(r) * width;
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
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace ferry::protocol
