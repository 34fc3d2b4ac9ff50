// TargetSet: the servables a router calls by name -- its routes, or an ensemble's members -- and
// what those serving now have in common, which is what the router itself serves: the signature
// (signatures.h), the batch size, whether they take records. Targets are resolved on each call,
// so the set follows its targets' reloads.
// Immutable; safe from any thread. The resolver must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "routing/router_config.h"
#include "routing/servable.h"

namespace ferry::routing {

class TargetSet {
 public:
  struct Named {
    std::string name;  // the route's or member's
    Target target;
    bool operator==(const Named&) const = default;
  };
  TargetSet(std::vector<Named> targets, const Resolver& resolver)
      : targets_(std::move(targets)), resolver_(resolver) {}

  const std::vector<Named>& targets() const { return targets_; }
  core::Result<ServableHandle> Resolve(std::size_t i) const {
    return resolver_.Resolve(targets_[i].target.model, targets_[i].target.version);
  }

  struct Serving {
    std::size_t index;  // in targets()
    ServableHandle servable;
  };
  std::vector<Serving> ServingNow() const;

  // What the serving targets have in common: their signature (empty when they have none in
  // common), the fewest rows a request may carry (0 when one has no batch dimension), whether all
  // take records, and the first record taker's fields.
  core::ModelSignature Signature() const;
  std::int64_t max_batch_size() const;
  bool TakesRecords() const;
  std::vector<core::RecordField> RecordFields() const;

 private:
  const std::vector<Named> targets_;
  const Resolver& resolver_;
};

}  // namespace ferry::routing
