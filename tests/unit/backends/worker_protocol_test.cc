// The messages between ferry and a Python worker process.
#include <gtest/gtest.h>

#include "backends/python/worker_protocol.h"

namespace ferry::backends::python {
namespace {

using core::DataType;

core::Tensor Fp32(std::string name, std::vector<float> values) {
  auto t = core::Tensor::Allocate(std::move(name), DataType::kFp32, {static_cast<std::int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t->values<float>().begin());
  return std::move(*t);
}

TEST(WorkerProtocol, LoadRoundTrips) {
  WorkerLoad load{.model_name = "doubler", .version = 3, .version_dir = "/m/doubler/3", .model_file = "",
                  .parameters = {{"a", "1"}, {"b", "2"}}, .flavor = {{"loader_module", "m"}},
                  .function = "user_model", .kwargs = {{"module", "model"}}, .pass_outputs = true,
                  .platform = "python",
                  .signature = {.inputs = {{"x", DataType::kFp32, core::Shape{-1, 4}}},
                                .outputs = {{"y", DataType::kBytes, core::Shape{-1}}}}};
  const std::string bytes = EncodeWorkerLoad(load);
  auto back = DecodeWorkerLoad(bytes);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->model_name, "doubler");
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->parameters, load.parameters);
  EXPECT_EQ(back->flavor, load.flavor);
  EXPECT_TRUE(back->pass_outputs);
  ASSERT_EQ(back->signature.outputs.size(), 1u);
  EXPECT_EQ(back->signature.outputs[0].type, DataType::kBytes);
  EXPECT_EQ(back->signature.inputs[0].shape, (core::Shape{-1, 4}));
  EXPECT_EQ(EncodeWorkerLoad(*back), bytes);
}

TEST(WorkerProtocol, ExecuteAndReplyCarryTensorsAndErrors) {
  std::vector<core::Tensor> inputs;
  inputs.push_back(Fp32("x", {1.5f, -2}));
  const std::vector<std::string> outputs = {"y", "pid"};
  auto execute = DecodeWorkerExecute(EncodeWorkerExecute(inputs, outputs));
  ASSERT_TRUE(execute.has_value()) << execute.error().message;
  ASSERT_EQ(execute->inputs.size(), 1u);
  EXPECT_EQ(execute->inputs[0].values<float>()[1], -2.0f);
  EXPECT_EQ(execute->outputs, outputs);

  auto ok = DecodeWorkerReply(EncodeWorkerReply(std::move(execute->inputs)));
  ASSERT_TRUE(ok.has_value());
  ASSERT_TRUE(ok->outputs.has_value());
  EXPECT_EQ((*ok->outputs)[0].name(), "x");

  auto failed = DecodeWorkerReply(EncodeWorkerReply(core::InvalidArgument("x must not be negative")));
  ASSERT_TRUE(failed.has_value());
  ASSERT_FALSE(failed->outputs.has_value());
  EXPECT_EQ(failed->outputs.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(failed->outputs.error().message, "x must not be negative");
}

TEST(WorkerProtocol, MalformedMessagesAreErrorsNotReadsPastTheEnd) {
  std::vector<core::Tensor> inputs;
  inputs.push_back(Fp32("x", {1, 2, 3}));
  const std::string bytes = EncodeWorkerExecute(inputs, std::vector<std::string>{"y"});
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeWorkerExecute(bytes.substr(0, cut)).has_value()) << cut;
  }
  EXPECT_FALSE(DecodeWorkerExecute(bytes + "x").has_value());
  std::string huge = bytes;
  huge[4 + 1] = '\x7f';  // the name's length
  EXPECT_FALSE(DecodeWorkerExecute(huge).has_value());
  // Found by fuzz_worker_protocol: a flag other than 0 or 1 was taken for 1.
  EXPECT_FALSE(DecodeWorkerReply(std::string("\xc0\0\0\0\0\0", 6)).has_value());
  auto bad_code = DecodeWorkerReply(std::string("\x01\x63\0\0\0\0", 6));
  ASSERT_FALSE(bad_code.has_value());
  EXPECT_EQ(bad_code.error().code, core::ErrorCode::kInternal);
  EXPECT_NE(bad_code.error().message.find("python worker protocol"), std::string::npos);
}

}  // namespace
}  // namespace ferry::backends::python
