// The gRPC module: what the `ferry` program does over gRPC -- the KServe V2 gRPC frontend
// (server/grpc) and the gRPC side of `ferry infer` and `ferry bench` -- built as a shared library,
// libferry_grpc.so, and opened the first time one of them is used: `ferry serve` with a gRPC port
// (the default), `ferry infer --grpc`, `ferry bench --protocol grpc`. gRPC, protobuf and Abseil,
// whose symbol relocations were two thirds of the program's start, load only then: `ferry
// --version`, `ferry serve --grpc-port 0`, `ferry publish` never map them.
//
// Unlike a backend plugin the module carries no copy of ferry: its references to ferry's code bind
// to the program's, which exports its ferry symbols for it (cmake/ferry-exports.list), so there is
// one runtime::Server, one logger, one plugin registry. It must come from the same build as the
// program (checked: BuildStamp). libferry (the embedding library) links the frontend in and does
// not use the module.
//
// Where it is looked for: $FERRY_GRPC_MODULE (the file), else libferry_grpc.so beside the
// executable (the build tree), else ../lib/ferry/libferry_grpc.so from it (an installed tree).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/plugin.h"
#include "cli/client_security.h"
#include "cli/load_generator.h"
#include "core/error.h"
#include "core/inference.h"
#include "server/grpc/grpc_server.h"

namespace ferry::cli {

// Bumped whenever GrpcModule or the meaning of an entry changes.
inline constexpr int kGrpcModuleAbiVersion = 1;

struct GrpcModule {
  backends::BuildStamp stamp;
  // grpc_frontend::GrpcServer::Create.
  core::Result<std::unique_ptr<grpc_frontend::GrpcServer>> (*create_server)(
      const grpc_frontend::GrpcServer::Options& options, runtime::Server& server);
  // One ModelInfer call to `address` (`ferry infer --grpc`).
  core::Result<core::InferenceResponse> (*infer)(const ServerAddress& address, const ClientSecurity& security,
                                                 const core::InferenceRequest& request);
  // The model's inputs as its ModelMetadata gives them (`ferry bench`).
  core::Result<std::vector<core::TensorSpec>> (*model_inputs)(const LoadOptions& load, const std::string& model,
                                                              std::int64_t version);
  // One load step over gRPC (RunLoad with options.grpc).
  core::Result<LoadResult> (*run_load)(const LoadOptions& options, const core::InferenceRequest& request);
};

// Opens the module the first time, then returns the same. A missing, unloadable or mismatched
// file is an Unavailable error naming the file (a later call tries again).
core::Result<const GrpcModule*> LoadGrpcModule();

}  // namespace ferry::cli
