// The bare gRPC probe of bench/hot_path.sh: the KServe V2 service on gRPC's callback API, as
// ferry's frontend serves it, answering ModelMetadata with the Pima model's signature and
// ModelInfer with a fixed response, doing no other work. The ceiling against which ferry's gRPC
// throughput is quoted.
//
//   ferry_bench_bare_grpc PORT      (127.0.0.1 only; prints "listening on PORT")
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "grpc_service.grpc.pb.h"

namespace {

class BareService final : public inference::GRPCInferenceService::CallbackService {
 public:
  BareService() {
    auto* probability = answer_.add_outputs();
    probability->set_name("probability");
    probability->set_datatype("FP32");
    probability->add_shape(1);
    probability->add_shape(1);
    probability->mutable_contents()->add_fp32_contents(0.72172713f);
    auto* label = answer_.add_outputs();
    label->set_name("label");
    label->set_datatype("INT64");
    label->add_shape(1);
    label->add_shape(1);
    label->mutable_contents()->add_int64_contents(1);
    answer_.set_model_name("pima");
    answer_.set_model_version("1");
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override {
    response->set_name(request->name());
    auto* input = response->add_inputs();
    input->set_name("features");
    input->set_datatype("FP32");
    input->add_shape(-1);
    input->add_shape(8);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context, const inference::ModelInferRequest*,
                                       inference::ModelInferResponse* response) override {
    *response = answer_;
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  inference::ModelInferResponse answer_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as ferry does (src/cli/main.cc)
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  BareService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(-1);
  auto server = builder.BuildAndStart();
  if (!server) return 1;
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  server->Wait();
}
