// One model served from a folder that holds its files directly (model.onnx, model.joblib, ...,
// with an optional model.yaml beside them), as KServe's storage initializer leaves a model in
// /mnt/models: `ferry serve --model-repository DIR --model-name NAME`. The repository code
// knows only <repo>/<model>/<version>/, so this makes a private repository of links in the
// temporary folder, <tmp>/ferry-model-XXXXXX/NAME/1 -> DIR (and NAME/model.yaml -> DIR/model.yaml),
// removed (the links only) when the object is destroyed. Not thread-safe; one per process.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"

namespace ferry::model {

class SingleModelRepository {
 public:
  // InvalidArgument when name is not a plain folder name (IsPlainName) or folder is not a folder.
  static core::Result<std::unique_ptr<SingleModelRepository>> Create(const std::filesystem::path& folder,
                                                                     const std::string& name);
  ~SingleModelRepository();
  SingleModelRepository(const SingleModelRepository&) = delete;
  SingleModelRepository& operator=(const SingleModelRepository&) = delete;

  // The repository to serve: it holds the one model, as version 1.
  const std::filesystem::path& root() const { return root_; }

 private:
  explicit SingleModelRepository(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace ferry::model
