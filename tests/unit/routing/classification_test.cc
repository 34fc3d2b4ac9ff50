#include "routing/classification.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/tensor.h"

namespace ferry::routing {
namespace {

core::Tensor Floats(std::string name, core::Shape shape, std::vector<float> values) {
  auto t = core::Tensor::Allocate(std::move(name), core::DataType::kFp32, std::move(shape)).value();
  std::memcpy(t.bytes().data(), values.data(), values.size() * sizeof(float));
  return t;
}

std::vector<std::string> Strings(const core::Tensor& t) {
  std::vector<std::string> out;
  core::ForEachBytesElement(t.bytes(), [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

TEST(Classification, TopKPerRowWithLabelsAndTies) {
  core::InferenceResponse response;
  response.outputs.push_back(Floats("p", core::Shape({2, 3}), {0.1f, 0.7f, 0.2f, 0.5f, 0.5f, 0.0f}));
  const ClassLabels labels{{"p", {"a", "b"}}};  // fewer labels than classes: the third has none
  ASSERT_TRUE(Classify(response, {{"p", 2}}, true, labels).has_value());
  const auto& t = response.outputs[0];
  EXPECT_EQ(t.type(), core::DataType::kBytes);
  EXPECT_EQ(t.shape().ToString(), "[2, 2]");
  EXPECT_EQ(Strings(t), (std::vector<std::string>{"0.700000:1:b", "0.200000:2", "0.500000:0:a", "0.500000:1:b"}));
}

TEST(Classification, UnbatchedModelsClassifyTheWholeTensor) {
  core::InferenceResponse response;
  response.outputs.push_back(Floats("p", core::Shape({2, 2}), {1, 4, 3, 2}));
  ASSERT_TRUE(Classify(response, {{"p", 10}}, false, {}).has_value());
  EXPECT_EQ(response.outputs[0].shape().ToString(), "[4]");
  EXPECT_EQ(Strings(response.outputs[0]),
            (std::vector<std::string>{"4.000000:1", "3.000000:2", "2.000000:3", "1.000000:0"}));
}

TEST(Classification, CountsMustBePositiveIntegersOnNumericOutputs) {
  core::ModelSignature signature{.inputs = {}, .outputs = {{"p", core::DataType::kFp32, core::Shape({-1, 3})},
                                                           {"s", core::DataType::kBytes, core::Shape({-1, 1})}}};
  core::InferenceRequest request;
  request.outputs.push_back({.name = "p", .parameters = {{"classification", std::int64_t{0}}}});
  EXPECT_FALSE(ClassificationRequests(request, signature).has_value());
  request.outputs[0].parameters["classification"] = std::string("2");
  EXPECT_FALSE(ClassificationRequests(request, signature).has_value());
  request.outputs[0].parameters["classification"] = std::int64_t{2};
  ASSERT_TRUE(ClassificationRequests(request, signature).has_value());
  request.outputs.push_back({.name = "s", .parameters = {{"classification", std::int64_t{1}}}});
  auto refused = ClassificationRequests(request, signature);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("'s' is BYTES"), std::string::npos);
}

TEST(Classification, LabelsFileLines) {
  EXPECT_EQ(ParseLabels("cat\r\ndog\n\nbird\n"), (std::vector<std::string>{"cat", "dog", "", "bird"}));
  EXPECT_TRUE(ParseLabels("").empty());
}

}  // namespace
}  // namespace ferry::routing
