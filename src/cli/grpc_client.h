// The gRPC side of `ferry infer` and `ferry bench`, in the gRPC module (cli/grpc_module.h): the
// program reaches these through GrpcModule, never directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/client_security.h"
#include "cli/load_generator.h"
#include "core/error.h"
#include "core/inference.h"

namespace ferry::cli::grpc_client {

// One ModelInfer call; a gRPC status is an error "gRPC <CODE>: <message>".
core::Result<core::InferenceResponse> Infer(const ServerAddress& address, const ClientSecurity& security,
                                            const core::InferenceRequest& request);

// The model's inputs as its ModelMetadata gives them.
core::Result<std::vector<core::TensorSpec>> ModelInputs(const LoadOptions& load, const std::string& model,
                                                        std::int64_t version);

// One load step (one channel a slot; see load_generator.h).
core::Result<LoadResult> RunLoad(const LoadOptions& options, const core::InferenceRequest& request);

}  // namespace ferry::cli::grpc_client
