#include "pipeline/model_step.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>

namespace ferry::pipeline {
namespace {

using core::Result;

// A model's error, said by the step that called it; the code (503 queue full, ...) is kept.
core::Error InStep(const ModelStep& step, core::Error error) {
  error.message = fmt::format("step '{}' (model '{}'): {}", step.name(), step.model(), error.message);
  return error;
}
core::Error InStep(const ModelStep& step, std::unexpected<core::Error> error) {
  return InStep(step, std::move(error).error());
}

Result<std::vector<std::pair<std::string, std::string>>> NameMap(const StepConfig& c, std::string_view key) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const YAML::Node node = c.node()[std::string(key)];
  if (!node) return pairs;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      FERRY_ASSIGN_OR_RETURN(auto name, c.Scalar(item, fmt::format("each entry of '{}'", key)));
      pairs.emplace_back(name, name);
    }
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      FERRY_ASSIGN_OR_RETURN(auto from, c.Scalar(entry.first, "a name"));
      FERRY_ASSIGN_OR_RETURN(auto to, c.Scalar(entry.second, "a name"));
      pairs.emplace_back(std::move(from), std::move(to));
    }
  } else {
    return c.Fail(node, fmt::format("'{}' must be a list of names or a map of names", key));
  }
  return pairs;
}

// One call of the step: the frame, the live rows, and the answers of the requests in flight.
struct Call {
  const ModelStep* step;
  Frame frame;
  std::vector<std::size_t> live;
  std::size_t chunk = 1;
  bool batched = true;  // the model has a batch dimension (max_batch_size > 0)
  std::vector<std::optional<core::InferenceResponse>> answers;
  std::vector<core::InferenceRequest> requests;  // one a chunk, sent in order
  std::mutex mutex;
  // Protected by mutex:
  std::size_t next = 0;       // the next request to send
  std::size_t in_flight = 0;  // sent, not answered
  bool issuing = false;       // a thread is in Issue's loop
  std::optional<core::Error> error;  // the first failure
  ModelStep::Done done;
};

// Copies row `from` of a tensor with `rows` rows into row `to` of `out` (same row size).
void CopyRow(const core::Tensor& in, std::size_t rows, std::size_t from, core::Tensor& out, std::size_t to) {
  const std::size_t row_bytes = rows == 0 ? 0 : in.byte_size() / rows;
  std::memcpy(out.bytes().data() + to * row_bytes, in.bytes().data() + from * row_bytes, row_bytes);
}

core::Shape WithRows(const core::Shape& shape, std::size_t rows) {
  std::vector<std::int64_t> dims(shape.dims().begin(), shape.dims().end());
  if (dims.empty()) dims.push_back(0);
  dims[0] = static_cast<std::int64_t>(rows);
  return core::Shape(std::move(dims));
}

void Finish(const std::shared_ptr<Call>& call) {
  if (call->error) return call->done(std::unexpected(*call->error));
  const ModelStep& step = *call->step;
  Frame& frame = call->frame;
  auto fail = [&](auto error) { call->done(std::unexpected(InStep(step, std::move(error)))); };
  frame.model_outputs.clear();
  for (const auto& output : call->answers.front()->outputs) {
    std::string target = output.name();
    if (!step.outputs().empty()) {
      auto it = std::find_if(step.outputs().begin(), step.outputs().end(),
                             [&](const auto& p) { return p.first == output.name(); });
      if (it == step.outputs().end()) continue;
      target = it->second;
    }
    if (output.type() == core::DataType::kBytes) {
      return fail(core::Error{core::ErrorCode::kUnimplemented,
                              fmt::format("output '{}' is BYTES; a pipeline takes numeric model outputs", output.name())});
    }
    // One row of the output: its shape after the batch dimension (the whole of it without one).
    std::vector<std::int64_t> dims(output.shape().dims().begin(), output.shape().dims().end());
    if (call->batched) {
      if (dims.empty()) return fail(core::Internal(fmt::format("output '{}' has no batch dimension", output.name())));
      dims.erase(dims.begin());
    }
    dims.insert(dims.begin(), static_cast<std::int64_t>(frame.rows));
    auto full = core::Tensor::Allocate(target, output.type(), core::Shape(std::move(dims)));
    if (!full) return fail(full.error());
    std::memset(full->bytes().data(), 0, full->byte_size());
    const std::size_t row_bytes = frame.rows == 0 ? 0 : full->byte_size() / frame.rows;
    for (std::size_t c = 0; c < call->answers.size(); ++c) {
      const auto& answer = *call->answers[c];
      const std::size_t begin = c * call->chunk;
      const std::size_t rows = std::min(call->chunk, call->live.size() - begin);
      auto part = std::find_if(answer.outputs.begin(), answer.outputs.end(),
                               [&](const core::Tensor& t) { return t.name() == output.name(); });
      if (part == answer.outputs.end() || part->type() != output.type() || part->byte_size() != rows * row_bytes) {
        return fail(core::Internal(fmt::format(
            "output '{}' does not have one row of the same shape for each of the {} records sent", output.name(),
            rows)));
      }
      for (std::size_t j = 0; j < rows; ++j) {
        std::memcpy(full->bytes().data() + call->live[begin + j] * row_bytes, part->bytes().data() + j * row_bytes,
                    row_bytes);
      }
    }
    frame.tensors.insert_or_assign(target, std::move(*full));
    frame.model_outputs.push_back(target);
  }
  call->done(std::move(frame));
}

