// The embedding API (include/ferry/ferry.h) over runtime::Server: the public types are ferry's own
// value types, so that no internal or third-party header reaches a program that embeds ferry;
// this file converts between them (inputs are borrowed, not copied: core::Tensor::Borrow).
#include "ferry/ferry.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "backends/plugin.h"
#include "core/tensor.h"
#include "core/version.h"
#include "observe/logging.h"
#include "protocol/v2_json.h"
#include "runtime/server.h"
#include "server/http/http_routes.h"
#include "server/grpc/grpc_server.h"
#include "server/http/http_server.h"

namespace ferry {
namespace {

namespace fs = std::filesystem;

static_assert(static_cast<int>(DataType::kBytes) == static_cast<int>(core::DataType::kBytes) &&
                  static_cast<int>(DataType::kFp32) == static_cast<int>(core::DataType::kFp32) &&
                  static_cast<int>(DataType::kBool) == static_cast<int>(core::DataType::kBool),
              "ferry::DataType follows core::DataType");
static_assert(static_cast<int>(Status::Code::kDeadlineExceeded) ==
                  static_cast<int>(core::ErrorCode::kDeadlineExceeded) + 1,
              "ferry::Status::Code follows core::ErrorCode, after kOk");

Status FromError(const core::Error& e) {
  return {static_cast<Status::Code>(static_cast<int>(e.code) + 1), e.message};
}

Status FromHttp(const http::HttpReply& reply) {
  if (reply.status == 200) return Status::Ok();
  Status::Code code = Status::Code::kInternal;
  switch (reply.status) {
    case 400: code = Status::Code::kInvalidArgument; break;
    case 401: code = Status::Code::kUnauthenticated; break;
    case 403: code = Status::Code::kPermissionDenied; break;
    case 404: code = Status::Code::kNotFound; break;
    case 413: code = Status::Code::kPayloadTooLarge; break;
    case 422: code = Status::Code::kRejected; break;
    case 429: code = Status::Code::kResourceExhausted; break;
    case 501: code = Status::Code::kUnimplemented; break;
    case 503: code = Status::Code::kUnavailable; break;
    case 504: code = Status::Code::kDeadlineExceeded; break;
    default: break;
  }
  simdjson::dom::parser parser;
  std::string_view message;
  if (parser.parse(reply.body)["error"].get(message)) message = reply.body;
  return {code, std::string(message)};
}

// The plugins beside libferry.so: lib/ferry/backends where `make install` puts them, or backends/
// in a build tree (what the Python module of a build finds).
fs::path InstalledPluginDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&Version), &info) == 0 || !info.dli_fname) return {};
  const fs::path folder = fs::path(info.dli_fname).parent_path();
  for (const fs::path& beside : {folder / "ferry" / "backends", folder / "backends"}) {
    std::error_code ec;
    if (fs::is_directory(beside, ec)) return beside;
  }
  return {};
}

Status InitLog(const std::string& level) {
  if (auto existing = spdlog::get("ferry")) {  // a second Server in this process
    existing->set_level(spdlog::level::from_str(level));
    return Status::Ok();
  }
  if (auto made = observe::InitLogging(level); !made) return FromError(made.error());
  return Status::Ok();
}

}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", core::ErrorCodeName(static_cast<core::ErrorCode>(static_cast<int>(code_) - 1)),
                     message_);
}

std::string_view DataTypeName(DataType type) { return core::DataTypeName(static_cast<core::DataType>(type)); }

std::vector<std::string_view> Tensor::strings() const {
  std::vector<std::string_view> out;
  core::ForEachBytesElement(std::as_bytes(std::span(bytes_.data(), bytes_.size())),
                            [&](std::string_view element) { out.push_back(element); });
  return out;
}

