#include "pipeline/pipeline.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "pipeline/model_step.h"
#include "pipeline/step_kinds.h"

namespace ferry::pipeline {
namespace {

using core::Result;

struct Kind {
  std::string_view name;
  StepFactory make;
};

constexpr Kind kKinds[] = {
    {"record", MakeRecordStep},       {"validate", MakeValidateStep},   {"filter", MakeFilterStep},
    {"tensor", MakeTensorStep},       {"standardize", MakeStandardizeStep}, {"minmax", MakeMinMaxStep},
    {"log1p", MakeLog1pStep},         {"clip", MakeClipStep},           {"impute", MakeImputeStep},
    {"one_hot", MakeOneHotStep},      {"map", MakeMapStep},             {"bucketize", MakeBucketizeStep},
    {"threshold", MakeThresholdStep}, {"label", MakeLabelStep},         {"argmax", MakeArgmaxStep},
    {"softmax", MakeSoftmaxStep},     {"top_k", MakeTopKStep},          {"rename", MakeRenameStep},
    {"select", MakeSelectStep},       {"model", ModelStep::Make},
};

core::DataType ColumnType(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kBool: return core::DataType::kBool;
    case ColumnKind::kString:
    case ColumnKind::kJson: return core::DataType::kBytes;
    default: return core::DataType::kFp64;
  }
}

}  // namespace

namespace {

// Kinds registered at start-up (RegisterStepKind); read-only once pipelines are parsed.
std::vector<std::pair<std::string, StepFactory>>& RegisteredKinds() {
  static std::vector<std::pair<std::string, StepFactory>> kinds;
  return kinds;
}

}  // namespace

void RegisterStepKind(std::string name, StepFactory make) {
  auto& kinds = RegisteredKinds();
  for (auto& [n, m] : kinds) {
    if (n == name) {
      m = make;
      return;
    }
  }
  kinds.emplace_back(std::move(name), make);
}

const StepFactory* FindStepFactory(std::string_view kind) {
  for (const auto& k : kKinds) {
    if (k.name == kind) return &k.make;
  }
  for (const auto& [name, make] : RegisteredKinds()) {
    if (name == kind) return &make;
  }
  return nullptr;
}

std::vector<std::string_view> StepKinds() {
  std::vector<std::string_view> kinds;
  for (const auto& k : kKinds) kinds.push_back(k.name);
  for (const auto& [name, _] : RegisteredKinds()) kinds.push_back(name);
  kinds.push_back("respond");
  return kinds;
}

namespace {

// The steps of `pipeline:` with model.yaml's pre_transform and post_transform (per-record Python
// functions, docs/pipelines.md) added as python steps: after the record step, and before the
// respond step. Their factories get model.yaml `parameters` as config. Each is "module:factory",
// or a map with `function` and what else a python step takes (`outputs`: the columns it adds;
// `config`, instead of `parameters`).
std::vector<YAML::Node> StepNodes(const YAML::Node& root, const YAML::Node& list) {
  auto hook = [&](const char* key) {
    YAML::Node step(YAML::NodeType::Map);
    step["name"] = key;
    step["kind"] = "python";
    if (root["parameters"]) step["config"] = root["parameters"];
    const YAML::Node spec = root[key];
    if (spec.IsMap()) {
      for (const auto& entry : spec) step[entry.first.Scalar()] = entry.second;
    } else {
      step["function"] = spec;
    }
    return step;
  };
  auto kind_of = [](const YAML::Node& node) {
    return node.IsMap() && node["kind"] && node["kind"].IsScalar() ? node["kind"].Scalar() : std::string();
  };
  // Built by push_back only: assigning a YAML::Node (as vector::insert does to shift) would
  // overwrite the node it refers to, in the document.
  std::vector<YAML::Node> nodes;
  const std::size_t count = list.size();
  std::size_t i = 0;
  for (const auto& node : list) {
    if (i == 0 && root["pre_transform"] && kind_of(node) != "record") nodes.push_back(hook("pre_transform"));
    if (i + 1 == count && root["post_transform"] && kind_of(node) == "respond") nodes.push_back(hook("post_transform"));
    nodes.push_back(node);
    if (i == 0 && root["pre_transform"] && kind_of(node) == "record") nodes.push_back(hook("pre_transform"));
    if (i + 1 == count && root["post_transform"] && kind_of(node) != "respond") nodes.push_back(hook("post_transform"));
    ++i;
  }
  return nodes;
}

}  // namespace

