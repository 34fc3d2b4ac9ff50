#include "model/repository.h"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace ferry::model {
namespace {

namespace fs = std::filesystem;

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferry_repo_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Touch(const fs::path& relative) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << "x";
  }
  fs::path root_;
};

TEST_F(RepositoryTest, FindsModelsVersionsAndConfig) {
  Touch("pima/1/model.onnx");
  Touch("pima/3/model.onnx");
  Touch("pima/12/model.onnx");
  Touch("pima/model.yaml");
  Touch("pima/latest/model.onnx");
  Touch("pima/01/model.onnx");
  Touch("other/2/model.onnx");
  Touch("README.txt");
  Touch(".hidden/1/model.onnx");
  fs::create_directories(root_ / "pima" / ".git");

  auto scan = ScanRepository(root_);
  ASSERT_TRUE(scan.has_value()) << scan.error().message;
  ASSERT_EQ(scan->models.size(), 2u);
  EXPECT_EQ(scan->models[0].name, "other");
  EXPECT_FALSE(scan->models[0].config_file.has_value());
  EXPECT_EQ(scan->models[0].versions, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(scan->models[1].name, "pima");
  EXPECT_TRUE(scan->models[1].config_file.has_value());
  EXPECT_EQ(scan->models[1].versions, (std::vector<std::int64_t>{1, 3, 12}));
  EXPECT_EQ(scan->ignored, (std::vector<std::string>{"README.txt: not a model folder",
                                                     "pima/01: not a numeric version folder",
                                                     "pima/latest: not a numeric version folder"}));
}

TEST_F(RepositoryTest, MissingRootIsAnError) {
  auto scan = ScanRepository(root_ / "absent");
  ASSERT_FALSE(scan.has_value());
  EXPECT_EQ(scan.error().code, core::ErrorCode::kNotFound);
  EXPECT_NE(scan.error().message.find("absent"), std::string::npos);
}

TEST(ParseVersionFolder, AcceptsOnlyPositiveDecimals) {
  EXPECT_EQ(ParseVersionFolder("1"), 1);
  EXPECT_EQ(ParseVersionFolder("42"), 42);
  EXPECT_FALSE(ParseVersionFolder("0").has_value());
  EXPECT_FALSE(ParseVersionFolder("01").has_value());
  EXPECT_FALSE(ParseVersionFolder("-1").has_value());
  EXPECT_FALSE(ParseVersionFolder("+1").has_value());
  EXPECT_FALSE(ParseVersionFolder("1a").has_value());
  EXPECT_FALSE(ParseVersionFolder("").has_value());
  EXPECT_FALSE(ParseVersionFolder("99999999999999999999").has_value());
}

}  // namespace
}  // namespace ferry::model
