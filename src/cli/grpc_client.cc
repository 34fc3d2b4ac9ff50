#include "cli/grpc_client.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iterator>

#include "cli/load_recorder.h"
#include "core/file.h"
#include "grpc_service.grpc.pb.h"
#include "server/grpc/grpc_codec.h"

namespace ferry::cli::grpc_client {
namespace {

// Channel credentials: TLS with --ca / --cert / --key when `tls`, else insecure.
core::Result<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const ClientSecurity& security, bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  if (!security.ca.empty()) {
    FERRY_ASSIGN_OR_RETURN(options.pem_root_certs, core::ReadWholeFile(security.ca, "--ca"));
  }
  if (!security.cert.empty()) {
    FERRY_ASSIGN_OR_RETURN(options.pem_cert_chain, core::ReadWholeFile(security.cert, "--cert"));
    FERRY_ASSIGN_OR_RETURN(options.pem_private_key, core::ReadWholeFile(security.key, "--key"));
  }
  return grpc::SslCredentials(options);
}

std::string StatusText(const grpc::Status& status) {
  static constexpr const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                           "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                           "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const auto code = static_cast<std::size_t>(status.error_code());
  return fmt::format("gRPC {}: {}", code < std::size(kNames) ? kNames[code] : "status", status.error_message());
}

}  // namespace

core::Result<core::InferenceResponse> Infer(const ServerAddress& address, const ClientSecurity& security,
                                            const core::InferenceRequest& request) {
  FERRY_ASSIGN_OR_RETURN(auto credentials, Credentials(security, address.tls));
  FERRY_ASSIGN_OR_RETURN(const auto token, BearerToken(security));
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(fmt::format("{}:{}", address.host, address.port), credentials, arguments);
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  inference::ModelInferRequest message;
  grpc_frontend::EncodeInferRequest(request, &message);
  inference::ModelInferResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  const grpc::Status status = stub->ModelInfer(&context, message, &response);
  if (!status.ok()) return core::MakeError(core::ErrorCode::kInvalidArgument, StatusText(status));
  return grpc_frontend::DecodeInferResponse(response);
}

core::Result<std::vector<core::TensorSpec>> ModelInputs(const LoadOptions& load, const std::string& model,
                                                        std::int64_t version) {
  FERRY_ASSIGN_OR_RETURN(auto credentials, Credentials(load.security, load.tls));
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(fmt::format("{}:{}", load.host, load.port), credentials));
  inference::ModelMetadataRequest request;
  request.set_name(model);
  if (version > 0) request.set_version(std::to_string(version));
  inference::ModelMetadataResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!load.token.empty()) context.AddMetadata("authorization", "Bearer " + load.token);
  auto status = stub->ModelMetadata(&context, request, &response);
  if (!status.ok()) return core::Unavailable("model metadata: " + status.error_message());
  std::vector<core::TensorSpec> specs;
  for (const auto& input : response.inputs()) {
    auto type = core::ParseDataType(input.datatype());
    if (!type) return core::InvalidArgument("model metadata names datatype " + input.datatype());
    specs.push_back({input.name(), *type, core::Shape(std::vector<std::int64_t>(input.shape().begin(), input.shape().end()))});
  }
  return specs;
}

core::Result<LoadResult> RunLoad(const LoadOptions& options, const core::InferenceRequest& request) {
  FERRY_ASSIGN_OR_RETURN(auto credentials, Credentials(options.security, options.tls));
  inference::ModelInferRequest message;
  grpc_frontend::EncodeInferRequest(request, &message);
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::vector<std::unique_ptr<inference::GRPCInferenceService::Stub>> stubs;
  for (int i = 0; i < options.concurrency; ++i) {
    arguments.SetInt("ferry.slot", i);
    stubs.push_back(inference::GRPCInferenceService::NewStub(grpc::CreateCustomChannel(
        fmt::format("{}:{}", options.host, options.port),
        credentials, arguments)));
  }
  std::size_t next_stub = 0;
  grpc::CompletionQueue queue;

  struct Call {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status status;
    LoadClock::time_point sent;
    std::unique_ptr<grpc::ClientAsyncResponseReader<inference::ModelInferResponse>> reader;
    grpc::Alarm alarm;     // open loop: fires when the request is due
    bool waiting = false;  // the next completion of this call's tag is its alarm
  };
  Pacer pacer{.t0 = LoadClock::now(), .interval = Interval(options.request_rate)};
  auto send = [&](std::unique_ptr<Call>& call, LoadClock::time_point due) {
    call->waiting = false;
    call->sent = due;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!options.token.empty()) call->context.AddMetadata("authorization", "Bearer " + options.token);
    call->reader = stubs[next_stub++ % stubs.size()]->PrepareAsyncModelInfer(&call->context, message, &queue);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call.get());
  };
  auto start_call = [&](std::unique_ptr<Call>& call) {
    call = std::make_unique<Call>();
    if (!pacer.active()) return send(call, LoadClock::now());
    const auto due = pacer.Take();
    if (due <= LoadClock::now()) return send(call, due);
    call->waiting = true;
    call->sent = due;
    call->alarm.Set(&queue, std::chrono::system_clock::now() + (due - LoadClock::now()), call.get());
  };

  const auto start = LoadClock::now() + options.warmup;
  Recorder recorder(start, start + options.duration);
  std::vector<std::unique_ptr<Call>> calls(static_cast<std::size_t>(options.concurrency));
  for (auto& call : calls) start_call(call);
  int running = options.concurrency;
  void* tag = nullptr;
  bool ok = false;
  while (running > 0 && queue.Next(&tag, &ok)) {
    auto it = std::find_if(calls.begin(), calls.end(), [&](const auto& c) { return c.get() == tag; });
    Call& call = **it;
    if (call.waiting) {  // its alarm: the request is due now; a late alarm is the client's own delay
      send(*it, LoadClock::now());
      continue;
    }
    const bool success = ok && call.status.ok();
    if (recorder.Record(call.sent, LoadClock::now(), success, call.status.error_message())) {
      start_call(*it);
    } else {
      --running;
    }
  }
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  auto result = recorder.Finish(options.concurrency);
  result.request_rate = options.request_rate;
  return result;
}

}  // namespace ferry::cli::grpc_client
