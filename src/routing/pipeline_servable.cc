#include "routing/pipeline_servable.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "pipeline/model_step.h"
#include "routing/pinned_invoker.h"

namespace ferry::routing {
namespace {

using Clock = std::chrono::steady_clock;

// The answers of a finished frame, read by Predictions. The writer looks into the frame, so both
// live here together and never move.
class FrameAnswers final : public Predictions::Answers {
 public:
  FrameAnswers(std::shared_ptr<const pipeline::Pipeline> pipeline, pipeline::Frame frame)
      : pipeline_(std::move(pipeline)), frame_(std::move(frame)), writer_(*pipeline_, frame_) {}

  void Write(std::size_t row, core::JsonWriter& w, const Predictions::Replacement* replace) const override {
    if (replace) return writer_.Write(row, w, replace->field, &replace->write, &replace->append);
    writer_.Write(row, w);
  }
  std::optional<core::Value> Field(std::size_t row, std::string_view name) const override {
    return writer_.Get(row, name);
  }
  const pipeline::Frame& frame() const { return frame_; }

 private:
  const std::shared_ptr<const pipeline::Pipeline> pipeline_;
  const pipeline::Frame frame_;
  const pipeline::Pipeline::AnswerWriter writer_;
};

}  // namespace

PipelineServable::PipelineServable(std::string name, std::int64_t version,
                                   std::shared_ptr<const pipeline::Pipeline> pipeline, const Resolver& resolver)
    : Servable(std::move(name), version), pipeline_(std::move(pipeline)), resolver_(resolver) {}

core::ModelSignature PipelineServable::Signature() const {
  const PinnedInvoker invoker(resolver_);
  return {.inputs = pipeline_->input_tensors(), .outputs = pipeline_->OutputSpecs(invoker)};
}

std::vector<std::string> PipelineServable::Targets() const {
  std::vector<std::string> targets;
  for (const auto& step : pipeline_->steps()) {
    if (const auto* model = step->AsModel();
        model && std::find(targets.begin(), targets.end(), model->model()) == targets.end()) {
      targets.push_back(model->model());
    }
  }
  return targets;
}

namespace {

// The traces of a batch's events (stream events, each traced on its own): a step of the batch is
// a step of each.
class EveryTrace final : public core::CallTrace {
 public:
  explicit EveryTrace(std::vector<std::shared_ptr<core::CallTrace>> traces) : traces_(std::move(traces)) {}
  void Step(std::string_view name, Clock::time_point start, Clock::time_point end,
            std::initializer_list<Attribute> attributes) override {
    for (const auto& trace : traces_) trace->Step(name, start, end, attributes);
  }

