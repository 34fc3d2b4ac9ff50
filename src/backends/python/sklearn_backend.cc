#include "backends/python/sklearn_backend.h"

#include <fmt/format.h>

#include "backends/model_files.h"
#include "backends/python/python_model.h"

namespace ferry::backends::python {
namespace {

namespace fs = std::filesystem;

core::Result<std::unique_ptr<BackendModel>> LoadSklearn(const LoadOptions& options, const fs::path& file) {
  return LoadPythonModel(options, PythonFactory{.function = "sklearn_model",
                                                .kwargs = {{"path", file.string()}},
                                                .pass_outputs = true,
                                                .platform = "sklearn"});
}

class SklearnBackend final : public Backend {
 public:
  std::string_view name() const override { return "sklearn"; }
  std::string_view Files() const override { return "model.joblib or model.pkl"; }
  bool Recognizes(const fs::path& dir) const override { return PickleFile(dir).has_value(); }
  core::Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    // An MLflow sklearn flavor names its pickled_model.
    const auto file = options.model_file.empty() ? PickleFile(options.version_dir) : options.model_file;
    if (!file) return core::InvalidArgument("no model.joblib or model.pkl in the version folder");
    return LoadSklearn(options, *file);
  }
};

}  // namespace

std::unique_ptr<Backend> CreateSklearnBackend() { return std::make_unique<SklearnBackend>(); }

}  // namespace ferry::backends::python
