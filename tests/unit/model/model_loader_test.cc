#include "model/model_loader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#ifndef FERRY_SOURCE_DIR
#error "FERRY_SOURCE_DIR must name the source tree (for examples/models)"
#endif

namespace ferry::model {
namespace {

using core::DataType;

core::ModelSignature ModelFile() {
  return {.inputs = {{"features", DataType::kFp32, {-1, 8}}},
          .outputs = {{"probability", DataType::kFp32, {-1, 1}}, {"label", DataType::kInt64, {-1, 1}}}};
}

std::string ErrorOf(const ModelConfig& config) {
  auto result = ResolveSignature(config, ModelFile());
  EXPECT_FALSE(result.has_value());
  return result ? "" : result.error().message;
}

TEST(ResolveSignature, TheModelFileWhenNothingIsDeclared) {
  auto served = ResolveSignature(ModelConfig{}, ModelFile());
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->inputs.size(), 1u);
  EXPECT_EQ(served->outputs.size(), 2u);
}

TEST(ResolveSignature, DeclaredOutputsNarrowAndFixedDimsAreFilledIn) {
  ModelConfig config;
  config.inputs = {{"features", DataType::kFp32, {-1, -1}}};
  config.outputs = {{"label", DataType::kInt64, {-1, 1}}};
  auto served = ResolveSignature(config, ModelFile());
  ASSERT_TRUE(served.has_value()) << served.error().message;
  EXPECT_EQ(served->inputs[0].shape, core::Shape({-1, 8}));
  ASSERT_EQ(served->outputs.size(), 1u);
  EXPECT_EQ(served->outputs[0].name, "label");
}

TEST(ResolveSignature, MismatchesAreNamed) {
  ModelConfig unknown;
  unknown.inputs = {{"feats", DataType::kFp32, {-1, 8}}};
  EXPECT_EQ(ErrorOf(unknown), "model.yaml declares input 'feats', which the model file does not have (its inputs: features)");

  ModelConfig type;
  type.inputs = {{"features", DataType::kFp64, {-1, 8}}};
  EXPECT_EQ(ErrorOf(type), "model.yaml declares input 'features' as FP64, the model file has FP32");

  ModelConfig shape;
  shape.inputs = {{"features", DataType::kFp32, {-1, 9}}};
  EXPECT_EQ(ErrorOf(shape), "model.yaml declares input 'features' with shape [-1, 9], the model file has [-1, 8]");

  ModelConfig rank;
  rank.outputs = {{"label", DataType::kInt64, {-1}}};
  EXPECT_NE(ErrorOf(rank).find("with shape [-1], the model file has [-1, 1]"), std::string::npos);

  ModelConfig batch;
  batch.max_batch_size = 8;
  EXPECT_TRUE(ResolveSignature(batch, ModelFile()).has_value());
  core::ModelSignature fixed = ModelFile();
  fixed.inputs[0].shape = core::Shape({1, 8});
  auto no_batch_dim = ResolveSignature(batch, fixed);
  ASSERT_FALSE(no_batch_dim.has_value());
  EXPECT_NE(no_batch_dim.error().message.find("needs a variable first (batch) dim"), std::string::npos);
}

TEST(LoadVersion, ReadsTheExampleModelThroughOnnxRuntime) {
  const auto registry = backends::BackendRegistry::WithBuiltins();
  ModelConfig config;
  config.name = "pima";
  auto loaded = LoadVersion(registry, config, std::filesystem::path(FERRY_SOURCE_DIR) / "examples/models/pima", 1);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->backend, "onnxruntime");
  EXPECT_EQ(loaded->model->platform(), "onnxruntime_onnx");
  ASSERT_EQ(loaded->signature.inputs.size(), 1u);
  EXPECT_EQ(loaded->signature.inputs[0].name, "features");
  EXPECT_EQ(loaded->signature.inputs[0].shape, core::Shape({-1, 8}));

  auto instance = loaded->model->CreateInstance();
  ASSERT_TRUE(instance.has_value());
  std::vector<core::Tensor> inputs;
  inputs.push_back(*core::Tensor::Allocate("features", DataType::kFp32, {1, 8}));
  const float row[] = {1, 85, 66, 29, 0, 26.6f, 0.351f, 31};
  std::copy(std::begin(row), std::end(row), inputs[0].values<float>().begin());
  const std::vector<std::string> outputs = {"label", "probability"};
  auto result = (*instance)->Execute(inputs, outputs, nullptr);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ((*result)[0].name(), "label");
  EXPECT_EQ((*result)[0].values<std::int64_t>()[0], 0);
  EXPECT_NEAR((*result)[1].values<float>()[0], 0.0486418f, 1e-5f);
}

TEST(LoadVersion, ReportsAMissingModelFile) {
  const auto registry = backends::BackendRegistry::WithBuiltins();
  ModelConfig config;
  config.name = "pima";
  auto loaded = LoadVersion(registry, config, std::filesystem::path(FERRY_SOURCE_DIR) / "examples/models/pima", 9);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().message.find("no model file that a backend recognizes"), std::string::npos);
  // What each backend looks for, not only ONNX's file.
  EXPECT_NE(loaded.error().message.find("model.onnx (onnxruntime)"), std::string::npos) << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("model.pmml (pmml)"), std::string::npos) << loaded.error().message;
  config.backend = "tensorflow";
  loaded = LoadVersion(registry, config, std::filesystem::path(FERRY_SOURCE_DIR) / "examples/models/pima", 1);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().message, fmt::format("unknown backend 'tensorflow' (ferry's backends: {})",
                                               registry.Names()));
  EXPECT_NE(registry.Names().find("onnxruntime"), std::string::npos);
}

}  // namespace
}  // namespace ferry::model
