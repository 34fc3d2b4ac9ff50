// The embedding API (include/ferry/ferry.h) as a program sees it: linked against libferry.so
// alone, with the shipped example models.
#include <ferry/ferry.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

namespace {

const std::array<float, 8> kPatient = {6, 148, 72, 35, 0, 33.6f, 0.627f, 50};

ferry::InferRequest PimaRequest(const float* features = kPatient.data()) {
  return {.model = "pima", .inputs = {{"features", ferry::DataType::kFp32, {1, 8}, features, 8 * sizeof(float)}}};
}

std::unique_ptr<ferry::Server> Open(ferry::Server::Options options = {}) {
  options.model_repository = FERRY_SOURCE_DIR "/examples/models";
  std::unique_ptr<ferry::Server> server;
  const ferry::Status opened = ferry::Server::Open(options, &server);
  EXPECT_TRUE(opened.ok()) << opened.ToString();
  return server;
}

TEST(EmbedApi, InfersWithAFutureWaitingOrACallbackOnAFerryThread) {
  auto server = Open();
  ASSERT_TRUE(server->IsReady()) << server->NotReadyReason();
  ferry::InferResult result;
  ASSERT_TRUE(server->Infer(PimaRequest(), &result).ok());
  EXPECT_EQ(result.model, "pima");
  EXPECT_EQ(result.version, 1);
  const ferry::Tensor* probability = result.Output("probability");
  ASSERT_NE(probability, nullptr);
  EXPECT_EQ(probability->type(), ferry::DataType::kFp32);
  EXPECT_EQ(probability->shape(), (std::vector<std::int64_t>{1, 1}));
  EXPECT_NEAR(probability->values<float>()[0], 0.7217f, 1e-3);

  auto [status, answered] = server->InferAsync(PimaRequest()).get();
  ASSERT_TRUE(status.ok());
  EXPECT_NEAR(answered.Output("probability")->values<float>()[0], 0.7217f, 1e-3);

  std::promise<std::thread::id> ran_on;
  server->Infer(PimaRequest(), [&](ferry::Status s, ferry::InferResult) {
    EXPECT_TRUE(s.ok());
    ran_on.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
}

TEST(EmbedApi, ErrorsSayWhatWasWrong) {
  auto server = Open();
  ferry::InferResult result;
  auto request = PimaRequest();
  request.model = "nope";
  ferry::Status unknown = server->Infer(request, &result);
  EXPECT_EQ(unknown.code(), ferry::Status::Code::kNotFound);
  EXPECT_NE(unknown.message().find("nope"), std::string::npos) << unknown.message();
  request = PimaRequest();
  request.inputs[0].byte_size = 7;  // not 8 floats
  ferry::Status short_input = server->Infer(request, &result);
  EXPECT_EQ(short_input.code(), ferry::Status::Code::kInvalidArgument);
  EXPECT_NE(short_input.message().find("features"), std::string::npos) << short_input.message();
  std::string answer;
  ferry::Status rejected = server->Predict("pima-pipeline", R"({"preg": 1})", &answer);
  EXPECT_EQ(rejected.code(), ferry::Status::Code::kRejected) << rejected.ToString();
  EXPECT_NE(answer.find("is missing"), std::string::npos) << answer;
  EXPECT_EQ(rejected.ToString().rfind("REJECTED: ", 0), 0u) << rejected.ToString();
}

TEST(EmbedApi, PredictMetadataStatisticsAndTheHttpApiBeside) {
  ferry::Server::Options options;
  options.http_port = 0;
  auto server = Open(options);
  std::string json;
  ASSERT_TRUE(server->Predict("pima-pipeline",
                              R"({"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6,
                                  "pedi": 0.627, "age": 50})",
                              &json)
                  .ok());
  EXPECT_NE(json.find("\"label\":\"diabetic\""), std::string::npos) << json;
  ASSERT_TRUE(server->ModelMetadata("pima", &json).ok());
  EXPECT_NE(json.find("\"features\""), std::string::npos) << json;
  ASSERT_TRUE(server->Statistics("pima", &json).ok());
  EXPECT_NE(json.find("\"inference_count\""), std::string::npos) << json;
  EXPECT_GT(server->http_port(), 0);
  EXPECT_EQ(Open()->http_port(), -1) << "no listener unless asked";
  EXPECT_EQ(server->grpc_port(), -1);
}

// Any route in-process, as `ferry test` and the Python module's test() call it; and the gRPC
// frontend started through the API (tests/integration/test_python_module.py sends it a request).
TEST(EmbedApi, CallAnswersAnyRouteAndGrpcListensWhenAsked) {
  ferry::Server::Options options;
  options.grpc_port = 0;
  auto server = Open(options);
  EXPECT_GT(server->grpc_port(), 0);
  std::string answer;
  ASSERT_TRUE(server->Call("POST", "/v2/models/pima/infer",
                           R"({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                               "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})",
                           &answer)
                  .ok());
  EXPECT_NE(answer.find("\"model_name\":\"pima\""), std::string::npos) << answer;
  ASSERT_TRUE(server->Call("GET", "/v2/health/ready", "", &answer).ok());
  const ferry::Status refused = server->Call("POST", "/v2/models/pima/infer", R"({"inputs": []})", &answer);
  EXPECT_EQ(refused.code(), ferry::Status::Code::kInvalidArgument);
  EXPECT_NE(refused.message().find("missing input 'features'"), std::string::npos) << refused.message();
  EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer;
  EXPECT_EQ(server->Call("DELETE", "/v2/models/pima", "", &answer).code(), ferry::Status::Code::kInvalidArgument);
  EXPECT_EQ(server->Call("GET", "v2/models/pima", "", &answer).code(), ferry::Status::Code::kInvalidArgument);
}

