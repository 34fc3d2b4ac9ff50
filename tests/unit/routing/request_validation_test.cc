#include "routing/request_validation.h"

#include <gtest/gtest.h>

namespace ferry::routing {
namespace {

using core::DataType;

core::ModelSignature Signature() {
  return {.inputs = {{"features", DataType::kFp32, {-1, 8}}, {"mask", DataType::kBool, {-1}}},
          .outputs = {{"probability", DataType::kFp32, {-1, 1}}, {"label", DataType::kInt64, {-1, 1}}}};
}

core::InferenceRequest Request(std::int64_t rows = 2) {
  core::InferenceRequest request;
  request.inputs.push_back(*core::Tensor::Allocate("features", DataType::kFp32, {rows, 8}));
  request.inputs.push_back(*core::Tensor::Allocate("mask", DataType::kBool, {rows}));
  return request;
}

std::string ErrorOf(const core::InferenceRequest& request, std::int64_t max_batch_size = 0) {
  auto result = ValidateRequest("m", Signature(), max_batch_size, request);
  EXPECT_FALSE(result.has_value());
  if (result) return "";
  EXPECT_EQ(result.error().code, core::ErrorCode::kInvalidArgument);
  return result.error().message;
}

TEST(ValidateRequest, AcceptsAFittingRequestAndDefaultsToAllOutputs) {
  auto outputs = ValidateRequest("m", Signature(), 0, Request());
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  EXPECT_EQ(*outputs, (std::vector<std::string>{"probability", "label"}));
}

TEST(ValidateRequest, KeepsTheRequestedOutputOrder) {
  auto request = Request();
  request.outputs = {{"label", {}}};
  auto outputs = ValidateRequest("m", Signature(), 0, request);
  ASSERT_TRUE(outputs.has_value());
  EXPECT_EQ(*outputs, (std::vector<std::string>{"label"}));
}

TEST(ValidateRequest, NamesWhatIsWrong) {
  auto unknown = Request();
  unknown.inputs[1].set_name("maks");
  EXPECT_EQ(ErrorOf(unknown), "model 'm' has no input 'maks' (its inputs: 'features', 'mask')");

  auto missing = Request();
  missing.inputs.pop_back();
  EXPECT_EQ(ErrorOf(missing), "missing input 'mask' (BOOL [-1]) for model 'm'");

  auto twice = Request();
  twice.inputs.push_back(*core::Tensor::Allocate("mask", DataType::kBool, {2}));
  EXPECT_EQ(ErrorOf(twice), "input 'mask' is given twice");

  auto wrong_type = Request();
  wrong_type.inputs[0] = *core::Tensor::Allocate("features", DataType::kFp64, {2, 8});
  EXPECT_EQ(ErrorOf(wrong_type), "input 'features' of model 'm' must be FP32, got FP64");

  auto wrong_shape = Request();
  wrong_shape.inputs[0] = *core::Tensor::Allocate("features", DataType::kFp32, {2, 7});
  EXPECT_EQ(ErrorOf(wrong_shape), "input 'features' of model 'm' has shape [2, 7], the model expects [-1, 8] (-1 = any size)");

  auto unknown_output = Request();
  unknown_output.outputs = {{"prob", {}}};
  EXPECT_EQ(ErrorOf(unknown_output), "model 'm' has no output 'prob' (its outputs: 'probability', 'label')");

  auto output_twice = Request();
  output_twice.outputs = {{"label", {}}, {"label", {}}};
  EXPECT_EQ(ErrorOf(output_twice), "output 'label' is requested twice");
}

TEST(ValidateRequest, EnforcesMaxBatchSizeAndOneBatchSize) {
  EXPECT_EQ(ErrorOf(Request(5), 4), "input 'features' has 5 rows, more than max_batch_size 4 of model 'm'");
  auto disagree = Request(2);
  disagree.inputs[1] = *core::Tensor::Allocate("mask", DataType::kBool, {3});
  EXPECT_NE(ErrorOf(disagree, 4).find("disagree on the batch size"), std::string::npos);
  EXPECT_TRUE(ValidateRequest("m", Signature(), 4, Request(4)).has_value());
}

}  // namespace
}  // namespace ferry::routing
