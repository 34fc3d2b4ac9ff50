// CallTrace: what the parts of a traced call record of themselves -- a router's decision, a
// pipeline's steps, the answer's encoding -- for runtime/tracing.h to make child spans of the
// call's span. A part asks its routing::CallContext (Trace(): null when the call is not traced,
// so an untraced call pays a null check) and may keep it past the call, for work that finishes
// later on another thread.
// Thread safety: Step may be called from any thread.
#pragma once

#include <chrono>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace ferry::core {

class CallTrace {
 public:
  using Clock = std::chrono::steady_clock;
  using Attribute = std::pair<std::string_view, std::string_view>;

  virtual ~CallTrace() = default;
  // A part of the call that ran from `start` to `end`, with string attributes.
  virtual void Step(std::string_view name, Clock::time_point start, Clock::time_point end,
                    std::initializer_list<Attribute> attributes = {}) = 0;
};

}  // namespace ferry::core