Result<std::shared_ptr<const Pipeline>> Pipeline::Parse(std::string_view model_yaml, std::string source,
                                                        std::string_view self) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(model_yaml));
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(fmt::format("{}:{}: not valid YAML: {}", source, e.mark.line + 1, e.msg));
  }
  const YAML::Node list = root.IsMap() ? root["pipeline"] : YAML::Node();
  auto fail = [&](const YAML::Node& at, std::string_view message) {
    return core::InvalidArgument(fmt::format("{}:{}: pipeline: {}", source, at.Mark().line + 1, message));
  };
  if (!list || !list.IsSequence() || list.size() == 0) {
    return fail(list ? list : root, "must be a list of steps ({name, kind, ...})");
  }
  std::shared_ptr<Pipeline> p(new Pipeline());
  Symbols symbols;
  std::set<std::string> before_last_model;
  std::set<std::string> names;
  std::vector<YAML::Node> nodes;  // of the steps built, for the tensor-entry check
  std::size_t index = 0;
  for (const auto& node : StepNodes(root, list)) {
    ++index;
    if (!node.IsMap()) return fail(node, fmt::format("step {} must be a map {{name, kind, ...}}", index));
    const YAML::Node kind_node = node["kind"];
    if (!kind_node || !kind_node.IsScalar()) {
      return fail(node, fmt::format("step {} needs a 'kind' (one of: {})", index, fmt::join(StepKinds(), ", ")));
    }
    const std::string kind = kind_node.Scalar();
    std::string name = kind;
    if (const YAML::Node n = node["name"]) {
      if (!n.IsScalar() || n.Scalar().empty()) return fail(n, fmt::format("step {}: 'name' must be a string", index));
      name = n.Scalar();
    }
    if (!names.insert(name).second) {
      return fail(node, fmt::format("two steps are named '{}'; give each a distinct 'name'", name));
    }
    const StepConfig config(node, source, name, kind);
    if (!p->respond_.empty()) return config.Fail("comes after the respond step, which must be last");
    if (kind == "respond") {
      FERRY_RETURN_IF_ERROR(config.OnlyKeys({"fields"}));
      const YAML::Node fields = node["fields"];
      if (!fields || (!fields.IsSequence() && !fields.IsMap()) || fields.size() == 0) {
        return config.Fail("'fields' must list the answer's fields, or map answer names to fields");
      }
      for (const auto& item : fields) {
        const YAML::Node out = fields.IsMap() ? item.first : item;
        const YAML::Node from = fields.IsMap() ? item.second : item;
        FERRY_ASSIGN_OR_RETURN(auto out_name, config.Scalar(out, "an answer field"));
        FERRY_ASSIGN_OR_RETURN(auto from_name, config.Scalar(from, "an answer field"));
        FERRY_RETURN_IF_ERROR(config.Use(symbols, from_name, false));
        p->respond_.emplace_back(std::move(out_name), std::move(from_name));
      }
      continue;
    }
    const StepFactory* make = FindStepFactory(kind);
    if (!make) {
      return config.Fail(fmt::format("unknown kind '{}' (known: {})", kind, fmt::join(StepKinds(), ", ")));
    }
    if (kind == "model") {
      before_last_model.clear();
      for (const auto& [n, _] : symbols.all()) before_last_model.insert(n);
    }
    FERRY_ASSIGN_OR_RETURN(auto step, (*make)(config, symbols));
    if (kind == "record" && !p->steps_.empty()) return config.Fail("the record step must be the first step");
    if (const auto* model = step->AsModel(); model && model->model() == self) {
      return config.Fail("a pipeline cannot run itself");
    }
    if (auto tensor = TensorStepOutput(*step)) {
      p->input_tensors_.push_back(*tensor);
      p->tensor_entry_ = p->steps_.size() + 1;
    }
    if (kind == "record") {
      p->record_fields_ = RecordFieldsOf(*step);
      if (p->tensor_entry_ == 0) p->tensor_entry_ = 1;
    }
    p->steps_.push_back(std::move(step));
    nodes.push_back(node);
  }
  if (p->steps_.empty()) return fail(list, "has no step besides respond");
  p->symbols_ = symbols;
  for (const auto& [n, _] : symbols.all()) {
    if (!before_last_model.contains(n)) p->default_answer_.push_back(n);
  }
  // Called with tensors, the steps after the entry see only those tensors: check they need no
  // record field, by building them again from there.
  Symbols entry;
  for (const auto& spec : p->input_tensors_) entry.Define(spec.name, Symbol{.tensor = true, .kind = ColumnKind::kNumber, .width = 0});
  if (p->input_tensors_.empty()) {
    p->tensor_entry_error_ = "it has no tensor step, so it takes no tensors; use /predict with records";
  }
  for (std::size_t i = p->tensor_entry_; i < nodes.size() && p->tensor_entry_error_.empty(); ++i) {
    const auto& step = *p->steps_[i];
    auto again = (*FindStepFactory(step.kind()))(StepConfig(nodes[i], source, step.name(), step.kind()), entry);
    if (!again) {
      p->tensor_entry_error_ = fmt::format("step '{}' needs record fields, so the pipeline takes records only; use "
                                           "/predict",
                                           step.name());
    }
  }
  for (const auto& [_, from] : p->respond_) {
    const Symbol* full = symbols.Find(from);
    if (p->tensor_entry_error_.empty() && !entry.Find(from) && (!entry.open() || (full && !full->tensor))) {
      p->tensor_entry_error_ = fmt::format("its answer includes the record field '{}'; use /predict", from);
    }
  }
  return std::shared_ptr<const Pipeline>(std::move(p));
}

