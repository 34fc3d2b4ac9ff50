// Fuzz target: the gRPC request-to-tensor conversion. The input is a serialized
// inference.ModelInferRequest, as gRPC hands it to the server.
#include <cstddef>
#include <cstdint>

#include <google/protobuf/stubs/logging.h>

#include "grpc_service.pb.h"
#include "server/grpc/grpc_codec.h"

// Protobuf logs every string field that is not UTF-8; quiet, so that the fuzzer runs at speed.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  inference::ModelInferRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  ferry::core::RequestLimits limits;
  limits.max_tensor_elements = 1 << 20;
  (void)ferry::grpc_frontend::ParseVersion(request.model_version());
  (void)ferry::grpc_frontend::DecodeInferRequest(request, limits);
  return 0;
}
