#include "routing/target_set.h"

#include <algorithm>

#include "routing/signatures.h"

namespace ferry::routing {

std::vector<TargetSet::Serving> TargetSet::ServingNow() const {
  std::vector<Serving> serving;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    if (auto servable = Resolve(i)) serving.push_back({i, std::move(*servable)});
  }
  return serving;
}

core::ModelSignature TargetSet::Signature() const {
  std::vector<std::pair<std::string, core::ModelSignature>> signatures;
  for (const auto& [i, servable] : ServingNow()) signatures.emplace_back(targets_[i].name, servable->Signature());
  auto common = CommonSignature(signatures);
  return common ? std::move(*common) : core::ModelSignature{};
}

std::int64_t TargetSet::max_batch_size() const {
  std::int64_t smallest = 0;
  for (const auto& [i, servable] : ServingNow()) {
    const auto rows = servable->max_batch_size();
    if (rows <= 0) return 0;
    smallest = smallest == 0 ? rows : std::min(smallest, rows);
  }
  return smallest;
}

bool TargetSet::TakesRecords() const {
  const auto serving = ServingNow();
  return !serving.empty() &&
         std::all_of(serving.begin(), serving.end(), [](const Serving& s) { return s.servable->TakesRecords(); });
}

std::vector<core::RecordField> TargetSet::RecordFields() const {
  for (const auto& [i, servable] : ServingNow()) {
    if (servable->TakesRecords()) return servable->RecordFields();
  }
  return {};
}

}  // namespace ferry::routing