const std::vector<RecordField>& Pipeline::record_fields() const {
  static const std::vector<RecordField> kNone;
  return record_fields_ ? *record_fields_ : kNone;
}

void Pipeline::Run(Frame frame, ModelInvoker& invoker, Done done) const {
  if (!TakesRecords()) {
    return done(core::InvalidArgument("this pipeline has no record step, so it takes tensors, not records"));
  }
  Continue(0, std::move(frame), invoker, std::move(done));
}

void Pipeline::RunTensors(Frame frame, ModelInvoker& invoker, Done done) const {
  if (!tensor_entry_error_.empty()) {
    return done(core::InvalidArgument(fmt::format("this pipeline cannot be called with tensors: {}",
                                                  tensor_entry_error_)));
  }
  for (const auto& spec : input_tensors_) {
    if (!frame.tensors.contains(spec.name)) {
      std::vector<std::string> wanted;
      for (const auto& s : input_tensors_) wanted.push_back(s.name);
      return done(core::InvalidArgument(fmt::format("missing input '{}' (the pipeline takes {})", spec.name, wanted)));
    }
  }
  Continue(tensor_entry_, std::move(frame), invoker, std::move(done));
}

void Pipeline::Continue(std::size_t index, Frame frame, ModelInvoker& invoker, Done done) const {
  for (; index < steps_.size(); ++index) {
    const Step& step = *steps_[index];
    if (frame.LiveCount() == 0) {
      // Nothing left to answer: only input checks still run, on the rows input checks rejected.
      const bool checkable =
          std::any_of(frame.status.begin(), frame.status.end(), [](const auto& s) { return s.checking; });
      if (!checkable) break;
      if (!step.ChecksInput()) continue;
    }
    if (const ModelStep* model = step.AsModel()) {
      // A traced frame's step is recorded when the model answered (a failed call's frame is gone).
      auto trace = frame.trace;
      const auto start = trace ? core::CallTrace::Clock::now() : core::CallTrace::Clock::time_point();
      model->Run(std::move(frame), invoker,
                 [self = shared_from_this(), index, &invoker, trace = std::move(trace), start,
                  done = std::move(done)](Result<Frame> out) mutable {
                   if (trace) {
                     const Step& step = *self->steps_[index];
                     trace->Step("step " + step.name(), start, core::CallTrace::Clock::now(),
                                 {{"ferry.step.kind", step.kind()}, {"ferry.step.model", step.AsModel()->model()},
                                  {"error.type", out ? std::string_view() : core::ErrorCodeName(out.error().code)}});
                   }
                   if (!out) return done(std::unexpected(std::move(out).error()));
                   self->Continue(index + 1, std::move(*out), invoker, std::move(done));
                 });
      return;
    }
    const auto start = frame.trace ? core::CallTrace::Clock::now() : core::CallTrace::Clock::time_point();
    auto applied = step.Apply(frame);
    if (frame.trace) {
      frame.trace->Step("step " + step.name(), start, core::CallTrace::Clock::now(),
                        {{"ferry.step.kind", step.kind()},
                         {"error.type", applied ? std::string_view() : core::ErrorCodeName(applied.error().code)}});
    }
    if (!applied) return done(std::unexpected(std::move(applied).error()));
  }
  if (frame.LiveCount() > 0) {
    if (auto checked = CheckAnswer(frame); !checked) return done(std::unexpected(std::move(checked).error()));
  }
  done(std::move(frame));
}

