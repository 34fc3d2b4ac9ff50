#include "routing/model_servable.h"

#include <algorithm>

#include "routing/request_validation.h"

namespace ferry::routing {

ModelServable::ModelServable(Options options)
    : Servable(std::move(options.name), options.version),
      backend_(std::move(options.backend)),
      signature_(std::move(options.signature)),
      max_batch_size_(options.max_batch_size),
      labels_(std::move(options.labels)),
      model_(std::move(options.model)),
      scheduler_(std::move(options.scheduler)) {}

ModelServable::~ModelServable() { scheduler_.reset(); }

void ModelServable::Infer(core::InferenceRequest&& request, const CallContext&, InferDone done) const {
  auto outputs = ValidateRequest(request.model_name, signature_, max_batch_size_, request);
  auto classification = outputs ? ClassificationRequests(request, signature_)
                                : core::Result<std::vector<ClassificationRequest>>(std::unexpected(outputs.error()));
  if (!classification) {
    scheduler_->statistics().RecordFailure(std::chrono::nanoseconds(0));
    return done(std::unexpected(std::move(classification).error()));
  }
  if (!classification->empty()) {
    done = [this, wanted = std::move(*classification), inner = std::move(done)](
               core::Result<core::InferenceResponse> result) mutable {
      if (result) {
        if (auto classified = Classify(*result, wanted, max_batch_size_ > 0, labels_); !classified) {
          return inner(std::unexpected(std::move(classified).error()));
        }
      }
      inner(std::move(result));
    };
  }
  // Inputs in signature order, so that requests naming them in another order still batch together.
  const auto& specs = signature_.inputs;
  std::sort(request.inputs.begin(), request.inputs.end(), [&](const core::Tensor& a, const core::Tensor& b) {
    auto index = [&](const core::Tensor& t) {
      return std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == t.name(); }) - specs.begin();
    };
    return index(a) < index(b);
  });
  sched::Scheduler::Job job{.request = std::move(request), .outputs = std::move(*outputs), .done = std::move(done)};
  if (auto queued = scheduler_->Submit(std::move(job)); !queued) {
    scheduler_->statistics().RecordFailure(std::chrono::nanoseconds(0));
    job.done(std::unexpected(std::move(queued).error()));
  }
}

core::Result<std::string> ModelServable::Call(std::string_view operation, std::string_view body) const {
  return model_->Call(operation, body);
}

}  // namespace ferry::routing
