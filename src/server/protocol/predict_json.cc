// The JSON of POST /v2/models/{m}/predict (docs/pipelines.md): records in, answers out.
#include <simdjson.h>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "server/protocol/predict_json.h"
#include "server/protocol/request_json.h"

namespace ferry::protocol {
namespace {

using core::JsonWriter;
using simdjson::dom::element;
using simdjson::dom::element_type;

pipeline::Value ToValue(element e) {
  using pipeline::Value;
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

pipeline::Record ToRecord(simdjson::dom::object object) {
  pipeline::Record record;
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
  if (object.size() == 1 && !object.at_key("instances").get(list) && list.is_array()) {
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

int EncodePredictResponse(const runtime::Prediction& prediction, bool instances, std::string& out) {
  using State = pipeline::RowStatus::State;
  const auto& frame = prediction.frame;
  if (!instances && frame.rows == 1 && frame.status[0].state == State::kRejected) {
    JsonWriter w(out);
    w.BeginObject();
    w.Key("error");
    w.String(frame.status[0].error);
    w.Key("step");
    w.String(frame.status[0].step);
    w.EndObject();
    return 422;
  }
  JsonWriter w(out);
  w.BeginObject();
  w.Key("predictions");
  w.BeginArray();
  std::size_t rejected = 0;
  std::vector<std::size_t> skipped;
  const pipeline::Pipeline::AnswerWriter answers(*prediction.pipeline, frame);
  for (std::size_t row = 0; row < frame.rows; ++row) {
    const auto& status = frame.status[row];
    if (status.state == State::kLive) {
      answers.Write(row, w);
    } else if (status.state == State::kRejected) {
      ++rejected;
      w.BeginObject();
      w.Key("error");
      w.String(status.error);
      w.Key("step");
      w.String(status.step);
      w.EndObject();
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
  return frame.rows > 0 && rejected == frame.rows ? 422 : 200;
}

}  // namespace ferry::protocol
