// ModelTable: the models being served, by name. Readers take a snapshot of one model (a
// shared_ptr to an immutable ServedModel) under a shared lock held only for the lookup; writers
// (the model control's loader) install or remove whole models.
// Thread safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/served_model.h"

namespace ferry::runtime {

class ModelTable {
 public:
  std::shared_ptr<const ServedModel> Find(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = models_.find(name);
    return it == models_.end() ? nullptr : it->second;
  }

  std::vector<std::shared_ptr<const ServedModel>> All() const {
    std::shared_lock lock(mutex_);
    std::vector<std::shared_ptr<const ServedModel>> all;
    for (const auto& [name, model] : models_) all.push_back(model);
    return all;
  }

  // Installs `model` under its name; returns what it replaced (or null).
  std::shared_ptr<const ServedModel> Install(std::shared_ptr<const ServedModel> model) {
    std::unique_lock lock(mutex_);
    auto& slot = models_[model->name];
    std::swap(slot, model);
    return model;
  }

  // Removes a model; returns it (or null).
  std::shared_ptr<const ServedModel> Remove(std::string_view name) {
    std::unique_lock lock(mutex_);
    auto it = models_.find(name);
    if (it == models_.end()) return nullptr;
    auto removed = std::move(it->second);
    models_.erase(it);
    return removed;
  }

 private:
  mutable std::shared_mutex mutex_;
  // Protected by mutex_.
  std::map<std::string, std::shared_ptr<const ServedModel>, std::less<>> models_;
};

}  // namespace ferry::runtime
