#include "model/single_model.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "model/repository.h"

namespace ferry::model {

namespace fs = std::filesystem;

core::Result<std::unique_ptr<SingleModelRepository>> SingleModelRepository::Create(const fs::path& folder,
                                                                                   const std::string& name) {
  if (!IsPlainName(name)) {
    return core::InvalidArgument(fmt::format("--model-name '{}' is not a plain folder name", name));
  }
  std::error_code ec;
  const fs::path target = fs::absolute(folder, ec);
  if (ec || !fs::is_directory(target, ec)) {
    return core::InvalidArgument(fmt::format("{} is not a folder", folder.string()));
  }
  std::string pattern = (fs::temp_directory_path(ec) / "ferry-model-XXXXXX").string();
  if (ec || ::mkdtemp(pattern.data()) == nullptr) {
    return core::Internal(fmt::format("cannot make a folder in the temporary folder ({}) for the model's links",
                                      ec ? ec.message() : std::string(std::strerror(errno))));
  }
  std::unique_ptr<SingleModelRepository> made(new SingleModelRepository(pattern));
  const fs::path model = made->root_ / name;
  fs::create_directory(model, ec);
  if (!ec) fs::create_directory_symlink(target, model / "1", ec);
  if (!ec && fs::exists(target / "model.yaml")) fs::create_symlink(target / "model.yaml", model / "model.yaml", ec);
  if (ec) return core::Internal(fmt::format("cannot link {} into {}: {}", target.string(), pattern, ec.message()));
  return made;
}

SingleModelRepository::~SingleModelRepository() {
  std::error_code ec;
  fs::remove_all(root_, ec);  // the links, never what they point to (remove_all does not follow them)
}

}  // namespace ferry::model
