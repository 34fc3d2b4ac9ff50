// Shadows: traffic mirroring. For each request a router serves, every shadow draws its own
// sample (`percent`); a sampled request is copied before it goes to the primary, and the copy is
// sent to the shadow's target once the primary has answered the client; the shadow's answer is
// only compared and dropped: the client's answer and its latency never wait for a shadow. A shadow with `max_inflight` copies unanswered gets no
// more (the copy is dropped and counted), so a slow or failing shadow costs the primary at most
// that many copies of work. With `compare`, the values of one output (or record answer field)
// are compared element by element with the primary's: agreement within abs_tol is counted, and
// every absolute difference goes to a histogram.
//
// Use: Prepare (before the request is moved to the primary), dispatch the primary; when it
// answers, give its answer to the Mirror's Comparisons, answer the client, then Send. Thread safety: Shadows is immutable and
// shared; a Mirror belongs to one call (its shared state is locked).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "routing/router_config.h"
#include "routing/router_metrics.h"
#include "routing/servable.h"

namespace ferry::routing {

class Shadows {
 public:
  // `counters->shadows` has one entry a shadow, in `configs` order.
  Shadows(std::vector<ShadowConfig> configs, const Resolver& resolver, std::shared_ptr<RouterCounters> counters);

  struct Compare;  // one comparison's state (shadow.cc)

  // The comparisons of one call, waiting for the primary's answer (or its failure).
  class Comparisons {
   public:
    void Primary(const core::Result<core::InferenceResponse>& answer) const;
    void Primary(const core::Result<Predictions>& answer) const;
    bool empty() const { return compares_.empty(); }

   private:
    friend class Shadows;
    std::vector<std::shared_ptr<Compare>> compares_;
  };

  // One call's copies, ready to send.
  class Mirror {
   public:
    // Queues the copies at their shadows.
    void Send();
    const Comparisons& comparisons() const { return comparisons_; }
    bool empty() const { return copies_.empty(); }

   private:
    friend class Shadows;
    struct Copy {
      ServableHandle servable;
      std::size_t index = 0;
      std::optional<core::InferenceRequest> request;  // tensors, or
      std::vector<core::Record> records;              // records
      std::shared_ptr<Compare> compare;               // null without `compare`
    };
    std::shared_ptr<RouterCounters> counters_;
    std::vector<Copy> copies_;
    Comparisons comparisons_;
  };

  Mirror Prepare(const core::InferenceRequest& request) const;
  Mirror Prepare(const std::vector<core::Record>& records) const;

  const std::vector<ShadowConfig>& configs() const { return configs_; }

 private:
  // Which shadows take this call: sampled, and room in flight; counts the dropped ones.
  template <typename Fill>
  Mirror Select(Fill&& fill) const;

  const std::vector<ShadowConfig> configs_;
  const Resolver& resolver_;
  const std::shared_ptr<RouterCounters> counters_;
};

}  // namespace ferry::routing
