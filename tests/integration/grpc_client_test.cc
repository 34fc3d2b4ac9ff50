// A C++ gRPC client (stubs generated from proto/) against ferry's gRPC frontend, served in-process
// on a loopback port over the example repository.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "grpc_service.grpc.pb.h"
#include "runtime/server.h"
#include "server/grpc/grpc_server.h"

#ifndef FERRY_SOURCE_DIR
#error "FERRY_SOURCE_DIR must name the source tree (for examples/models)"
#endif

namespace ferry {
namespace {

const float kRow[8] = {6, 148, 72, 35, 0, 33.6f, 0.627f, 50};
constexpr float kRowProbability = 0.72172713f;

class GrpcClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::move(*runtime::Server::Create({.model_repository = FERRY_SOURCE_DIR "/examples/models"}));
    ASSERT_TRUE(server_->WaitUntilReady(std::chrono::seconds(30)));
    auto created = grpc_frontend::GrpcServer::Create({.host = "127.0.0.1", .port = 0}, *server_);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    grpc_ = std::move(*created);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_->port()), grpc::InsecureChannelCredentials());
    stub_ = inference::GRPCInferenceService::NewStub(channel);
  }
  static void TearDownTestSuite() {
    stub_.reset();
    grpc_.reset();
    server_.reset();
  }

  static inference::ModelInferRequest PimaRequest(bool raw) {
    inference::ModelInferRequest request;
    request.set_model_name("pima");
    request.set_id("cpp");
    auto* input = request.add_inputs();
    input->set_name("features");
    input->set_datatype("FP32");
    input->add_shape(1);
    input->add_shape(8);
    if (raw) {
      request.add_raw_input_contents(reinterpret_cast<const char*>(kRow), sizeof kRow);
    } else {
      for (float v : kRow) input->mutable_contents()->add_fp32_contents(v);
    }
    return request;
  }

  static float Probability(const inference::ModelInferResponse& response) {
    float p = 0;
    EXPECT_EQ(response.raw_output_contents(0).size(), sizeof p);
    std::memcpy(&p, response.raw_output_contents(0).data(), sizeof p);
    return p;
  }

  static std::unique_ptr<runtime::Server> server_;
  static std::unique_ptr<grpc_frontend::GrpcServer> grpc_;
  static std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

std::unique_ptr<runtime::Server> GrpcClientTest::server_;
std::unique_ptr<grpc_frontend::GrpcServer> GrpcClientTest::grpc_;
std::unique_ptr<inference::GRPCInferenceService::Stub> GrpcClientTest::stub_;

TEST_F(GrpcClientTest, HealthMetadataConfigStatisticsIndex) {
  grpc::ClientContext c1, c2, c3, c4, c5, c6, c7;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&c1, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&c2, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ServerMetadataResponse server_meta;
  ASSERT_TRUE(stub_->ServerMetadata(&c3, {}, &server_meta).ok());
  EXPECT_EQ(server_meta.name(), "ferry");

  inference::ModelMetadataRequest meta_request;
  meta_request.set_name("pima");
  inference::ModelMetadataResponse meta;
  ASSERT_TRUE(stub_->ModelMetadata(&c4, meta_request, &meta).ok());
  ASSERT_EQ(meta.inputs_size(), 1);
  EXPECT_EQ(meta.inputs(0).name(), "features");
  EXPECT_EQ(meta.inputs(0).shape(1), 8);

  inference::ModelConfigRequest config_request;
  config_request.set_name("pima");
  inference::ModelConfigResponse config;
  ASSERT_TRUE(stub_->ModelConfig(&c5, config_request, &config).ok());
  EXPECT_EQ(config.config().max_batch_size(), 1024);
  EXPECT_EQ(config.config().input(0).data_type(), inference::TYPE_FP32);

  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(&c6, {}, &stats).ok());
  EXPECT_EQ(stats.model_stats_size(), 4);  // examples/models: pima, pima-features, pima-pipeline, pima-pmml

  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(&c7, {}, &index).ok());
  ASSERT_EQ(index.models_size(), 4);
  for (const auto& model : index.models()) EXPECT_EQ(model.state(), "READY") << model.name();
}

TEST_F(GrpcClientTest, InferWithTypedAndRawContents) {
  for (bool raw : {false, true}) {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    auto status = stub_->ModelInfer(&context, PimaRequest(raw), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.id(), "cpp");
    EXPECT_EQ(response.model_version(), "1");
    ASSERT_EQ(response.outputs_size(), 2);
    EXPECT_NEAR(Probability(response), kRowProbability, 1e-5f);
  }
}

TEST_F(GrpcClientTest, ErrorsCarryStatusCodesAndMessages) {
  grpc::ClientContext c1, c2, c3;
  inference::ModelInferResponse response;
  auto unknown = PimaRequest(true);
  unknown.set_model_name("nope");
  auto status = stub_->ModelInfer(&c1, unknown, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "unknown model 'nope'");

  auto short_raw = PimaRequest(true);
  short_raw.mutable_raw_input_contents(0)->resize(28);
  status = stub_->ModelInfer(&c2, short_raw, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("needs 8 values of 4 bytes, got 28 bytes"), std::string::npos);

  status = stub_->ModelInfer(&c3, PimaRequest(false), &response);
  EXPECT_TRUE(status.ok());
}

TEST_F(GrpcClientTest, StreamGoesOnAfterABadRequest) {
  grpc::ClientContext context;
  auto stream = stub_->ModelStreamInfer(&context);
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    auto request = PimaRequest(i % 2 == 0);
    request.set_id(std::to_string(i));
    if (i == 100) request.mutable_inputs(0)->set_datatype("INT32");
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  inference::ModelStreamInferResponse answer;
  std::set<int> ids;
  int errors = 0;
  while (stream->Read(&answer)) {
    ids.insert(std::stoi(answer.infer_response().id()));
    if (!answer.error_message().empty()) {
      ++errors;
      EXPECT_EQ(answer.infer_response().id(), "100");
    } else {
      EXPECT_NEAR(Probability(answer.infer_response()), kRowProbability, 1e-5f);
    }
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kRequests));
}

}  // namespace
}  // namespace ferry
