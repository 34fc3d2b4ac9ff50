// MLflow MLmodel signatures as ferry tensors.
#include <gtest/gtest.h>

#include "backends/mlflow/mlflow_backend.h"

namespace ferry::backends::mlflow {
namespace {

using core::DataType;

TEST(MlflowSignature, ColumnsBecomeOneTwoDimensionalInput) {
  auto s = ParseMlflowSignature(R"(flavors: {sklearn: {pickled_model: model.pkl}}
signature:
  inputs: '[{"name": "a", "type": "double"}, {"name": "b", "type": "double"}, {"name": "c", "type": "long"}]'
  outputs: '[{"type": "long"}]'
)");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ASSERT_EQ(s->inputs.size(), 1u);
  EXPECT_EQ(s->inputs[0].name, "input");
  EXPECT_EQ(s->inputs[0].type, DataType::kFp64);  // mixed column types: FP64
  EXPECT_EQ(s->inputs[0].shape, (core::Shape{-1, 3}));
  ASSERT_EQ(s->outputs.size(), 1u);
  EXPECT_EQ(s->outputs[0].name, "predict");
  EXPECT_EQ(s->outputs[0].type, DataType::kInt64);
  EXPECT_EQ(s->outputs[0].shape, (core::Shape{-1, 1}));
}

TEST(MlflowSignature, TensorsKeepTheirNamesTypesAndShapes) {
  auto s = ParseMlflowSignature(R"(signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}, "name": "image"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}, "name": "logits"}]'
)");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ASSERT_EQ(s->inputs.size(), 1u);
  EXPECT_EQ(s->inputs[0].name, "image");
  EXPECT_EQ(s->inputs[0].type, DataType::kFp32);
  EXPECT_EQ(s->inputs[0].shape, (core::Shape{-1, 28, 28}));
  EXPECT_EQ(s->outputs[0].name, "logits");
}

TEST(MlflowSignature, AbsentIsEmptyAndBadOnesAreErrors) {
  auto none = ParseMlflowSignature("flavors: {onnx: {data: model.onnx}}\n");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->inputs.empty());
  auto bad = ParseMlflowSignature("signature:\n  inputs: '[{\"name\": \"a\", \"type\": \"decimal\"}]'\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("type 'decimal' is not supported"), std::string::npos);
  auto json = ParseMlflowSignature("signature:\n  inputs: 'not json'\n");
  ASSERT_FALSE(json.has_value());
}

}  // namespace
}  // namespace ferry::backends::mlflow
