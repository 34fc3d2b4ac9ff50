// PipelineServable: a pipeline (model.yaml `pipeline:`) as a servable. Predict runs records
// through every step and answers one outcome a record (rendered from the finished frame by the
// pipeline's AnswerWriter: the one place answers to records are written, for HTTP and Kafka);
// Infer enters after the tensor steps and answers the respond step's values as tensors. Its
// model steps reach their models through a PinnedInvoker made for each call, so one call never
// mixes versions. Its statistics count calls and records.
// Thread safety: as every Servable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pipeline/pipeline.h"
#include "routing/servable.h"

namespace ferry::routing {

class PipelineServable final : public Servable {
 public:
  // `resolver` must outlive the servable and every call to it.
  PipelineServable(std::string name, std::int64_t version, std::shared_ptr<const pipeline::Pipeline> pipeline,
                   const Resolver& resolver);

  std::string_view platform() const override { return "ferry_pipeline"; }
  std::string_view backend() const override { return "pipeline"; }
  core::ModelSignature Signature() const override;
  // A pipeline called with tensors takes any number of rows.
  std::int64_t max_batch_size() const override { return std::int64_t{1} << 30; }
  bool TakesRecords() const override { return pipeline_->TakesRecords(); }
  std::vector<core::RecordField> RecordFields() const override { return pipeline_->record_fields(); }
  std::vector<std::string> Targets() const override;

  void Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const override;
  void Predict(std::vector<core::Record> records, std::span<const CallContext* const> contexts,
               PredictDone done) const override;

  // The records through the steps before the model step, that model's explanation of the rows
  // it would get, its input columns summed back to the record fields they come from.
  core::Result<core::Explanation> ExplainRecords(std::vector<core::Record> records) const override;

  sched::Statistics& statistics() const override { return statistics_; }

 private:
  core::Result<core::Explanation> RecordContributions(std::vector<core::Record> records) const;

  // Constant after construction.
  const std::shared_ptr<const pipeline::Pipeline> pipeline_;
  const Resolver& resolver_;
  mutable sched::Statistics statistics_;  // thread-safe itself
};

}  // namespace ferry::routing