Result<Frame> Pipeline::RunToModel(Frame frame) const {
  for (const auto& step : steps_) {
    if (step->AsModel()) break;
    if (frame.LiveCount() == 0 && !step->ChecksInput()) continue;
    FERRY_RETURN_IF_ERROR(step->Apply(frame));
  }
  return frame;
}

std::vector<std::string> Pipeline::ColumnSources(std::string_view tensor) const {
  std::map<std::string, std::string, std::less<>> origin;  // name -> the field it comes from
  std::vector<std::string> columns;
  for (const auto& step : steps_) {
    if (step->AsModel()) break;
    for (const auto& [written, read] : step->Sources()) {
      const auto it = origin.find(read);
      origin[written] = it == origin.end() ? read : it->second;
    }
    if (auto spec = TensorStepOutput(*step); spec && spec->name == tensor) {
      columns = TensorStepColumns(*step);
      for (auto& c : columns) {
        if (const auto it = origin.find(c); it != origin.end()) c = it->second;
      }
    }
  }
  return columns;
}

std::vector<std::pair<std::string, std::string>> Pipeline::Answer(const Frame& frame) const {
  if (!respond_.empty()) return respond_;
  std::vector<std::pair<std::string, std::string>> answer;
  auto add = [&](const std::string& name) {
    if (std::none_of(answer.begin(), answer.end(), [&](const auto& p) { return p.first == name; }) &&
        (frame.columns.contains(name) || frame.tensors.contains(name))) {
      answer.emplace_back(name, name);
    }
  };
  for (const auto& name : frame.model_outputs) add(name);
  for (const auto& name : default_answer_) add(name);
  return answer;
}

Result<void> Pipeline::CheckAnswer(const Frame& frame) const {
  for (const auto& [out, from] : Answer(frame)) {
    if (!frame.columns.contains(from) && !frame.tensors.contains(from)) {
      return core::Internal(fmt::format("the answer's '{}' has no value: no step or model gave '{}'", out, from));
    }
  }
  return {};
}

namespace {

template <typename T>
void WriteTensorRow(const core::Tensor& t, std::size_t row, std::size_t width, core::JsonWriter& w) {
  const auto values = t.values<T>().subspan(row * width, width);
  auto one = [&](T v) {
    if constexpr (std::is_same_v<T, bool>) {
      w.Bool(v);
    } else {
      w.Number(v);
    }
  };
  if (width == 1) return one(values[0]);
  if (width == 0) return w.Null();
  w.BeginArray();
  for (T v : values) one(v);
  w.EndArray();
}

}  // namespace

Pipeline::AnswerWriter::AnswerWriter(const Pipeline& pipeline, const Frame& frame) {
  for (auto& [out, from] : pipeline.Answer(frame)) {
    Field field{.name = std::move(out)};
    if (auto c = frame.columns.find(from); c != frame.columns.end()) {
      field.column = &c->second;
    } else if (auto t = frame.tensors.find(from); t != frame.tensors.end()) {
      field.tensor = &t->second;
      field.width = frame.rows == 0 ? 0 : static_cast<std::size_t>(t->second.element_count()) / frame.rows;
    } else {
      continue;  // CheckAnswer, run before any frame with live rows is finished, rules this out
    }
    fields_.push_back(std::move(field));
  }
}