const Tensor* InferResult::Output(std::string_view name) const {
  for (const auto& t : outputs) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

std::string_view Version() { return kFerryVersion; }

struct Server::Impl {
  std::unique_ptr<runtime::Server> server;
  std::unique_ptr<http::HttpServer> http;
  std::unique_ptr<grpc_frontend::GrpcServer> grpc;
  // Calls in flight, which the destructor waits for.
  std::mutex mutex;
  std::condition_variable idle;
  std::size_t in_flight = 0;

  http::HttpReply Call(http::Method method, const std::string& target, std::string_view body) {
    return http::HandleRequestAndWait(*server, method, target, body);
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  std::unique_lock lock(impl_->mutex);
  impl_->idle.wait(lock, [&] { return impl_->in_flight == 0; });
  lock.unlock();
  impl_->grpc.reset();
  impl_->http.reset();
  impl_->server.reset();
}

Status Server::Open(const Options& options, std::unique_ptr<Server>* server) {
  if (Status logged = InitLog(options.log_level); !logged.ok()) return logged;
  if (!options.backend_directory.empty()) {
    backends::SetPluginDirectory(options.backend_directory);
  } else if (const char* env = std::getenv("FERRY_BACKEND_DIRECTORY"); !env || !*env) {
    if (fs::path installed = InstalledPluginDirectory(); !installed.empty()) backends::SetPluginDirectory(installed);
  }
  auto impl = std::make_unique<Impl>();
  auto created = runtime::Server::Create(
      {.model_repository = options.model_repository,
       .model_control = options.explicit_model_control ? runtime::ControlMode::kExplicit : runtime::ControlMode::kNone,
       .request_decoder = [](std::string_view json) { return protocol::DecodeInferRequest(json); }});
  if (!created) return FromError(created.error());
  impl->server = std::move(*created);
  impl->server->WaitUntilReady(options.ready_timeout);
  if (options.http_port >= 0) {
    if (options.http_port > 65535) return {Status::Code::kInvalidArgument, "http_port must be at most 65535"};
    auto http = http::HttpServer::Create(
        {.host = options.http_host, .port = static_cast<std::uint16_t>(options.http_port), .threads = 1},
        *impl->server);
    if (!http) return FromError(http.error());
    impl->http = std::move(*http);
  }
  if (options.grpc_port >= 0) {
    if (options.grpc_port > 65535) return {Status::Code::kInvalidArgument, "grpc_port must be at most 65535"};
    auto grpc = grpc_frontend::GrpcServer::Create(
        {.host = options.grpc_host, .port = static_cast<std::uint16_t>(options.grpc_port)}, *impl->server);
    if (!grpc) return FromError(grpc.error());
    impl->grpc = std::move(*grpc);
  }
  server->reset(new Server(std::move(impl)));
  return Status::Ok();
}

bool Server::IsReady() const { return impl_->server->IsReady(); }
std::string Server::NotReadyReason() const { return impl_->server->NotReadyReason(); }
int Server::http_port() const { return impl_->http ? static_cast<int>(impl_->http->port()) : -1; }
int Server::grpc_port() const { return impl_->grpc ? static_cast<int>(impl_->grpc->port()) : -1; }

void Server::Infer(const InferRequest& request, InferDone done) {
  core::InferenceRequest call{.model_name = request.model, .model_version = request.version};
  call.inputs.reserve(request.inputs.size());
  for (const TensorView& view : request.inputs) {
    auto tensor = core::Tensor::Borrow(view.name, static_cast<core::DataType>(view.type), core::Shape(view.shape),
                                       std::span(static_cast<const std::byte*>(view.data), view.byte_size));
    if (!tensor) {
      done(FromError(tensor.error()), {});
      return;
    }
    call.inputs.push_back(std::move(*tensor));
  }
  for (const auto& name : request.outputs) call.outputs.push_back({.name = name, .parameters = {}});
  {
    std::lock_guard lock(impl_->mutex);
    ++impl_->in_flight;
  }
  impl_->server->Infer(std::move(call), [impl = impl_.get(), done = std::move(done)](
                                            core::Result<core::InferenceResponse> response) mutable {
    if (!response) {
      done(FromError(response.error()), {});
    } else {
      InferResult result{.model = std::move(response->model_name), .version = response->model_version, .outputs = {}};
      result.outputs.reserve(response->outputs.size());
      for (auto& t : response->outputs) {
        const auto bytes = t.bytes();
        result.outputs.emplace_back(t.name(), static_cast<DataType>(t.type()),
                                    std::vector<std::int64_t>(t.shape().dims().begin(), t.shape().dims().end()),
                                    std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      }
      done(Status::Ok(), std::move(result));
    }
    std::lock_guard lock(impl->mutex);
    if (--impl->in_flight == 0) impl->idle.notify_all();
  });
}

std::future<std::pair<Status, InferResult>> Server::InferAsync(const InferRequest& request) {
  auto promise = std::make_shared<std::promise<std::pair<Status, InferResult>>>();
  auto future = promise->get_future();
  Infer(request, [promise](Status status, InferResult result) {
    promise->set_value({std::move(status), std::move(result)});
  });
  return future;
}

Status Server::Infer(const InferRequest& request, InferResult* result) {
  auto [status, answer] = InferAsync(request).get();
  if (status.ok() && result) *result = std::move(answer);
  return status;
}

Status Server::Predict(std::string_view model, std::string_view records_json, std::string* predictions_json) {
  http::HttpReply reply = impl_->Call(http::Method::kPost, fmt::format("/v2/models/{}/predict", model), records_json);
  Status status = FromHttp(reply);
  if (predictions_json) *predictions_json = std::move(reply.body);
  return status;
}

Status Server::ModelMetadata(std::string_view model, std::string* json) {
  http::HttpReply reply = impl_->Call(http::Method::kGet, fmt::format("/v2/models/{}", model), {});
  Status status = FromHttp(reply);
  if (json) *json = std::move(reply.body);
  return status;
}

Status Server::Statistics(std::string_view model, std::string* json) {
  http::HttpReply reply = impl_->Call(
      http::Method::kGet, model.empty() ? std::string("/v2/models/stats") : fmt::format("/v2/models/{}/stats", model),
      {});
  Status status = FromHttp(reply);
  if (json) *json = std::move(reply.body);
  return status;
}

Status Server::Load(std::string_view model) {
  return FromHttp(impl_->Call(http::Method::kPost, fmt::format("/v2/repository/models/{}/load", model), {}));
}

Status Server::Unload(std::string_view model) {
  return FromHttp(impl_->Call(http::Method::kPost, fmt::format("/v2/repository/models/{}/unload", model), {}));
}

Status Server::Call(std::string_view method, std::string_view path, std::string_view body, std::string* answer) {
  const http::Method verb = http::MethodNamed(method);
  if (verb == http::Method::kOther) {
    return {Status::Code::kInvalidArgument, fmt::format("method '{}': GET, POST or PUT", method)};
  }
  if (!path.starts_with('/')) return {Status::Code::kInvalidArgument, fmt::format("path '{}' does not start with /", path)};
  http::HttpReply reply = impl_->Call(verb, std::string(path), body);
  Status status = FromHttp(reply);
  if (answer) *answer = std::move(reply.body);
  return status;
}

}  // namespace ferry
