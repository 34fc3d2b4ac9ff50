#include "cli/grpc_module.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;

fs::path GrpcModuleFile() {
  return backends::LocateInstalled("FERRY_GRPC_MODULE", "libferry_grpc.so", "lib/ferry/libferry_grpc.so");
}

}  // namespace

core::Result<const GrpcModule*> LoadGrpcModule() {
  static std::mutex mutex;
  static const GrpcModule* loaded = nullptr;
  std::lock_guard lock(mutex);
  if (loaded) return loaded;
  const fs::path file = GrpcModuleFile();
  FERRY_ASSIGN_OR_RETURN(const void* entry,
                         backends::OpenFerryLibrary(file, RTLD_NOW | RTLD_LOCAL, "ferry_grpc_module",
                                                    kGrpcModuleAbiVersion, "the gRPC module",
                                                    "this ferry was built or packaged without gRPC"));
  loaded = static_cast<const GrpcModule*>(entry);
  spdlog::debug("gRPC module loaded from {}", file.string());
  return loaded;
}

}  // namespace ferry::cli
