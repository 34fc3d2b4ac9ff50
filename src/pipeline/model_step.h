// The `model` step: runs a model of the repository on the frame's tensors through a
// ModelInvoker, and puts its outputs into the frame as tensors.
//   - {name: score, kind: model, model: pima, version: 1,          # version: optional
//      inputs: {features: features},     # model input <- frame tensor (default: same names)
//      outputs: {probability: p}}        # model output -> frame name (default: all, same names)
// Only live records go to the model, in requests of at most its max_batch_size rows, four in
// its queue at a time (the scheduler batches them with other traffic); outputs come back in
// record order.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/model_invoker.h"
#include "pipeline/step.h"

namespace ferry::pipeline {

class ModelStep final : public Step {
 public:
  using Done = std::move_only_function<void(core::Result<Frame>)>;

  static core::Result<std::unique_ptr<Step>> Make(const StepConfig& config, Symbols& symbols);

  core::Result<void> Apply(Frame&) const override {
    return core::Internal("a model step runs through Pipeline, not Apply");
  }
  const ModelStep* AsModel() const override { return this; }

  const std::string& model() const { return model_; }
  std::int64_t version() const { return version_; }
  // The frame tensor each model input is fed from, when its configuration maps them (else
  // empty: the same names).
  const std::vector<std::pair<std::string, std::string>>& inputs() const { return inputs_; }
  // The names it puts in the frame, when its configuration lists them (else empty).
  const std::vector<std::pair<std::string, std::string>>& outputs() const { return outputs_; }

  // Runs the model on `frame`; `done` gets the frame back with the outputs, on any thread.
  void Run(Frame frame, ModelInvoker& invoker, Done done) const;

 private:
  ModelStep(const StepConfig& c) : Step(c.name(), c.kind()) {}

  std::string model_;
  std::int64_t version_ = 0;
  std::vector<std::pair<std::string, std::string>> inputs_;   // model input, frame tensor
  std::vector<std::pair<std::string, std::string>> outputs_;  // model output, frame name
};

}  // namespace ferry::pipeline
