#include "server/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <fmt/format.h>
#include <optional>

#include "core/file.h"
#include "routing/route_info.h"
#include "grpc_service.grpc.pb.h"
#include "protocol/explain_json.h"
#include "server/grpc/grpc_codec.h"
#include "server/grpc/grpc_health.h"
#include "server/grpc/grpc_stream.h"

namespace ferry::grpc_frontend {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

// Finishes a unary RPC at once with `status`.
ServerUnaryReactor* Done(CallbackServerContext* context, const grpc::Status& status = grpc::Status::OK) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}


// The model a load or unload names: Triton's proto has it at field 2 (`model_name`, field 1 being
// `repository_name`); KServe's grpc_predict_v2.proto at field 1. Field 2 when set, else field 1.
template <typename Request>
std::string RepositoryModelName(const Request& request) {
  return request.model_name().empty() ? request.repository_name() : request.model_name();
}

class Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  Service(runtime::Server& server, const core::RequestLimits& limits, const auth::TokenAuth* auth)
      : server_(server), limits_(limits), auth_(auth) {}

  ServerUnaryReactor* ServerLive(CallbackServerContext* context, const inference::ServerLiveRequest*,
                                 inference::ServerLiveResponse* response) override {
    response->set_live(server_.IsLive());
    return Done(context);
  }

  ServerUnaryReactor* ServerReady(CallbackServerContext* context, const inference::ServerReadyRequest*,
                                  inference::ServerReadyResponse* response) override {
    response->set_ready(server_.IsReady());
    return Done(context);
  }

  ServerUnaryReactor* ModelReady(CallbackServerContext* context, const inference::ModelReadyRequest* request,
                                 inference::ModelReadyResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kRead); !status.ok()) return Done(context, status);
    auto version = ParseVersion(request->version());
    if (!version) return Done(context, ToStatus(version.error()));
    auto ready = server_.IsModelReady(request->name(), *version);
    if (!ready) return Done(context, ToStatus(ready.error()));
    response->set_ready(*ready);
    return Done(context);
  }

  ServerUnaryReactor* ServerMetadata(CallbackServerContext* context, const inference::ServerMetadataRequest*,
                                     inference::ServerMetadataResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kRead); !status.ok()) return Done(context, status);
    const auto metadata = server_.Metadata();
    response->set_name(metadata.name);
    response->set_version(metadata.version);
    for (const auto& e : metadata.extensions) response->add_extensions(e);
    return Done(context);
  }

  ServerUnaryReactor* ModelMetadata(CallbackServerContext* context, const inference::ModelMetadataRequest* request,
                                    inference::ModelMetadataResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kRead); !status.ok()) return Done(context, status);
    auto version = ParseVersion(request->version());
    if (!version) return Done(context, ToStatus(version.error()));
    auto metadata = server_.GetModelMetadata(request->name(), *version);
    if (!metadata) return Done(context, ToStatus(metadata.error()));
    EncodeModelMetadata(*metadata, response);
    return Done(context);
  }

  // ModelInfer with the parameter ferry_explain = true: the rows' feature contributions
  // (docs/explain.md) as the v2 format's tensors, computed on the operations thread.
  ServerUnaryReactor* Explain(core::InferenceRequest request, const core::ParameterValue& flag,
                              ServerUnaryReactor* reactor, inference::ModelInferResponse* response) {
    if (const auto* on = std::get_if<bool>(&flag); !on || !*on) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "parameter 'ferry_explain' must be true"));
      return reactor;
    }
    request.parameters.erase("ferry_explain");
    if (server_.HasOwnExplain(request.model_name, request.model_version)) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                   "model '" + request.model_name + "' explains itself (a Python explain method): "
                                   "call POST /v2/models/" + request.model_name + "/explain over HTTP"));
      return reactor;
    }
    server_.Explain(std::move(request), [reactor, response](core::Result<core::Explanation> result) {
      if (!result) return reactor->Finish(ToStatus(result.error()));
      auto answer = protocol::ExplanationResponse(*result);
      if (!answer) return reactor->Finish(ToStatus(answer.error()));
      EncodeInferResponse(*answer, response);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  ServerUnaryReactor* ModelInfer(CallbackServerContext* context, const inference::ModelInferRequest* request,
                                 inference::ModelInferResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kInfer); !status.ok()) return Done(context, status);
    auto decoded = DecodeInferRequest(*request, limits_);
    if (!decoded) {
      const auto version = ParseVersion(request->model_version());
      return Done(context, ToStatus(version ? server_.RequestError(request->model_name(), *version, decoded.error())
                                            : decoded.error()));
    }
    ServerUnaryReactor* reactor = context->DefaultReactor();
    if (auto explain = decoded->parameters.find("ferry_explain"); explain != decoded->parameters.end()) {
      return Explain(std::move(*decoded), explain->second, reactor, response);
    }
    // Completed on the scheduler thread that ran the model; this thread returns at once. Which
    // servable answered travels as trailing metadata too (and in the response's parameters).
    const MetadataContext headers(*context);
    server_.Infer(std::move(*decoded), headers,
                  [reactor, response, context](core::Result<core::InferenceResponse> result) {
                    if (!result) return reactor->Finish(ToStatus(result.error()));
                    routing::RouteOf(*result).ForEachField([&](std::string_view key, std::string_view value) {
                      context->AddTrailingMetadata(std::string(key), std::string(value));
                    });
                    EncodeInferResponse(*result, response);
                    reactor->Finish(grpc::Status::OK);
                  });
    return reactor;
  }

  grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>* ModelStreamInfer(
      CallbackServerContext* context) override {
    if (auto status = Authorize(context, auth::Scope::kInfer); !status.ok()) return RefuseStream(status);
    return StartInferStream(server_, limits_, *context);
  }

  ServerUnaryReactor* ModelConfig(CallbackServerContext* context, const inference::ModelConfigRequest* request,
                                  inference::ModelConfigResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kRead); !status.ok()) return Done(context, status);
    auto version = ParseVersion(request->version());
    if (!version) return Done(context, ToStatus(version.error()));
    auto config = server_.GetModelConfig(request->name(), *version);
    if (!config) return Done(context, ToStatus(config.error()));
    EncodeModelConfig(*config, response->mutable_config());
    return Done(context);
  }

  ServerUnaryReactor* ModelStatistics(CallbackServerContext* context, const inference::ModelStatisticsRequest* request,
                                      inference::ModelStatisticsResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kRead); !status.ok()) return Done(context, status);
    auto version = ParseVersion(request->version());
    if (!version) return Done(context, ToStatus(version.error()));
    auto stats = server_.GetStatistics(request->name(), *version);
    if (!stats) return Done(context, ToStatus(stats.error()));
    EncodeStatistics(*stats, response);
    return Done(context);
  }

  ServerUnaryReactor* RepositoryIndex(CallbackServerContext* context, const inference::RepositoryIndexRequest* request,
                                      inference::RepositoryIndexResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kRead); !status.ok()) return Done(context, status);
    for (const auto& status : server_.RepositoryIndex()) {
      const bool ready = status.state == runtime::ModelState::kReady;
      if (request->ready() && !ready) continue;
      auto* entry = response->add_models();
      entry->set_name(status.name);
      if (status.version > 0) entry->set_version(std::to_string(status.version));
      entry->set_state(std::string(runtime::ModelStateName(status.state)));
      entry->set_reason(status.reason);
    }
    return Done(context);
  }

  ServerUnaryReactor* RepositoryModelLoad(CallbackServerContext* context,
                                          const inference::RepositoryModelLoadRequest* request,
                                          inference::RepositoryModelLoadResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kAdmin); !status.ok()) return Done(context, status);
    runtime::LoadRequest load;
    for (const auto& [key, value] : request->parameters()) {
      if (key == "config") {
        load.config = value.string_param();
      } else if (key.starts_with("file:")) {
        if (value.parameter_choice_case() != inference::ModelRepositoryParameter::kBytesParam) {
          return Done(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            fmt::format("parameter '{}' must be a bytes_param (the file)", key)));
        }
        load.files.push_back({key.substr(5), value.bytes_param()});
      }
    }
    ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string name = RepositoryModelName(*request);
    response->set_model_name(name);
    server_.LoadModel(std::move(name), std::move(load), [reactor, response](core::Result<void> result) {
      response->set_isloaded(result.has_value());
      reactor->Finish(result ? grpc::Status::OK : ToStatus(result.error()));
    });
    return reactor;
  }

  ServerUnaryReactor* RepositoryModelUnload(CallbackServerContext* context,
                                            const inference::RepositoryModelUnloadRequest* request,
                                            inference::RepositoryModelUnloadResponse* response) override {
    if (auto status = Authorize(context, auth::Scope::kAdmin); !status.ok()) return Done(context, status);
    ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string name = RepositoryModelName(*request);
    response->set_model_name(name);
    server_.UnloadModel(std::move(name), [reactor, response](core::Result<void> result) {
      response->set_isunloaded(result.has_value());
      reactor->Finish(result ? grpc::Status::OK : ToStatus(result.error()));
    });
    return reactor;
  }

 private:
  // The same tokens and scopes as over HTTP, from the `authorization` metadata key.
  grpc::Status Authorize(CallbackServerContext* context, auth::Scope needed) const {
    if (!auth_) return grpc::Status::OK;
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    const std::string_view value = it == metadata.end() ? std::string_view()
                                                        : std::string_view(it->second.data(), it->second.size());
    auto allowed = auth_->Check(value, needed);
    return allowed ? grpc::Status::OK : ToStatus(allowed.error());
  }

  runtime::Server& server_;
  const core::RequestLimits limits_;
  const auth::TokenAuth* auth_;
};