void Pipeline::AnswerWriter::Write(std::size_t row, core::JsonWriter& w, std::string_view replace_field,
                                   const std::function<void(core::JsonWriter&)>* replace,
                                   const std::function<void(core::JsonWriter&)>* append) const {
  w.BeginObject();
  bool replaced = false;
  for (const auto& field : fields_) {
    w.Key(field.name);
    if (replace && field.name == replace_field) {
      (*replace)(w);
      replaced = true;
      continue;
    }
    if (field.column) {
      const Column& column = *field.column;
      if (column.missing[row]) {
        w.Null();
        continue;
      }
      switch (column.kind) {
        case ColumnKind::kNumber: w.Number(column.numbers[row]); break;
        case ColumnKind::kBool: w.Bool(column.numbers[row] != 0); break;
        case ColumnKind::kString: w.String(column.strings[row]); break;
        case ColumnKind::kJson: w.Raw(column.strings[row]); break;
        case ColumnKind::kVector:
          w.BeginArray();
          for (std::size_t k = 0; k < column.width; ++k) w.Number(column.numbers[row * column.width + k]);
          w.EndArray();
          break;
      }
      continue;
    }
    const core::Tensor& t = *field.tensor;
    const std::size_t width = field.width;
    switch (t.type()) {
      case core::DataType::kFp32: WriteTensorRow<float>(t, row, width, w); break;
      case core::DataType::kFp64: WriteTensorRow<double>(t, row, width, w); break;
      case core::DataType::kInt8: WriteTensorRow<std::int8_t>(t, row, width, w); break;
      case core::DataType::kInt16: WriteTensorRow<std::int16_t>(t, row, width, w); break;
      case core::DataType::kInt32: WriteTensorRow<std::int32_t>(t, row, width, w); break;
      case core::DataType::kInt64: WriteTensorRow<std::int64_t>(t, row, width, w); break;
      case core::DataType::kUint8: WriteTensorRow<std::uint8_t>(t, row, width, w); break;
      case core::DataType::kUint16: WriteTensorRow<std::uint16_t>(t, row, width, w); break;
      case core::DataType::kUint32: WriteTensorRow<std::uint32_t>(t, row, width, w); break;
      case core::DataType::kUint64: WriteTensorRow<std::uint64_t>(t, row, width, w); break;
      case core::DataType::kBool: WriteTensorRow<bool>(t, row, width, w); break;
      default: w.Null(); break;  // FP16/BF16/BYTES do not reach the frame (the model step refuses BYTES)
    }
  }
  if (replace && !replaced) {
    w.Key(replace_field);
    (*replace)(w);
  }
  if (append && *append) (*append)(w);
  w.EndObject();
}

std::optional<core::Value> Pipeline::AnswerWriter::Get(std::size_t row, std::string_view name) const {
  auto field = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return f.name == name; });
  if (field == fields_.end()) return std::nullopt;
  if (field->column) {
    const Column& column = *field->column;
    if (column.missing[row]) return core::Value::Null();
    switch (column.kind) {
      case ColumnKind::kNumber: return core::Value::Number(column.numbers[row]);
      case ColumnKind::kBool: return core::Value::Bool(column.numbers[row] != 0);
      case ColumnKind::kString: return core::Value::String(column.strings[row]);
      case ColumnKind::kJson: return core::Value{.kind = core::Value::Kind::kObject};
      case ColumnKind::kVector: {
        core::Value v{.kind = core::Value::Kind::kArray};
        v.array.assign(column.numbers.begin() + static_cast<std::ptrdiff_t>(row * column.width),
                       column.numbers.begin() + static_cast<std::ptrdiff_t>((row + 1) * column.width));
        return v;
      }
    }
    return std::nullopt;
  }
  const core::Tensor& t = *field->tensor;
  if (field->width == 1) {
    if (t.type() == core::DataType::kBool) return core::Value::Bool(t.values<bool>()[row]);
    return core::Value::Number(core::ElementAsDouble(t, row));
  }
  core::Value v{.kind = core::Value::Kind::kArray};
  for (std::size_t k = 0; k < field->width; ++k) v.array.push_back(core::ElementAsDouble(t, row * field->width + k));
  return v;
}

