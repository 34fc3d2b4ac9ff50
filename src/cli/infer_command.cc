#include "cli/infer_command.h"

#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/client_security.h"
#include "cli/grpc_module.h"
#include "cli/in_process.h"
#include "cli/http_client.h"
#include "core/json_writer.h"
#include "protocol/v2_json.h"

namespace ferry::cli {
namespace {

struct InferOptions {
  std::string url;
  std::string model;
  std::int64_t version = 0;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::string id;
  bool grpc = false;
  bool binary = false;
  ClientSecurity security;
  std::string repository;  // set: served in this process, no server needed
};

// name:DTYPE:shape:values -> one JSON input object. Shape "1,8" or "[1,8]"; values comma-separated
// (strings for BYTES, true/false for BOOL, numbers otherwise).
core::Result<std::string> InputSpecToJson(const std::string_view whole) {
  std::string_view parts[4];
  std::string_view spec = whole;
  for (int i = 0; i < 3; ++i) {
    const auto colon = spec.find(':');
    if (colon == std::string_view::npos) {
      return core::InvalidArgument(fmt::format(
          "--input '{}' has {} of the 4 parts name:DTYPE:shape:values (e.g. x:FP32:1,2:0.5,1.5), or give @file.json",
          whole, i + 1));
    }
    parts[i] = spec.substr(0, colon);
    spec.remove_prefix(colon + 1);
  }
  parts[3] = spec;
  std::string shape(parts[2]);
  if (!shape.starts_with('[')) shape = "[" + shape + "]";
  std::string json;
  core::JsonWriter w(json);
  w.BeginObject();
  w.Key("name");
  w.String(parts[0]);
  w.Key("datatype");
  w.String(parts[1]);
  w.Key("shape");
  json += shape;
  json += R"(,"data":[)";
  std::string_view values = parts[3];
  bool first = true;
  while (!values.empty() || !first) {
    const auto comma = values.find(',');
    const auto value = values.substr(0, comma);
    if (!first) json += ',';
    if (parts[1] == "BYTES") {
      std::string quoted;
      core::JsonWriter(quoted).String(value);
      json += quoted;
    } else {
      json += value;
    }
    first = false;
    if (comma == std::string_view::npos) break;
    values.remove_prefix(comma + 1);
  }
  json += "]}";
  return json;
}

core::Result<core::InferenceRequest> BuildRequest(const InferOptions& options) {
  FERRY_ASSIGN_OR_RETURN(auto request, BuildInferRequest(options.inputs, options.model, options.version));
  if (!options.id.empty()) request.id = options.id;
  for (const auto& name : options.outputs) request.outputs.push_back({.name = name, .parameters = {}});
  return request;
}

std::string InferTarget(const core::InferenceRequest& request) {
  std::string target = "/v2/models/" + request.model_name;
  if (request.model_version > 0) target += "/versions/" + std::to_string(request.model_version);
  return target + "/infer";
}

// The repository loaded in this process, the request sent through the HTTP routes without a socket.
core::Result<core::InferenceResponse> InferInProcess(const InferOptions& options,
                                                     const core::InferenceRequest& request) {
  FERRY_ASSIGN_OR_RETURN(auto server, OpenRepository(options.repository, std::chrono::minutes(5)));
  std::string body;
  protocol::EncodeInferRequest(request, false, false, body);
  const http::HttpReply answer = http::HandleRequestAndWait(*server, http::Method::kPost, InferTarget(request), body);
  if (answer.status != 200) {
    return core::MakeError(core::ErrorCode::kInvalidArgument, fmt::format("HTTP {}: {}", answer.status, answer.body));
  }
  return protocol::DecodeInferResponse(answer.body, {});
}

core::Result<core::InferenceResponse> InferOverHttp(const InferOptions& options, const core::InferenceRequest& request) {
  FERRY_ASSIGN_OR_RETURN(auto address, ParseServerAddress(options.url, 8000));
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (address.tls) {
    FERRY_ASSIGN_OR_RETURN(tls, MakeTlsContext(options.security));
  }
  FERRY_ASSIGN_OR_RETURN(auto client, HttpClient::Connect(address, std::move(tls)));
  std::string body;
  std::map<std::string, std::string> headers;
  FERRY_ASSIGN_OR_RETURN(const auto token, BearerToken(options.security));
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  if (auto header = protocol::EncodeInferRequest(request, options.binary, options.binary, body)) {
    headers["Inference-Header-Content-Length"] = std::to_string(*header);
  }
  FERRY_ASSIGN_OR_RETURN(auto answer, client->Send(true, InferTarget(request), body, headers));
  if (answer.status != 200) {
    return core::MakeError(core::ErrorCode::kInvalidArgument, fmt::format("HTTP {}: {}", answer.status, answer.body));
  }
  std::size_t json_size = answer.body.size();
  if (auto it = answer.headers.find("inference-header-content-length"); it != answer.headers.end()) {
    json_size = std::min<std::size_t>(std::stoull(it->second), answer.body.size());
  }
  return protocol::DecodeInferResponse(
      std::string_view(answer.body).substr(0, json_size),
      std::as_bytes(std::span(answer.body.data() + json_size, answer.body.size() - json_size)));
}

core::Result<core::InferenceResponse> InferOverGrpc(const InferOptions& options, const core::InferenceRequest& request) {
  FERRY_ASSIGN_OR_RETURN(auto address, ParseServerAddress(options.url, 8001));
  FERRY_ASSIGN_OR_RETURN(const GrpcModule* grpc, LoadGrpcModule());
  return grpc->infer(address, options.security, request);
}

int Infer(const InferOptions& options) {
  auto request = BuildRequest(options);
  if (!request) {
    fmt::print(stderr, "ferry infer: {}\n", request.error().message);
    return 2;
  }
  auto response = !options.repository.empty() ? InferInProcess(options, *request)
                  : options.grpc              ? InferOverGrpc(options, *request)
                                              : InferOverHttp(options, *request);
  if (!response) {
    fmt::print(stderr, "ferry infer: {}\n", response.error().message);
    return 1;
  }
  std::string out;
  protocol::EncodeInferResponse(*response, protocol::OutputFormat(), out);
  fmt::print("{}\n", out);
  return 0;
}

}  // namespace

core::Result<core::InferenceRequest> BuildInferRequest(const std::vector<std::string>& inputs,
                                                       const std::string& model, std::int64_t version) {
  std::string body;
  if (inputs.size() == 1 && inputs[0].starts_with('@')) {
    std::ifstream file(inputs[0].substr(1), std::ios::binary);
    if (!file) return core::InvalidArgument(fmt::format("cannot read {}", inputs[0].substr(1)));
    std::stringstream text;
    text << file.rdbuf();
    body = text.str();
  } else {
    body = R"({"inputs":[)";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      FERRY_ASSIGN_OR_RETURN(auto input, InputSpecToJson(inputs[i]));
      body += (i ? "," : "") + input;
    }
    body += "]}";
  }
  FERRY_ASSIGN_OR_RETURN(auto request, protocol::DecodeInferRequest(body));
  request.model_name = model;
  request.model_version = version;
  return request;
}

void AddInferCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InferOptions>();
  CLI::App* infer = app.add_subcommand("infer", "Send one inference request to a KServe V2 server (or to a model "
                                                "repository in this process) and print the answer");
  infer->add_option("--url", options->url,
                    "Server address: [http://|https://]host:port (default 127.0.0.1:8000, or :8001 with --grpc); "
                    "https:// is TLS, for HTTP and gRPC alike");
  infer->add_option("--model", options->model, "Model name")->required();
  infer->add_option("--model-version", options->version, "Model version (default: the server's choice)");
  infer->add_option("--input", options->inputs,
                    "An input as name:DTYPE:shape:values (e.g. features:FP32:1,8:6,148,72,35,0,33.6,0.627,50), "
                    "repeatable; or @request.json holding a V2 JSON request")
      ->required();
  infer->add_option("--output", options->outputs, "An output to return (repeatable; default: all)");
  infer->add_option("--id", options->id, "Request id, echoed in the answer");
  infer->add_flag("--grpc", options->grpc, "Use gRPC instead of HTTP");
  infer->add_flag("--binary", options->binary, "Over HTTP, send and receive tensors as binary data");
  infer->add_option("--model-repository", options->repository,
                    "Serve this model repository in this process and ask it (no server needed)")
      ->excludes("--url")
      ->excludes("--grpc");
  AddClientSecurityOptions(*infer, options->security);
  infer->callback([options, &exit_code] {
    if (options->url.empty()) options->url = options->grpc ? "127.0.0.1:8001" : "127.0.0.1:8000";
    exit_code = Infer(*options);
  });
}

}  // namespace ferry::cli