TEST(EmbedApi, ExplicitControlLoadsAndUnloadsOnRequest) {
  ferry::Server::Options options;
  options.explicit_model_control = true;
  auto server = Open(options);
  ferry::InferResult result;
  EXPECT_FALSE(server->Infer(PimaRequest(), &result).ok()) << "nothing loaded yet";
  ASSERT_TRUE(server->Load("pima").ok());
  EXPECT_TRUE(server->Infer(PimaRequest(), &result).ok());
  ASSERT_TRUE(server->Unload("pima").ok());
  EXPECT_FALSE(server->Infer(PimaRequest(), &result).ok());
}

// Destroying the Server waits for the calls in flight: every callback has run when it returns,
// and the borrowed inputs were read where they were, until then.
TEST(EmbedApi, DestructionWaitsForEveryCallInFlight) {
  constexpr int kCalls = 2000;
  std::vector<std::array<float, 8>> inputs(kCalls, kPatient);
  std::atomic<int> answered{0}, failed{0};
  {
    auto server = Open();
    for (int i = 0; i < kCalls; ++i) {
      server->Infer(PimaRequest(inputs[static_cast<std::size_t>(i)].data()), [&](ferry::Status s, ferry::InferResult r) {
        if (!s.ok() || std::abs(r.Output("probability")->values<float>()[0] - 0.7217f) > 1e-3) ++failed;
        ++answered;
      });
    }
  }
  EXPECT_EQ(answered.load(), kCalls);
  EXPECT_EQ(failed.load(), 0);
}

TEST(EmbedApi, BytesOutputsAndTypeNames) {
  EXPECT_EQ(ferry::DataTypeName(ferry::DataType::kFp32), "FP32");
  EXPECT_EQ(ferry::DataTypeName(ferry::DataType::kBytes), "BYTES");
  const std::string raw("\x03\x00\x00\x00yes\x02\x00\x00\x00no", 13);
  ferry::Tensor labels("label", ferry::DataType::kBytes, {2}, raw);
  EXPECT_EQ(labels.strings(), (std::vector<std::string_view>{"yes", "no"}));
  EXPECT_FALSE(ferry::Version().empty());
}

}  // namespace
