// JSON of the model repository extension: the index, and the bodies of load and index requests.
#include <openssl/evp.h>
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

namespace {

// Standard base64 (RFC 4648, with padding), as tritonclient sends file contents.
core::Result<std::string> DecodeBase64(std::string_view text, std::string_view what) {
  auto bad = [&] { return core::InvalidArgument(fmt::format("{} must be the file's bytes in base64", what)); };
  if (text.size() % 4 != 0) return bad();
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return bad();
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

}  // namespace

core::Result<runtime::LoadRequest> DecodeLoadRequest(std::string_view body) {
  runtime::LoadRequest request;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return request;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root)) {
    return core::InvalidArgument(fmt::format("request body is not valid JSON: {}", simdjson::error_message(error)));
  }
  if (root.get_object().error()) return core::InvalidArgument("request body must be a JSON object");
  simdjson::dom::element parameters;
  if (root["parameters"].get(parameters)) return request;
  simdjson::dom::object entries;
  if (parameters.get_object().get(entries)) return core::InvalidArgument("'parameters' must be an object");
  for (auto [key, value] : entries) {
    std::string_view text;
    if (key == "config") {
      if (value.get_string().get(text)) {
        return core::InvalidArgument("parameters.config must be a string holding the model's configuration "
                                     "(model.yaml, YAML or JSON, or Triton's model configuration JSON)");
      }
      request.config = std::string(text);
    } else if (key.starts_with("file:")) {
      const std::string what = fmt::format("parameters.\"{}\"", key);
      if (value.get_string().get(text)) return core::InvalidArgument(fmt::format("{} must be a base64 string", what));
      FERRY_ASSIGN_OR_RETURN(auto content, DecodeBase64(text, what));
      request.files.push_back({std::string(key.substr(5)), std::move(content)});
    }
  }
  return request;
}

}  // namespace ferry::protocol
