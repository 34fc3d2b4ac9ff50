#include "backends/python/sklearn_backend.h"

#include <fmt/format.h>

#include "backends/python/python_model.h"

namespace ferry::backends::python {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> PickleFile(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : {"model.joblib", "model.pkl"}) {
    if (fs::is_regular_file(dir / name, ec)) return dir / name;
  }
  return std::nullopt;
}

class SklearnBackend final : public Backend {
 public:
  std::string_view name() const override { return "sklearn"; }
  std::string_view Files() const override { return "model.joblib or model.pkl"; }
  bool Recognizes(const fs::path& dir) const override { return PickleFile(dir).has_value(); }
  core::Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override {
    const auto file = PickleFile(options.version_dir);
    if (!file) return core::InvalidArgument("no model.joblib or model.pkl in the version folder");
    return LoadSklearn(options, *file);
  }
};

}  // namespace

core::Result<std::unique_ptr<BackendModel>> LoadSklearn(const LoadOptions& options, const fs::path& file) {
  return LoadPythonModel(options, PythonFactory{.function = "sklearn_model",
                                                .kwargs = {{"path", file.string()}},
                                                .pass_outputs = true,
                                                .platform = "sklearn"});
}

std::unique_ptr<Backend> CreateSklearnBackend() { return std::make_unique<SklearnBackend>(); }

}  // namespace ferry::backends::python
