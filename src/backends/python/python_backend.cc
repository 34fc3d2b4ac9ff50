#include "backends/python/python_backend.h"

#include <fmt/format.h>

#include <algorithm>

#include "backends/parameters.h"
#include "backends/python/python_model.h"

namespace ferry::backends::python {
namespace {

namespace fs = std::filesystem;

// A Python identifier usable in a module name.
std::string Identifier(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

class PythonBackend final : public Backend {
 public:
  std::string_view name() const override { return "python"; }
  std::string_view Files() const override { return "model.py"; }
  bool Recognizes(const fs::path& dir) const override {
    std::error_code ec;
    return fs::is_regular_file(dir / "model.py", ec);
  }
  core::Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    if (options.flavor.contains("loader_module")) return LoadPyfunc(options);
    const std::string module = StringParameter(options, "python_module", "model");
    const std::string cls = StringParameter(options, "python_class", "Model");
    PythonFactory factory{
        .function = "user_model",
        .kwargs = {{"version_dir", options.version_dir.string()},
                   {"module", module},
                   {"cls", cls},
                   // Each model version its own module, so that every model may have its model.py.
                   {"unique_name",
                    fmt::format("ferry_models.{}.v{}.{}", Identifier(options.model_name), options.version, module)}},
        .platform = "python"};
    return LoadPythonModel(options, factory);
  }

 private:
  // An MLflow python_function flavor the mlflow backend handed over: its loader_module's
  // _load_pyfunc(data), with `code` on sys.path.
  static core::Result<std::unique_ptr<BackendModel>> LoadPyfunc(const LoadOptions& options) {
    auto flavor = [&](const char* key) {
      const auto it = options.flavor.find(key);
      return it == options.flavor.end() ? std::string() : it->second;
    };
    return LoadPythonModel(options, PythonFactory{.function = "pyfunc_model",
                                                  .kwargs = {{"model_dir", options.version_dir.string()},
                                                             {"loader_module", flavor("loader_module")},
                                                             {"data", flavor("data")},
                                                             {"code", flavor("code")}},
                                                  .pass_outputs = true,
                                                  .platform = "mlflow"});
  }
};

}  // namespace

std::unique_ptr<Backend> CreatePythonBackend() { return std::make_unique<PythonBackend>(); }

}  // namespace ferry::backends::python
