#include "model/triton_config.h"

#include <gtest/gtest.h>

namespace ferry::model {
namespace {

// What GET /v2/models/pima/config answers (protocol/extensions_json.cc).
constexpr std::string_view kFerryAnswer = R"({"name":"pima","platform":"onnxruntime_onnx","backend":"onnxruntime",
"version_policy":{"latest":{"num_versions":2}},"max_batch_size":64,
"input":[{"name":"features","data_type":"TYPE_FP32","dims":[8]}],
"output":[{"name":"probability","data_type":"TYPE_FP32","dims":[1]},{"name":"label","data_type":"TYPE_STRING","dims":[1]}],
"dynamic_batching":{"preferred_batch_size":[4,8],"max_queue_delay_microseconds":100,
 "default_queue_policy":{"max_queue_size":50,"default_timeout_microseconds":0,"allow_timeout_override":true}},
"instance_group":[{"name":"pima","kind":"KIND_CPU","count":2}],"parameters":{"intra_op_threads":{"string_value":"1"}}})";

TEST(TritonConfig, ReadsTheConfigurationFerryAnswers) {
  auto loaded = ParseLoadConfig(kFerryAnswer, "pima (load config)");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const ModelConfig& c = loaded->config;
  EXPECT_EQ(c.name, "pima");
  EXPECT_EQ(c.backend, "onnxruntime");
  EXPECT_EQ(c.max_batch_size, 64);
  EXPECT_EQ(c.instances, 2);
  EXPECT_EQ(c.version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(c.version_policy.latest, 2);
  ASSERT_EQ(c.inputs.size(), 1u);
  EXPECT_EQ(c.inputs[0].shape.ToString(), "[-1, 8]");
  EXPECT_EQ(c.inputs[0].type, core::DataType::kFp32);
  ASSERT_EQ(c.outputs.size(), 2u);
  EXPECT_EQ(c.outputs[1].type, core::DataType::kBytes);
  EXPECT_TRUE(c.dynamic_batching.enabled);
  EXPECT_EQ(c.dynamic_batching.max_queue_delay_us, 100);
  EXPECT_EQ(c.dynamic_batching.preferred_batch_sizes, (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(c.dynamic_batching.max_queue_size, 50);
  EXPECT_EQ(c.parameters.at("intra_op_threads"), "1");
  EXPECT_TRUE(loaded->warnings.empty());
}

TEST(TritonConfig, ProtobufJsonNamesAndInt64AsStrings) {
  // What protobuf's MessageToJson writes: lowerCamelCase names, int64 as strings.
  auto loaded = ParseLoadConfig(R"({"name": "pima", "platform": "onnxruntime_onnx", "maxBatchSize": 8,
    "input": [{"name": "features", "dataType": "TYPE_FP32", "dims": ["8"]}],
    "dynamicBatching": {"maxQueueDelayMicroseconds": "250"},
    "instanceGroup": [{"count": 3, "kind": "KIND_GPU", "gpus": [0]}],
    "optimization": {"priority": "PRIORITY_DEFAULT"},
    "parameters": {"myKey": {"stringValue": "v"}}})", "pima (load config)");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->config.max_batch_size, 8);
  EXPECT_EQ(loaded->config.inputs[0].shape.ToString(), "[-1, 8]");
  EXPECT_EQ(loaded->config.dynamic_batching.max_queue_delay_us, 250);
  EXPECT_EQ(loaded->config.instances, 3);
  EXPECT_EQ(loaded->config.parameters.at("myKey"), "v");  // a user's name is kept as written
  ASSERT_EQ(loaded->warnings.size(), 2u);
  EXPECT_NE(loaded->warnings[0].find("'optimization' ignored"), std::string::npos) << loaded->warnings[0];
  EXPECT_NE(loaded->warnings[1].find("KIND_GPU"), std::string::npos) << loaded->warnings[1];
}

TEST(TritonConfig, WhatFerryCannotHonourIsRefusedByName) {
  for (auto [text, fragment] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {R"({"platform": "tensorflow_savedmodel"})", "platform 'tensorflow_savedmodel' is not served by ferry"},
           {R"({"platform": "ensemble", "ensemble_scheduling": {}})", "is not served by ferry"},
           {R"({"max_batch_size": 4, "sequence_batching": {}})", "Triton's 'sequence_batching' is not served"},
           {R"({"input": [{"name": "x", "data_type": "TYPE_COMPLEX", "dims": [1]}]})", "unknown data_type 'TYPE_COMPLEX'"},
           {R"({"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [1], "reshape": {"shape": []}}]})",
            "Triton's 'reshape' is not served"},
           {R"({"model_transaction_policy": {"decoupled": true}})", "decoupled"},
           {R"({"platform": "onnxruntime_onnx", "backend": "python"})", "disagree"}}) {
    auto loaded = ParseLoadConfig(text, "m (load config)");
    ASSERT_FALSE(loaded.has_value()) << text;
    EXPECT_EQ(loaded.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(loaded.error().message.find(fragment), std::string::npos) << loaded.error().message;
  }
}

TEST(TritonConfig, ModelYamlStaysModelYaml) {
  auto loaded = ParseLoadConfig("max_batch_size: 8\ndynamic_batching: {max_queue_delay_us: 5}\n"
                                "inputs: [{name: x, datatype: FP32, shape: [-1, 2]}]\n", "m (load config)");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->config.dynamic_batching.max_queue_delay_us, 5);
  auto json = ParseLoadConfig(R"({"max_batch_size": 8, "instances": 2})", "m (load config)");
  ASSERT_TRUE(json.has_value()) << json.error().message;
  EXPECT_EQ(json->config.instances, 2);
  // Neither: a key of neither schema is model.yaml's unknown key.
  auto unknown = ParseLoadConfig(R"({"platform": "onnxruntime_onnx", "colour": "red"})", "m (load config)");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("unknown key 'platform'"), std::string::npos) << unknown.error().message;
}

TEST(TritonConfig, LabelFilenameBecomesTheOutputsLabels) {
  auto loaded = ParseLoadConfig(R"({"max_batch_size": 4, "output": [{"name": "scores", "data_type": "TYPE_FP32",
    "dims": [3], "label_filename": "labels.txt"}]})", "m (load config)");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->config.labels.at("scores"), "labels.txt");
}

}  // namespace
}  // namespace ferry::model