 private:
  const std::vector<std::shared_ptr<core::CallTrace>> traces_;
};

std::shared_ptr<core::CallTrace> TraceOf(std::span<const CallContext* const> contexts) {
  std::vector<std::shared_ptr<core::CallTrace>> traces;
  for (const CallContext* context : contexts) {
    if (auto trace = context->Trace()) traces.push_back(std::move(trace));
  }
  if (traces.size() <= 1) return traces.empty() ? nullptr : std::move(traces.front());
  return std::make_shared<EveryTrace>(std::move(traces));
}

}  // namespace

void PipelineServable::Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const {
  const auto start = Clock::now();
  auto frame = pipeline::Frame::FromTensors(std::move(request.inputs));
  if (frame && frame->rows == 0) frame = core::InvalidArgument("the inputs have no rows");
  if (!frame) {
    statistics_.RecordCall(Clock::now() - start, 0, false);
    return done(std::unexpected(std::move(frame).error()));
  }
  frame->trace = context.Trace();
  std::vector<std::string> wanted;
  for (const auto& output : request.outputs) wanted.push_back(output.name);
  auto invoker = std::make_shared<PinnedInvoker>(resolver_);
  pipeline::ModelInvoker& steps_invoker = *invoker;
  pipeline_->RunTensors(
      std::move(*frame), steps_invoker,
      [self = shared_from_this(), this, invoker = std::move(invoker), start, wanted = std::move(wanted),
       name = std::move(request.model_name), id = std::move(request.id),
       done = std::move(done)](core::Result<pipeline::Frame> out) mutable {
        auto fail = [&](core::Error error) {
          statistics_.RecordCall(Clock::now() - start, 0, false);
          done(std::unexpected(std::move(error)));
        };
        if (!out) return fail(std::move(out).error());
        for (std::size_t row = 0; row < out->rows; ++row) {
          const auto& status = out->status[row];
          if (status.state == pipeline::RowStatus::State::kLive) continue;
          return fail(core::Error{
              core::ErrorCode::kInvalidArgument,
              status.state == pipeline::RowStatus::State::kRejected
                  ? fmt::format("row {} was rejected by step '{}': {}", row, status.step, status.error)
                  : fmt::format("row {} was skipped by step '{}'; /infer answers every row (/predict leaves skipped "
                                "records out)",
                                row, status.step)});
        }
        auto tensors = pipeline_->AnswerTensors(*out);
        if (!tensors) return fail(std::move(tensors).error());
        core::InferenceResponse response{.model_name = std::move(name), .model_version = version(),
                                         .id = std::move(id), .parameters = {}, .outputs = {}};
        if (wanted.empty()) {
          response.outputs = std::move(*tensors);
        } else {
          for (const auto& w : wanted) {
            auto it = std::find_if(tensors->begin(), tensors->end(), [&](const auto& t) { return t.name() == w; });
            if (it == tensors->end()) {
              return fail(core::Error{core::ErrorCode::kInvalidArgument,
                                      fmt::format("unknown output '{}' of pipeline '{}'", w, response.model_name)});
            }
            response.outputs.push_back(std::move(*it));
          }
        }
        statistics_.RecordCall(Clock::now() - start, out->rows, true);
        done(std::move(response));
      });
}

void PipelineServable::Predict(std::vector<core::Record> records, std::span<const CallContext* const> contexts,
                               PredictDone done) const {
  const auto start = Clock::now();
  auto invoker = std::make_shared<PinnedInvoker>(resolver_);
  pipeline::ModelInvoker& steps_invoker = *invoker;
  auto frame = pipeline::Frame::FromRecords(std::move(records));
  frame.trace = TraceOf(contexts);
  pipeline_->Run(std::move(frame), steps_invoker,
                 [self = shared_from_this(), this, invoker = std::move(invoker), start,
                  done = std::move(done)](core::Result<pipeline::Frame> out) mutable {
                   if (!out) {
                     statistics_.RecordCall(Clock::now() - start, 0, false);
                     return done(std::unexpected(std::move(out).error()));
                   }
                   statistics_.RecordCall(Clock::now() - start, out->rows, true);
                   std::vector<Predictions::Outcome> outcomes(out->rows);
                   for (std::size_t row = 0; row < out->rows; ++row) {
                     auto& status = out->status[row];
                     auto& o = outcomes[row];
                     switch (status.state) {
                       case pipeline::RowStatus::State::kLive: o.state = Predictions::State::kAnswered; break;
                       case pipeline::RowStatus::State::kRejected: o.state = Predictions::State::kRejected; break;
                       case pipeline::RowStatus::State::kSkipped: o.state = Predictions::State::kSkipped; break;
                     }
                     o.step = std::move(status.step);
                     o.error = std::move(status.error);
                     o.problems = std::move(status.problems);
                   }
                   auto answers = std::make_shared<const FrameAnswers>(pipeline_, std::move(*out));
                   done(Predictions(std::move(outcomes), std::move(answers),
                                    RouteInfo{.model = name(), .version = version()}));
                 });
}

core::Result<core::Explanation> PipelineServable::ExplainRecords(std::vector<core::Record> records) const {
  const auto start = Clock::now();
  auto explanation = RecordContributions(std::move(records));
  statistics_.RecordExplanation(Clock::now() - start,
                                explanation ? static_cast<std::uint64_t>(explanation->rows) : 0,
                                explanation.has_value());
  return explanation;
}

core::Result<core::Explanation> PipelineServable::RecordContributions(std::vector<core::Record> records) const {
  const pipeline::ModelStep* step = nullptr;
  for (const auto& s : pipeline_->steps()) {
    if (const auto* model = s->AsModel()) {
      if (step) {
        return core::Unimplemented(fmt::format("pipeline '{}' runs several models; ferry explains a pipeline of one "
                                               "model step (explain the models it calls)", name()));
      }
      step = model;
    }
  }
  if (!step) return core::Unimplemented(fmt::format("pipeline '{}' runs no model", name()));
  if (records.empty()) return core::InvalidArgument("no records to explain");
  FERRY_ASSIGN_OR_RETURN(pipeline::Frame frame, pipeline_->RunToModel(pipeline::Frame::FromRecords(std::move(records))));
  for (std::size_t row = 0; row < frame.rows; ++row) {
    const auto& status = frame.status[row];
    if (status.state == pipeline::RowStatus::State::kLive) continue;
    return core::InvalidArgument(fmt::format("record {} was {} by step '{}'{}{}", row,
                                             status.state == pipeline::RowStatus::State::kRejected ? "rejected"
                                                                                                   : "skipped",
                                             status.step, status.error.empty() ? "" : ": ", status.error));
  }
  FERRY_ASSIGN_OR_RETURN(const ServableHandle model, resolver_.Resolve(step->model(), step->version()));
  const core::ModelSignature signature = model->Signature();
  core::InferenceRequest request;
  request.model_name = step->model();
  request.model_version = step->version();
  std::string source;  // the frame tensor of a model of one input
  for (const auto& spec : signature.inputs) {
    const auto mapped = std::find_if(step->inputs().begin(), step->inputs().end(),
                                     [&](const auto& p) { return p.first == spec.name; });
    source = mapped == step->inputs().end() ? spec.name : mapped->second;
    const auto tensor = frame.tensors.find(source);
    if (tensor == frame.tensors.end()) {
      return core::InvalidArgument(fmt::format("model '{}' takes input '{}' but pipeline '{}' makes no tensor '{}'",
                                               step->model(), spec.name, name(), source));
    }
    core::Tensor input = std::move(tensor->second);  // the frame is not used again
    input.set_name(spec.name);
    request.inputs.push_back(std::move(input));
  }
  FERRY_ASSIGN_OR_RETURN(core::Explanation explanation, model->Explain(std::move(request)));
  // The model's input columns summed back to the record fields they come from, in the order the
  // fields first appear.
  const std::vector<std::string> fields = signature.inputs.size() == 1 ? pipeline_->ColumnSources(source)
                                                                       : std::vector<std::string>{};
  if (fields.size() == explanation.features.size()) {
    std::vector<std::string> names;
    std::vector<std::size_t> group(fields.size());
    for (std::size_t j = 0; j < fields.size(); ++j) {
      auto it = std::find(names.begin(), names.end(), fields[j]);
      group[j] = static_cast<std::size_t>(it - names.begin());
      if (it == names.end()) names.push_back(fields[j]);
    }
    const std::size_t from = fields.size(), to = names.size();
    for (auto& out : explanation.outputs) {
      std::vector<double> summed(static_cast<std::size_t>(explanation.rows) * to, 0.0);
      for (std::size_t r = 0; r < static_cast<std::size_t>(explanation.rows); ++r) {
        for (std::size_t j = 0; j < from; ++j) summed[r * to + group[j]] += out.values[r * from + j];
      }
      out.values = std::move(summed);
    }
    explanation.features = std::move(names);
  }
  explanation.model = name();
  explanation.version = version();
  return explanation;
}

}  // namespace ferry::routing