// Requests of one call in a model's queue at once: enough to keep its instances busy, few enough
// that a call of many chunks gets through a short queue (max_queue_size) instead of filling it.
constexpr std::size_t kWindow = 4;

// Sends the call's next requests while fewer than kWindow are in flight; each answer sends the
// next one, and the last answer finishes the call. One thread at a time sends (`issuing`): an
// answer that arrives meanwhile (on another thread, or at once inside Infer on this one) leaves
// the sending to it, so a model that answers synchronously does not make this recurse.
void Issue(const std::shared_ptr<Call>& call, ModelInvoker& invoker) {
  {
    std::lock_guard lock(call->mutex);
    if (call->issuing) return;
    call->issuing = true;
  }
  while (true) {
    std::size_t c = 0;
    {
      std::lock_guard lock(call->mutex);
      if (call->error || call->next == call->requests.size() || call->in_flight >= kWindow) {
        call->issuing = false;
        return;
      }
      c = call->next++;
      ++call->in_flight;
    }
    invoker.Infer(std::move(call->requests[c]), [call, c, &invoker](core::Result<core::InferenceResponse> answer) {
      bool finished = false;
      {
        std::lock_guard lock(call->mutex);
        if (answer) {
          call->answers[c] = std::move(*answer);
        } else if (!call->error) {
          call->error = InStep(*call->step, std::move(answer).error());
        }
        --call->in_flight;
        finished = call->in_flight == 0 && (call->error || call->next == call->requests.size());
      }
      if (finished) return Finish(call);
      Issue(call, invoker);
    });
  }
}

}  // namespace

Result<std::unique_ptr<Step>> ModelStep::Make(const StepConfig& c, Symbols& symbols) {
  FERRY_RETURN_IF_ERROR(c.OnlyKeys({"model", "version", "inputs", "outputs"}));
  std::unique_ptr<ModelStep> step(new ModelStep(c));
  FERRY_ASSIGN_OR_RETURN(step->model_, c.String("model"));
  if (c.Has("version")) {
    FERRY_ASSIGN_OR_RETURN(auto text, c.String("version"));
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), step->version_);
    if (ec != std::errc() || ptr != text.data() + text.size() || step->version_ < 1) {
      return c.Fail("'version' must be a positive integer");
    }
  }
  FERRY_ASSIGN_OR_RETURN(step->inputs_, NameMap(c, "inputs"));
  for (const auto& [model_input, tensor] : step->inputs_) {
    FERRY_ASSIGN_OR_RETURN(const Symbol symbol, c.Use(symbols, tensor, false));
    if (!symbol.tensor) {
      return c.Fail(fmt::format("'{}' is a field; a model takes tensors (make one with a tensor step)", tensor));
    }
  }
  FERRY_ASSIGN_OR_RETURN(step->outputs_, NameMap(c, "outputs"));
  if (step->outputs_.empty()) {
    symbols.OpenForModelOutputs();
  } else {
    for (const auto& [_, name] : step->outputs_) {
      symbols.Define(name, Symbol{.tensor = true, .kind = ColumnKind::kNumber, .width = 0});
    }
  }
  return std::unique_ptr<Step>(std::move(step));
}

