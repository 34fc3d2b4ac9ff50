// The gRPC module's entry point (cli/grpc_module.h): built into libferry_grpc.so alone.
#include <absl/synchronization/mutex.h>

#include "cli/grpc_client.h"
#include "cli/grpc_module.h"
#include "core/version.h"

extern "C" __attribute__((visibility("default"))) const ferry::backends::BuildStamp* ferry_grpc_module() {
  static const ferry::cli::GrpcModule* module = [] {
    // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: every
    // lock gRPC takes updated a lock graph (GraphCycles): 18-20% of a gRPC request's CPU here.
    // Lock order is the tests' and the sanitizers' business, not each request's.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    static const ferry::cli::GrpcModule exports{
        .stamp = {ferry::cli::kGrpcModuleAbiVersion, FERRY_PLUGIN_BUILD_ID, ferry::kFerryVersion},
        .create_server = &ferry::grpc_frontend::GrpcServer::Create,
        .infer = &ferry::cli::grpc_client::Infer,
        .model_inputs = &ferry::cli::grpc_client::ModelInputs,
        .run_load = &ferry::cli::grpc_client::RunLoad,
    };
    return &exports;
  }();
  return &module->stamp;
}
