// JSON of the model repository extension: the index, and the bodies of load and index requests.
#include <simdjson.h>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "protocol/v2_json.h"

namespace ferry::protocol {

using core::JsonWriter;

std::string EncodeRepositoryIndex(const std::vector<runtime::ModelStatus>& index, bool ready_only) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray();
  for (const auto& status : index) {
    if (ready_only && status.state != runtime::ModelState::kReady) continue;
    w.BeginObject();
    w.Key("name");
    w.String(status.name);
    if (status.version > 0) {
      w.Key("version");
      w.String(std::to_string(status.version));
    }
    w.Key("state");
    w.String(runtime::ModelStateName(status.state));
    w.Key("reason");
    w.String(status.reason);
    w.EndObject();
  }
  w.EndArray();
  return out;
}

core::Result<bool> DecodeIndexRequest(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return false;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root)) {
    return core::InvalidArgument(fmt::format("request body is not valid JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::element ready;
  if (root.get_object().error()) return core::InvalidArgument("request body must be a JSON object");
  if (root["ready"].get(ready)) return false;
  bool value = false;
  if (ready.get_bool().get(value)) return core::InvalidArgument("'ready' must be true or false");
  return value;
}

core::Result<std::optional<std::string>> DecodeLoadRequest(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::optional<std::string>();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root)) {
    return core::InvalidArgument(fmt::format("request body is not valid JSON: {}", simdjson::error_message(error)));
  }
  if (root.get_object().error()) return core::InvalidArgument("request body must be a JSON object");
  simdjson::dom::element parameters;
  if (root["parameters"].get(parameters)) return std::optional<std::string>();
  if (parameters.get_object().error()) return core::InvalidArgument("'parameters' must be an object");
  simdjson::dom::element config;
  if (parameters["config"].get(config)) return std::optional<std::string>();
  std::string_view text;
  if (config.get_string().get(text)) {
    return core::InvalidArgument("parameters.config must be a string holding the model's model.yaml (YAML or JSON)");
  }
  return std::optional<std::string>(std::string(text));
}

}  // namespace ferry::protocol