void ModelStep::Run(Frame frame, ModelInvoker& invoker, Done done) const {
  auto info = invoker.Describe(model_, version_);
  if (!info) return done(std::unexpected(InStep(*this, std::move(info).error())));
  auto call = std::make_shared<Call>();
  call->step = this;
  call->frame = std::move(frame);
  call->done = std::move(done);
  const Frame& f = call->frame;
  for (std::size_t row = 0; row < f.rows; ++row) {
    if (f.Live(row)) call->live.push_back(row);
  }
  // Which frame tensor feeds each model input.
  std::vector<std::pair<std::string, const core::Tensor*>> sources;
  for (const auto& spec : info->signature.inputs) {
    std::string source = spec.name;
    auto mapped = std::find_if(inputs_.begin(), inputs_.end(), [&](const auto& p) { return p.first == spec.name; });
    if (mapped != inputs_.end()) source = mapped->second;
    auto tensor = f.tensors.find(source);
    if (tensor == f.tensors.end()) {
      std::vector<std::string> have;
      for (const auto& [name, _] : f.tensors) have.push_back(name);
      return call->done(std::unexpected(InStep(*this, core::InvalidArgument(fmt::format(
          "the model takes input '{}' but the pipeline has no tensor '{}' (it has: {})", spec.name, source, have)))));
    }
    if (tensor->second.type() == core::DataType::kBytes) {
      return call->done(std::unexpected(InStep(*this, core::Error{core::ErrorCode::kUnimplemented, fmt::format(
          "input '{}' is BYTES; a pipeline sends numeric tensors to models", spec.name)})));
    }
    sources.emplace_back(spec.name, &tensor->second);
  }
  const std::size_t live = call->live.size();
  // How rows reach the model. With max_batch_size, in chunks of at most that many along its batch
  // dimension. Without, its declared shapes are taken as they are: a leading dimension of -1
  // takes every row in one call, of 1 one row a call; a shape of a row's own rank takes one row a
  // call, without a leading dimension.
  if (info->max_batch_size > 0) {
    call->batched = true;
    call->chunk = static_cast<std::size_t>(info->max_batch_size);
  } else if (!sources.empty()) {
    const auto& spec = *std::find_if(info->signature.inputs.begin(), info->signature.inputs.end(),
                                     [&](const core::TensorSpec& s) { return s.name == sources.front().first; });
    const std::size_t row_rank = sources.front().second->shape().rank() - 1;
    if (spec.shape.rank() == row_rank + 1 && (spec.shape[0] == -1 || spec.shape[0] == 1)) {
      call->batched = true;
      call->chunk = spec.shape[0] == 1 ? 1 : std::max<std::size_t>(live, 1);
    } else if (spec.shape.rank() == row_rank) {
      call->batched = false;
      call->chunk = 1;
    } else {
      return call->done(std::unexpected(InStep(*this, core::InvalidArgument(fmt::format(
          "model '{}' takes input '{}' as {} and has no max_batch_size; a pipeline sends it rows of shape {}: "
          "declare the input as [-1, ...] (or set max_batch_size in its model.yaml)",
          model_, spec.name, spec.shape.ToString(),
          core::Shape(std::vector<std::int64_t>(sources.front().second->shape().dims().begin() + 1,
                                                sources.front().second->shape().dims().end())).ToString())))));
    }
  }
  const std::size_t chunks = (live + call->chunk - 1) / call->chunk;
  call->answers.resize(chunks);
  std::vector<core::InferenceRequest> requests(chunks);
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t begin = c * call->chunk;
    const std::size_t rows = std::min(call->chunk, live - begin);
    auto& request = requests[c];
    request.model_name = model_;
    request.model_version = version_;
    for (const auto& [input, tensor] : sources) {
      auto part = core::Tensor::Allocate(input, tensor->type(),
                                         call->batched ? WithRows(tensor->shape(), rows)
                                                                  : core::Shape(std::vector<std::int64_t>(
                                                                        tensor->shape().dims().begin() + 1,
                                                                        tensor->shape().dims().end())));
      if (!part) return call->done(std::unexpected(InStep(*this, part.error())));
      for (std::size_t j = 0; j < rows; ++j) CopyRow(*tensor, f.rows, call->live[begin + j], *part, j);
      request.inputs.push_back(std::move(*part));
    }
  }
  if (chunks == 0) return call->done(std::move(call->frame));  // nothing live: the model has nothing to do
  call->requests = std::move(requests);
  Issue(call, invoker);
}

}  // namespace ferry::pipeline
