// The JSON of POST /v2/models/{m}/predict (docs/pipelines.md): records in, answers out.
#include <simdjson.h>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "protocol/predict_json.h"
#include "protocol/request_json.h"

namespace ferry::protocol {
namespace {

using core::JsonWriter;
using simdjson::dom::element;
using simdjson::dom::element_type;

core::Value ToValue(element e) {
  using core::Value;
  switch (e.type()) {
    case element_type::NULL_VALUE: return Value::Null();
    case element_type::BOOL: return Value::Bool(e.get_bool().value_unsafe());
    case element_type::INT64: return Value::Number(static_cast<double>(e.get_int64().value_unsafe()));
    case element_type::UINT64: return Value::Number(static_cast<double>(e.get_uint64().value_unsafe()));
    case element_type::DOUBLE: return Value::Number(e.get_double().value_unsafe());
    case element_type::STRING: return Value::String(std::string(e.get_string().value_unsafe()));
    case element_type::ARRAY: {
      Value v{.kind = Value::Kind::kArray};
      const simdjson::dom::array items = e.get_array().value_unsafe();
      for (element item : items) {
        double d = 0;
        if (item.get_double().get(d)) {  // not a number (get_double converts integers)
          v.numeric_array = false;
          v.array.clear();
          break;
        }
        v.array.push_back(d);
      }
      return v;
    }
    case element_type::OBJECT: return Value{.kind = Value::Kind::kObject};
  }
  return Value::Null();
}

core::Record ToRecord(simdjson::dom::object object) {
  core::Record record;
  record.fields.reserve(object.size());
  for (auto field : object) {
    record.fields.push_back({std::string(field.key), ToValue(field.value)});
  }
  return record;
}

}  // namespace

core::Result<PredictRequest> DecodePredictRequest(std::string_view json, const core::RequestLimits& limits) {
  FERRY_ASSIGN_OR_RETURN(const element root, ParseRequestJson(json, limits));
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    return core::InvalidArgument("request body must be a JSON object: a record, or {\"instances\": [records]}");
  }
  PredictRequest request;
  element list;
  element parameters;
  const bool has_parameters = object.size() == 2 && !object.at_key("parameters").get(parameters);
  if ((object.size() == 1 || has_parameters) && !object.at_key("instances").get(list) && list.is_array()) {
    if (has_parameters) {
      FERRY_ASSIGN_OR_RETURN(request.parameters, DecodeParameters(parameters, ""));
    }
    const simdjson::dom::array instances = list.get_array().value_unsafe();
    request.instances = true;
    request.records.reserve(instances.size());
    std::size_t index = 0;
    for (element item : instances) {
      simdjson::dom::object record;
      if (item.get_object().get(record)) {
        return core::InvalidArgument(fmt::format("instances[{}] must be a JSON object (a record)", index));
      }
      request.records.push_back(ToRecord(record));
      ++index;
    }
    return request;
  }
  request.records.push_back(ToRecord(object));
  return request;
}

namespace {

// {"error": first problem, "step": ..., "errors": [{"field", "reason"}...] when input checks found
// several or one}.
void WriteRejection(const routing::Predictions::Outcome& outcome, JsonWriter& w) {
  w.BeginObject();
  w.Key("error");
  w.String(outcome.error);
  w.Key("step");
  w.String(outcome.step);
  if (!outcome.problems.empty()) {
    w.Key("errors");
    w.BeginArray();
    for (const auto& problem : outcome.problems) {
      w.BeginObject();
      w.Key("field");
      w.String(problem.field);
      w.Key("reason");
      w.String(problem.reason);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

int EncodePredictResponse(const routing::Predictions& predictions, bool instances, std::string& out) {
  using State = routing::Predictions::State;
  const std::size_t rows = predictions.size();
  if (!instances && rows == 1 && predictions.state(0) == State::kRejected) {
    JsonWriter w(out);
    WriteRejection(predictions.outcome(0), w);
    return 422;
  }
  JsonWriter w(out);
  w.BeginObject();
  w.Key("predictions");
  w.BeginArray();
  std::size_t rejected = 0;
  std::vector<std::size_t> skipped;
  for (std::size_t row = 0; row < rows; ++row) {
    const auto& outcome = predictions.outcome(row);
    if (outcome.state == State::kAnswered) {
      predictions.WriteAnswer(row, w);
    } else if (outcome.state == State::kRejected) {
      ++rejected;
      WriteRejection(outcome, w);
    } else {
      skipped.push_back(row);
    }
  }
  w.EndArray();
  if (!skipped.empty()) {
    w.Key("skipped");
    w.BeginArray();
    for (auto row : skipped) w.Number(static_cast<std::uint64_t>(row));
    w.EndArray();
  }
  w.EndObject();
  return rows > 0 && rejected == rows ? 422 : 200;
}

}  // namespace ferry::protocol