class Frontend final : public GrpcServer {
 public:
  Frontend(const Options& o, runtime::Server& s) : options(o), service(s, o.limits, o.auth) {}
  ~Frontend() override { Stop(); }

  std::uint16_t port() const override { return static_cast<std::uint16_t>(bound_port); }

  void Stop() override {
    if (stopped_ || !server) return;  // never started: Create failed before or at BuildAndStart
    stopped_ = true;
    if (health) health->Stop();  // null when Create gave up after BuildAndStart (no port bound)
    server->Shutdown(std::chrono::system_clock::now() + options.shutdown_grace);
    server->Wait();
  }

  Options options;
  Service service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<HealthPublisher> health;
  int bound_port = 0;

 private:
  bool stopped_ = false;
};

}  // namespace

core::Result<std::unique_ptr<GrpcServer>> GrpcServer::Create(const Options& options, runtime::Server& server) {
  auto impl = std::make_unique<Frontend>(options, server);
  grpc::ServerBuilder builder;
  const std::string address = options.host.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", options.host, options.port)
                                  : fmt::format("{}:{}", options.host, options.port);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert.empty()) {
    auto read = [](const std::string& path) -> std::optional<std::string> {
      auto text = core::ReadWholeFile(path);
      return text ? std::optional<std::string>(std::move(*text)) : std::nullopt;
    };
    auto cert = read(options.tls_cert), key = read(options.tls_key);
    if (!cert || !key) return core::InvalidArgument("--tls-cert / --tls-key cannot be read");
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!options.tls_client_ca.empty()) {
      auto ca = read(options.tls_client_ca);
      if (!ca) return core::InvalidArgument(fmt::format("--tls-client-ca {} cannot be read", options.tls_client_ca));
      ssl.pem_root_certs = *ca;
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(address, credentials, &impl->bound_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<std::size_t>(options.max_message_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(-1);
  builder.RegisterService(&impl->service);
  grpc::EnableDefaultHealthCheckService(true);  // grpc.health.v1.Health, statuses set below
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->bound_port == 0) {
    return core::Unavailable(fmt::format("cannot listen for gRPC on {}", address));
  }
  impl->health = std::make_unique<HealthPublisher>(*impl->server->GetHealthCheckService(), server);
  return std::unique_ptr<GrpcServer>(std::move(impl));
}

}  // namespace ferry::grpc_frontend
