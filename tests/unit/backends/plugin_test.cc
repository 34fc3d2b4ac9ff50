// The plugin loader and the registry's stand-ins for plugin backends.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "backends/backend_registry.h"
#include "backends/plugin.h"
#include "backends/plugin_backend.h"

namespace ferry::backends {
namespace {

namespace fs = std::filesystem;

// A scratch folder; the plugin directory goes back to the build's on exit.
class PluginDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ferry_plugin_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    const char* built = std::getenv("FERRY_BACKEND_DIRECTORY");
    SetPluginDirectory(built ? built : "");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(PluginDirectoryTest, AMissingPluginIsUnavailableNamingTheFile) {
  SetPluginDirectory(dir_);
  auto plugin = LoadPlugin("onnxruntime");
  ASSERT_FALSE(plugin.has_value());
  EXPECT_EQ(plugin.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(plugin.error().message.find("the onnxruntime backend plugin " +
                                        (dir_ / "libferry_backend_onnxruntime.so").string() + ": not installed"),
            std::string::npos)
      << plugin.error().message;
}

TEST_F(PluginDirectoryTest, ACorruptPluginIsUnavailableWithDlopensReason) {
  SetPluginDirectory(dir_);
  std::ofstream(dir_ / "libferry_backend_torchscript.so") << "not a shared library";
  auto plugin = LoadPlugin("torchscript");
  ASSERT_FALSE(plugin.has_value());
  EXPECT_NE(plugin.error().message.find("cannot be loaded: "), std::string::npos) << plugin.error().message;
}

TEST_F(PluginDirectoryTest, DetectingAModelDoesNotOpenItsPlugin) {
  SetPluginDirectory(dir_);  // empty: opening any plugin would fail
  fs::create_directories(dir_ / "1");
  std::ofstream(dir_ / "1" / "model.pt") << "x";
  const auto registry = BackendRegistry::WithBuiltins();
  const Backend* backend = registry.Detect(dir_ / "1");
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->name(), "torchscript");
  EXPECT_NE(registry.FilesHint().find("model.pt (torchscript)"), std::string::npos);
  auto loaded = backend->Load(LoadOptions{.model_name = "m", .version = 1, .version_dir = dir_ / "1"});
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(loaded.error().message.find("libferry_backend_torchscript.so: not installed"), std::string::npos);
}

TEST(Plugin, TheBuildsPluginsOpenAndHaveTheirBackends) {
  if (!std::getenv("FERRY_BACKEND_DIRECTORY")) GTEST_SKIP() << "run through ctest (FERRY_BACKEND_DIRECTORY)";
  for (const PluginBackendSpec* spec : {&kOnnxRuntimeSpec, &kXgboostSpec, &kTorchScriptSpec, &kPythonSpec, &kSklearnSpec}) {
    if (!fs::exists(PluginFile(spec->plugin))) continue;  // a build without it
    auto plugin = LoadPlugin(spec->plugin);
    ASSERT_TRUE(plugin.has_value()) << plugin.error().message;
    EXPECT_EQ((*plugin)->exports->stamp.abi_version, kPluginAbiVersion);
    auto backend = (*plugin)->exports->create_backend(spec->name);
    ASSERT_NE(backend, nullptr) << spec->name;
    EXPECT_EQ(backend->name(), spec->name);
    EXPECT_EQ(backend->Files(), spec->files);
    EXPECT_EQ((*plugin)->exports->create_backend("no-such-backend"), nullptr);
    auto again = LoadPlugin(spec->plugin);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *plugin);  // opened once
  }
}

}  // namespace
}  // namespace ferry::backends
