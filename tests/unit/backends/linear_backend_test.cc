// The linear backend: coefficients in model.json, evaluated natively.
#include "backends/linear/linear_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ferry::backends::linear {
namespace {

namespace fs = std::filesystem;

class LinearBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ferry_linear_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  core::Result<std::unique_ptr<BackendModel>> Load(const std::string& json) {
    std::ofstream(dir_ / "model.json") << json;
    return backend_->Load({.model_name = "m", .version = 1, .version_dir = dir_, .parameters = {}});
  }

  static core::Tensor Rows(std::initializer_list<std::initializer_list<float>> rows) {
    const auto n = static_cast<std::int64_t>(rows.size());
    const auto f = static_cast<std::int64_t>(rows.begin()->size());
    auto t = core::Tensor::Allocate("features", core::DataType::kFp32, core::Shape{n, f}).value();
    std::size_t i = 0;
    for (const auto& r : rows) {
      for (float v : r) t.values<float>()[i++] = v;
    }
    return t;
  }

  std::unique_ptr<Backend> backend_ = CreateLinearBackend();
  fs::path dir_;
};

TEST_F(LinearBackendTest, LogisticGivesProbabilityAndLabel) {
  auto model = Load(R"({"coefficients": [[0.5, -1.0]], "intercept": [0.25], "link": "logistic",
                         "features": ["a", "b"]})");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  EXPECT_TRUE(backend_->Recognizes(dir_));
  EXPECT_EQ((*model)->platform(), "ferry_linear");
  ASSERT_EQ((*model)->signature().outputs.size(), 2u);
  EXPECT_EQ((*model)->signature().inputs[0].shape.ToString(), "[-1, 2]");
  auto instance = (*model)->CreateInstance().value();
  std::vector<core::Tensor> in;
  in.push_back(Rows({{2, 1}, {0, 3}}));
  const std::vector<std::string> wanted = {"probability", "label"};
  auto out = instance->Execute(in, wanted, nullptr);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const auto p = (*out)[0].values<float>();
  EXPECT_NEAR(p[0], 1 / (1 + std::exp(-(0.25 + 1.0 - 1.0))), 1e-6);
  EXPECT_NEAR(p[1], 1 / (1 + std::exp(-(0.25 - 3.0))), 1e-6);
  EXPECT_EQ((*out)[1].values<std::int64_t>()[0], 1);
  EXPECT_EQ((*out)[1].values<std::int64_t>()[1], 0);
}

TEST_F(LinearBackendTest, SoftmaxAndIdentity) {
  auto model = Load(R"({"coefficients": [[1, 0], [0, 1], [1, 1]], "intercept": [0, 0, -5], "link": "softmax"})");
  ASSERT_TRUE(model.has_value()) << model.error().message;
  auto instance = (*model)->CreateInstance().value();
  std::vector<core::Tensor> in;
  in.push_back(Rows({{1, 2}}));
  const std::vector<std::string> wanted = {"probability", "label"};
  auto out = instance->Execute(in, wanted, nullptr).value();
  const auto p = out[0].values<float>();
  const double z[] = {1, 2, -2}, sum = std::exp(1) + std::exp(2) + std::exp(-2);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(p[k], std::exp(z[k]) / sum, 1e-6);
  EXPECT_EQ(out[1].values<std::int64_t>()[0], 1);

  auto regression = Load(R"({"coefficients": [[2, 3]], "intercept": [1]})");
  ASSERT_TRUE(regression.has_value());
  EXPECT_EQ((*regression)->signature().outputs[0].name, "prediction");
  auto r = (*regression)->CreateInstance().value();
  const std::vector<std::string> prediction = {"prediction"};
  EXPECT_FLOAT_EQ(r->Execute(in, prediction, nullptr).value()[0].values<float>()[0], 1 + 2 + 6);
}

TEST_F(LinearBackendTest, BadFilesSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"coefficients": [[1, 2], [3]]})", "must all have 2 numbers; one has 1"},
      {R"({"coefficients": []})", "'coefficients' must be a non-empty list"},
      {R"({"coefficients": [[1]], "intercept": [1, 2]})", "'intercept' must have one number a row"},
      {R"({"coefficients": [[1]], "link": "probit"})", "'link' must be identity, logistic or softmax"},
      {R"({"coefficients": [[1]], "link": "softmax"})", "needs at least two rows"},
      {R"({"coefficients": [[1, 2]], "features": ["a"]})", "'features' names 1 features"},
      {R"({"coefficients": [["x"]]})", "finite numbers"},
      {R"({"coefficients": [[1, 2]], )", "not valid JSON"},
  };
  for (const auto& [json, fragment] : cases) {
    auto model = Load(json);
    ASSERT_FALSE(model.has_value()) << json;
    EXPECT_NE(model.error().message.find(fragment), std::string::npos) << model.error().message;
  }
  std::ofstream(dir_ / "model.json") << R"({"learner": {}})";  // an XGBoost model is not ours
  EXPECT_FALSE(backend_->Recognizes(dir_));
}

}  // namespace
}  // namespace ferry::backends::linear
