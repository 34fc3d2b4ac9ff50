// Conversions between the KServe V2 gRPC messages (proto/grpc_service.proto) and ferry's types:
// pure functions, safe from any thread. Decoding copies each input's data once into its tensor
// (typed `contents` element by element with range checks, or `raw_input_contents` through
// Tensor::FromRaw); encoding answers with `raw_output_contents`, as Triton does.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/status.h>

#include "core/error.h"
#include "core/inference.h"
#include "core/limits.h"
#include "grpc_service.pb.h"
#include "runtime/server.h"

namespace ferry::grpc_frontend {

// A call's client metadata as routers and monitoring read it (sticky keys, the override header,
// traceparent); gRPC keys are lower case already. Must not outlive the call's (or stream's) context.
class MetadataContext final : public routing::CallContext {
 public:
  explicit MetadataContext(const grpc::CallbackServerContext& context) : context_(context) {}
  std::optional<std::string_view> Header(std::string_view name) const override {
    const auto& metadata = context_.client_metadata();
    auto it = metadata.find(grpc::string_ref(name.data(), name.size()));
    if (it == metadata.end()) return std::nullopt;
    return std::string_view(it->second.data(), it->second.size());
  }
  std::string_view Protocol() const override { return "grpc"; }

 private:
  const grpc::CallbackServerContext& context_;
};

// The gRPC status for an Error: INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED,
// INTERNAL, ... with the same message as over HTTP.
grpc::Status ToStatus(const core::Error& error);

// "" -> 0 (the model's policy chooses); otherwise a positive integer.
core::Result<std::int64_t> ParseVersion(const std::string& version);

core::Result<core::InferenceRequest> DecodeInferRequest(const inference::ModelInferRequest& request,
                                                        const core::RequestLimits& limits = {});
void EncodeInferResponse(const core::InferenceResponse& response, inference::ModelInferResponse* out);

// Client side (ferry infer, ferry bench): every input as raw_input_contents; and back.
void EncodeInferRequest(const core::InferenceRequest& request, inference::ModelInferRequest* out);
core::Result<core::InferenceResponse> DecodeInferResponse(const inference::ModelInferResponse& response);

void EncodeModelMetadata(const runtime::ModelMetadata& metadata, inference::ModelMetadataResponse* out);
void EncodeModelConfig(const runtime::ModelConfiguration& config, inference::ModelConfig* out);
void EncodeStatistics(const std::vector<runtime::VersionStatistics>& stats, inference::ModelStatisticsResponse* out);

}  // namespace ferry::grpc_frontend