Result<std::vector<core::Tensor>> Pipeline::AnswerTensors(Frame& frame) const {
  std::vector<core::Tensor> out;
  const auto rows = static_cast<std::int64_t>(frame.rows);
  for (const auto& [name, from] : Answer(frame)) {
    if (auto t = frame.tensors.find(from); t != frame.tensors.end()) {
      FERRY_ASSIGN_OR_RETURN(auto copy, core::Tensor::FromRaw(name, t->second.type(), t->second.shape(), t->second.bytes()));
      out.push_back(std::move(copy));
      continue;
    }
    const Column& column = frame.columns.find(from)->second;
    if (column.kind == ColumnKind::kString || column.kind == ColumnKind::kJson) {
      std::size_t bytes = 0;
      for (const auto& s : column.strings) bytes += 4 + s.size();
      auto t = core::Tensor::AllocateBytes(name, core::DataType::kBytes, core::Shape{rows}, bytes);
      std::byte* p = t.bytes().data();
      for (const auto& s : column.strings) p += core::WriteBytesElement(p, s);
      out.push_back(std::move(t));
    } else if (column.kind == ColumnKind::kBool) {
      FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, core::DataType::kBool, core::Shape{rows}));
      for (std::size_t r = 0; r < frame.rows; ++r) t.values<bool>()[r] = column.numbers[r] != 0;
      out.push_back(std::move(t));
    } else {
      const auto width = static_cast<std::int64_t>(column.kind == ColumnKind::kVector ? column.width : 1);
      FERRY_ASSIGN_OR_RETURN(auto t, core::Tensor::Allocate(name, core::DataType::kFp64,
                                                            column.kind == ColumnKind::kVector ? core::Shape{rows, width}
                                                                                               : core::Shape{rows}));
      std::memcpy(t.bytes().data(), column.numbers.data(), t.byte_size());
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::vector<core::TensorSpec> Pipeline::OutputSpecs(const ModelInvoker& invoker) const {
  // Which model step gives which name, to describe tensors by the model's own signature.
  std::vector<core::TensorSpec> specs;
  const ModelStep* last_model = nullptr;
  for (const auto& step : steps_) {
    if (const auto* m = step->AsModel()) last_model = m;
  }
  std::vector<core::TensorSpec> model_outputs;
  if (last_model) {
    if (auto info = invoker.Describe(last_model->model(), last_model->version())) {
      for (auto spec : info->signature.outputs) {
        if (!last_model->outputs().empty()) {
          auto it = std::find_if(last_model->outputs().begin(), last_model->outputs().end(),
                                 [&](const auto& p) { return p.first == spec.name; });
          if (it == last_model->outputs().end()) continue;
          spec.name = it->second;
        }
        model_outputs.push_back(std::move(spec));
      }
    }
  }
  // The answer's names: the respond step's, or the default (model outputs, then later names).
  std::vector<std::pair<std::string, std::string>> answer = respond_;
  if (answer.empty()) {
    for (const auto& spec : model_outputs) answer.emplace_back(spec.name, spec.name);
    for (const auto& name : default_answer_) {
      if (std::none_of(answer.begin(), answer.end(), [&](const auto& p) { return p.first == name; })) {
        answer.emplace_back(name, name);
      }
    }
  }
  for (const auto& [out, from] : answer) {
    core::TensorSpec spec{.name = out, .type = core::DataType::kFp32, .shape = core::Shape{-1, -1}};
    if (const Symbol* symbol = symbols_.Find(from); symbol && !symbol->tensor) {
      spec.type = ColumnType(symbol->kind);
      spec.shape = symbol->kind == ColumnKind::kVector
                       ? core::Shape{-1, symbol->width == 0 ? -1 : static_cast<std::int64_t>(symbol->width)}
                       : core::Shape{-1};
      specs.push_back(std::move(spec));
      continue;
    }
    auto model = std::find_if(model_outputs.begin(), model_outputs.end(), [&](const auto& s) { return s.name == from; });
    if (model != model_outputs.end()) {
      spec.type = model->type;
      spec.shape = model->shape;
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace ferry::pipeline
