#include "routing/ensemble.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "routing/aggregate.h"
#include "routing/route_info.h"
#include "routing/signatures.h"

namespace ferry::routing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<TargetSet::Named> Named(const EnsembleConfig& config) {
  std::vector<TargetSet::Named> named;
  for (const auto& member : config.members) named.push_back({member.name, member.target});
  return named;
}

// A record answer's value as a vote: a number, a boolean or a string.
std::optional<Label> AsLabel(const core::Value& value) {
  switch (value.kind) {
    case core::Value::Kind::kNumber: return Label{.number = value.number, .text = {}, .is_text = false};
    case core::Value::Kind::kBool: return Label{.number = value.boolean ? 1.0 : 0.0, .text = {}, .is_text = false};
    case core::Value::Kind::kString: return Label{.number = 0, .text = value.text, .is_text = true};
    default: return std::nullopt;
  }
}

// The records' answers of an ensemble: each record's answer is its base member's, with the
// aggregated field (and soft_vote's class) written in.
class EnsembleAnswers final : public Predictions::Answers {
 public:
  struct Row {
    std::size_t base = 0;  // the member whose answer the rest of the record comes from
    core::Value value;     // the aggregate
    std::optional<std::int64_t> label;  // soft_vote's winning class
  };
  EnsembleAnswers(std::vector<Predictions> members, std::vector<Row> rows, std::string field, std::string label_field)
      : members_(std::move(members)), rows_(std::move(rows)), field_(std::move(field)),
        label_field_(std::move(label_field)) {}

  void Write(std::size_t row, core::JsonWriter& w, const Predictions::Replacement*) const override {
    const Row& r = rows_[row];
    Predictions::Replacement replace{.field = field_, .write = [&](core::JsonWriter& out) { core::WriteJson(r.value, out); },
                                     .append = {}};
    if (r.label) {
      replace.append = [&](core::JsonWriter& out) {
        out.Key(label_field_);
        out.Number(*r.label);
      };
    }
    members_[r.base].WriteAnswer(row, w, &replace);
  }

  std::optional<core::Value> Field(std::size_t row, std::string_view name) const override {
    const Row& r = rows_[row];
    if (name == field_) return r.value;
    if (r.label && name == label_field_) return core::Value::Number(static_cast<double>(*r.label));
    return members_[r.base].Field(row, name);
  }

 private:
  const std::vector<Predictions> members_;
  const std::vector<Row> rows_;
  const std::string field_;
  const std::string label_field_;
};

}  // namespace

template <typename Answer>
struct Ensemble::Call {
  std::shared_ptr<const Servable> self;  // pins the ensemble
  Clock::time_point start = Clock::now();
  std::move_only_function<void(core::Result<Answer>)> done;
  std::string id;            // the request's id (tensors)
  std::size_t rows = 0;      // for the statistics
  std::mutex mutex;
  // Protected by mutex until `finished`; read-only after.
  std::vector<std::optional<core::Result<Answer>>> answers;  // nullopt: no answer (yet)
  std::size_t waiting = 0;
  bool finished = false;
};

Ensemble::Ensemble(Options options)
    : Servable(std::move(options.name), options.version), config_(std::move(options.config)),
      members_(Named(config_), *options.resolver), timer_(options.timer) {
  if (options.previous && options.previous->members_.targets() == members_.targets()) {
    counters_ = options.previous->counters_;
  } else {
    counters_ = std::make_shared<RouterCounters>(0, 0, config_.members.size());
  }
}

template <typename Answer, typename Send>
void Ensemble::Start(const std::shared_ptr<Call<Answer>>& call, Send&& send) const {
  const std::size_t n = config_.members.size();
  call->answers.resize(n);
  call->waiting = n;
  if (config_.member_timeout.count() > 0 && timer_) {
    timer_->At(call->start + config_.member_timeout, [this, call] {
      {
        std::lock_guard lock(call->mutex);
        if (call->finished) return;
        call->finished = true;
      }
      Finish(call);
    });
  }
  for (std::size_t m = 0; m < n; ++m) {
    auto servable = members_.Resolve(m);
    if (!servable) {
      Answered(call, m, core::Result<Answer>(std::unexpected(std::move(servable).error())));
      continue;
    }
    send(m, *servable);
  }
}

template <typename Answer>
void Ensemble::Answered(const std::shared_ptr<Call<Answer>>& call, std::size_t member,
                        core::Result<Answer> answer) const {
  MemberCounters& c = counters_->members[member];
  const bool ok = answer.has_value();
  bool finish = false;
  {
    std::lock_guard lock(call->mutex);
    if (call->finished) return;  // too late: counted as timed out
    call->answers[member] = std::move(answer);
    finish = --call->waiting == 0;
    if (finish) call->finished = true;
  }
  (ok ? c.answered : c.failed).fetch_add(1, std::memory_order_relaxed);
  c.duration.Observe(std::chrono::duration<double>(Clock::now() - call->start).count());
  if (finish) Finish(call);
}

core::Error Ensemble::BelowQuorum(const std::vector<std::string>& failures, std::size_t answered, bool all_invalid,
                                  const core::Error* first) const {
  counters_->quorum_failures.fetch_add(1, std::memory_order_relaxed);
  // When every member refused the input, the input is at fault: say so as the members did.
  if (all_invalid && first) return *first;
  return core::Error{core::ErrorCode::kUnavailable,
                     fmt::format("ensemble '{}': {} of {} members answered, fewer than its quorum of {}: {}", name(),
                                 answered, config_.members.size(), config_.quorum, fmt::join(failures, "; "))};
}

template <typename Answer>
void Ensemble::Finish(const std::shared_ptr<Call<Answer>>& call) const {
  std::vector<std::string> failures;
  std::vector<std::size_t> answered;
  bool all_invalid = true;
  const core::Error* first_error = nullptr;
  for (std::size_t m = 0; m < call->answers.size(); ++m) {
    const auto& member = config_.members[m];
    const auto& answer = call->answers[m];
    if (!answer) {
      counters_->members[m].timed_out.fetch_add(1, std::memory_order_relaxed);
      failures.push_back(fmt::format("'{}' did not answer within {} ms", member.name, config_.member_timeout.count()));
      all_invalid = false;
    } else if (!*answer) {
      failures.push_back(fmt::format("'{}' failed: {}", member.name, answer->error().message));
      all_invalid &= answer->error().code == core::ErrorCode::kInvalidArgument;
      if (!first_error) first_error = &answer->error();
    } else {
      answered.push_back(m);
    }
  }
  std::vector<std::string> names;
  for (std::size_t m : answered) names.push_back(config_.members[m].name);
  const RouteInfo route{.model = name(), .version = version(), .route = {}, .reason = "ensemble", .decision_id = {},
                        .ensemble = fmt::format("{}", fmt::join(names, ","))};
  auto fail = [&](core::Error error) {
    statistics_.RecordCall(Clock::now() - call->start, 0, false);
    call->done(std::unexpected(std::move(error)));
  };
  if (answered.size() < static_cast<std::size_t>(config_.quorum)) {
    return fail(BelowQuorum(failures, answered.size(), all_invalid && !failures.empty(), first_error));
  }

  if constexpr (std::is_same_v<Answer, core::InferenceResponse>) {
    std::vector<Contribution> contributions;
    for (std::size_t m : answered) {
      const auto& response = **call->answers[m];
      auto it = std::find_if(response.outputs.begin(), response.outputs.end(),
                             [&](const core::Tensor& t) { return t.name() == config_.output; });
      if (it == response.outputs.end()) {
        return fail(core::Error{core::ErrorCode::kInternal,
                                fmt::format("ensemble '{}': member '{}' answered without output '{}'", name(),
                                            config_.members[m].name, config_.output)});
      }
      contributions.push_back({.member = config_.members[m].name, .tensor = &*it, .weight = config_.members[m].weight});
    }
    auto outputs = Aggregate(config_.method, contributions, config_.output, config_.label_output);
    if (!outputs) return fail(std::move(outputs).error());
    core::InferenceResponse response{.model_name = name(), .model_version = version(), .id = std::move(call->id),
                                     .parameters = {}, .outputs = std::move(*outputs)};
    response.route = route;
    statistics_.RecordCall(Clock::now() - call->start, call->rows, true);
    call->done(std::move(response));
  } else {
    // Records: combined one by one on the answer field `output`.
    std::vector<Predictions> members;
    for (std::size_t m : answered) members.push_back(std::move(**call->answers[m]));
    const std::size_t records = members.front().size();
    std::vector<double> weights;
    for (std::size_t m : answered) {
      weights.push_back(config_.method == AggregateMethod::kMean ? 1.0 : config_.members[m].weight);
    }
    std::vector<Predictions::Outcome> outcomes(records);
    std::vector<EnsembleAnswers::Row> rows(records);
    for (std::size_t i = 0; i < records; ++i) {
      std::vector<std::size_t> voters;
      std::vector<core::Value> values;
      for (std::size_t k = 0; k < members.size(); ++k) {
        if (members[k].size() != records || members[k].state(i) != Predictions::State::kAnswered) continue;
        auto value = members[k].Field(i, config_.output);
        if (!value) continue;
        voters.push_back(k);
        values.push_back(std::move(*value));
      }
      auto& outcome = outcomes[i];
      if (voters.size() < static_cast<std::size_t>(config_.quorum)) {
        if (members.front().state(i) != Predictions::State::kAnswered) {
          outcome = members.front().outcome(i);  // rejected or skipped by the members' own steps
        } else {
          outcome = {.state = Predictions::State::kRejected, .step = "ensemble",
                     .error = fmt::format("{} of {} members answered '{}' for this record, fewer than the quorum of {}",
                                          voters.size(), config_.members.size(), config_.output, config_.quorum)};
        }
        continue;
      }
      std::vector<double> w;
      for (std::size_t k : voters) w.push_back(weights[k]);
      EnsembleAnswers::Row& row = rows[i];
      row.base = voters.front();
      if (config_.method == AggregateMethod::kMajority) {
        std::vector<Label> labels;
        for (const auto& v : values) labels.push_back(AsLabel(v).value_or(Label{}));
        row.value = values[MajorityVote(labels, w)];
      } else {
        const bool vectors = values.front().kind == core::Value::Kind::kArray;
        const std::size_t width = vectors ? values.front().array.size() : 1;
        std::vector<double> mean(width), column(values.size());
        bool numeric = true;
        for (std::size_t j = 0; j < width && numeric; ++j) {
          for (std::size_t k = 0; k < values.size(); ++k) {
            const auto& v = values[k];
            if (vectors && v.kind == core::Value::Kind::kArray && v.numeric_array && v.array.size() == width) {
              column[k] = v.array[j];
            } else if (!vectors && (v.kind == core::Value::Kind::kNumber || v.kind == core::Value::Kind::kBool)) {
              column[k] = v.kind == core::Value::Kind::kBool ? (v.boolean ? 1 : 0) : v.number;
            } else {
              numeric = false;
            }
          }
          mean[j] = config_.method == AggregateMethod::kMedian ? WeightedMedian(column, w) : WeightedMean(column, w);
        }
        if (!numeric) {
          outcome = {.state = Predictions::State::kRejected, .step = "ensemble",
                     .error = fmt::format("'{}' is not a number (or equal-length list of numbers) in every member's "
                                          "answer; {} needs numbers",
                                          config_.output, AggregateMethodName(config_.method))};
          continue;
        }
        if (vectors) {
          row.value = core::Value{.kind = core::Value::Kind::kArray};
          row.value.array = mean;
        } else {
          row.value = core::Value::Number(mean.front());
        }
        if (config_.method == AggregateMethod::kSoftVote) {
          std::int64_t winner = 0;
          if (width == 1) {
            winner = mean.front() >= 0.5 ? 1 : 0;
          } else {
            for (std::size_t j = 1; j < width; ++j) {
              if (mean[j] > mean[static_cast<std::size_t>(winner)]) winner = static_cast<std::int64_t>(j);
            }
          }
          row.label = winner;
        }
      }
    }
    auto answers = std::make_shared<const EnsembleAnswers>(std::move(members), std::move(rows), config_.output,
                                                           config_.label_output);
    statistics_.RecordCall(Clock::now() - call->start, records, true);
    call->done(Predictions(std::move(outcomes), std::move(answers), route));
  }
}

void Ensemble::Infer(core::InferenceRequest&& request, const CallContext&, InferDone done) const {
  auto call = std::make_shared<Call<core::InferenceResponse>>();
  call->self = shared_from_this();
  call->done = std::move(done);
  call->id = request.id;
  call->rows = request.inputs.empty() || request.inputs.front().shape().rank() == 0
                   ? 1
                   : static_cast<std::size_t>(std::max<std::int64_t>(request.inputs.front().shape()[0], 1));
  for (const auto& wanted : request.outputs) {
    if (wanted.name != config_.output &&
        !(config_.method == AggregateMethod::kSoftVote && wanted.name == config_.label_output)) {
      statistics_.RecordCall(Clock::now() - call->start, 0, false);
      return call->done(core::InvalidArgument(fmt::format("ensemble '{}' answers '{}'{}; it has no output '{}'", name(),
                                                          config_.output,
                                                          config_.method == AggregateMethod::kSoftVote
                                                              ? fmt::format(" and '{}'", config_.label_output)
                                                              : std::string(),
                                                          wanted.name)));
    }
  }
  request.outputs = {core::RequestedOutput{.name = config_.output, .parameters = {}}};
  Start(call, [&](std::size_t m, const ServableHandle& servable) {
    auto copy = core::Clone(request);
    copy.model_name = config_.members[m].target.model;
    copy.model_version = config_.members[m].target.version;
    servable->Infer(std::move(copy), CallContext::None(),
                    [this, call, m](core::Result<core::InferenceResponse> answer) { Answered(call, m, std::move(answer)); });
  });
}

void Ensemble::Predict(std::vector<core::Record> records, std::span<const CallContext* const>, PredictDone done) const {
  auto call = std::make_shared<Call<Predictions>>();
  call->self = shared_from_this();
  call->done = std::move(done);
  call->rows = records.size();
  Start(call, [&](std::size_t m, const ServableHandle& servable) {
    const CallContext* none[] = {&CallContext::None()};
    servable->Predict(records, none,
                      [this, call, m](core::Result<Predictions> answer) { Answered(call, m, std::move(answer)); });
  });
}

core::ModelSignature Ensemble::Signature() const {
  const core::ModelSignature common = members_.Signature();
  core::ModelSignature signature{.inputs = common.inputs, .outputs = {}};
  auto member = std::find_if(common.outputs.begin(), common.outputs.end(),
                             [&](const auto& spec) { return spec.name == config_.output; });
  core::TensorSpec out{.name = config_.output, .type = core::DataType::kFp64, .shape = core::Shape{-1}};
  if (member != common.outputs.end()) {
    out.shape = member->shape;
    out.type = config_.method == AggregateMethod::kMajority || member->type == core::DataType::kFp32
                   ? member->type
                   : core::DataType::kFp64;
  }
  signature.outputs.push_back(out);
  if (config_.method == AggregateMethod::kSoftVote) {
    signature.outputs.push_back({.name = config_.label_output, .type = core::DataType::kInt64, .shape = core::Shape{-1}});
  }
  return signature;
}

std::int64_t Ensemble::max_batch_size() const { return members_.max_batch_size(); }
bool Ensemble::TakesRecords() const { return members_.TakesRecords(); }
std::vector<core::RecordField> Ensemble::RecordFields() const { return members_.RecordFields(); }

bool Ensemble::Ready() const {
  std::size_t ready = 0;
  for (const auto& [i, servable] : members_.ServingNow()) ready += servable->Ready() ? 1 : 0;
  return ready >= static_cast<std::size_t>(config_.quorum);
}

std::vector<std::string> Ensemble::Targets() const {
  std::vector<std::string> targets;
  for (const auto& member : config_.members) targets.push_back(member.target.model);
  return targets;
}

core::Result<core::Explanation> Ensemble::Explain(core::InferenceRequest&& request) const {
  if (config_.method != AggregateMethod::kMean && config_.method != AggregateMethod::kWeightedMean) {
    return core::Unimplemented(fmt::format("ensemble '{}' combines its members by {}, which explanations do not add "
                                           "up through; explain its members", name(),
                                           AggregateMethodName(config_.method)));
  }
  const bool weighted = config_.method == AggregateMethod::kWeightedMean;
  double total = 0;
  for (const auto& m : config_.members) total += weighted ? m.weight : 1.0;
  std::optional<core::Explanation> combined;
  for (std::size_t i = 0; i < config_.members.size(); ++i) {
    const auto& member = config_.members[i];
    auto servable = members_.Resolve(i);
    if (!servable) {
      return core::Unavailable(fmt::format("ensemble '{}' member '{}': {}", name(), member.name,
                                           servable.error().message));
    }
    core::InferenceRequest call = core::Clone(request);
    call.model_name = (*servable)->name();
    call.model_version = (*servable)->version();
    call.outputs.clear();  // the ensemble's own outputs; a member explains what it answers
    auto explained = (*servable)->Explain(std::move(call));
    if (!explained) {
      return core::MakeError(explained.error().code, fmt::format("ensemble '{}' member '{}': {}", name(), member.name,
                                                                 explained.error().message));
    }
    // Only the aggregated output counts.
    std::erase_if(explained->outputs, [&](const core::OutputContributions& o) { return o.output != config_.output; });
    if (explained->outputs.empty()) {
      return core::Unimplemented(fmt::format("ensemble '{}' member '{}' does not explain output '{}'", name(),
                                             member.name, config_.output));
    }
    const double w = (weighted ? member.weight : 1.0) / total;
    for (auto& o : explained->outputs) {
      for (auto& b : o.base) b *= w;
      for (auto& v : o.values) v *= w;
    }
    if (!combined) {
      combined = std::move(*explained);
      continue;
    }
    const auto& a = *combined;
    auto& b = *explained;
    const bool same = a.features == b.features && a.rows == b.rows && a.outputs.size() == b.outputs.size() &&
                      std::equal(a.outputs.begin(), a.outputs.end(), b.outputs.begin(),
                                 [](const auto& x, const auto& y) { return x.column == y.column && x.space == y.space; });
    if (!same) {
      return core::Unimplemented(fmt::format("ensemble '{}': member '{}' explains other features or in another space "
                                             "than the first member; explain its members", name(), member.name));
    }
    if (combined->method != b.method) combined->method = fmt::format("{}+{}", combined->method, b.method);
    combined->additivity_error = std::max(combined->additivity_error, b.additivity_error);  // the worst measured
    for (std::size_t o = 0; o < b.outputs.size(); ++o) {
      auto& into = combined->outputs[o];
      for (std::size_t k = 0; k < into.base.size(); ++k) into.base[k] += b.outputs[o].base[k];
      for (std::size_t k = 0; k < into.values.size(); ++k) into.values[k] += b.outputs[o].values[k];
    }
  }
  if (!combined) return core::Unavailable(fmt::format("ensemble '{}' has no members", name()));
  combined->model = name();
  combined->version = version();
  combined->route = name();
  return *std::move(combined);
}

core::Result<RoutingState> Ensemble::Routing() const {
  RoutingState state{.kind = "ensemble", .policy = std::string(AggregateMethodName(config_.method)), .routes = {},
                     .shadows = {}};
  double total = 0;
  for (const auto& m : config_.members) total += m.weight;
  for (std::size_t i = 0; i < config_.members.size(); ++i) {
    const auto& member = config_.members[i];
    const MemberCounters& c = counters_->members[i];
    RouteState r{.name = member.name, .target = member.target.ToString(), .weight = member.weight / total};
    auto servable = members_.Resolve(i);
    r.ready = servable && (*servable)->Ready();
    r.requests = c.answered.load(std::memory_order_relaxed) + c.failed.load(std::memory_order_relaxed) +
                 c.timed_out.load(std::memory_order_relaxed);
    r.errors = c.failed.load(std::memory_order_relaxed) + c.timed_out.load(std::memory_order_relaxed);
    state.routes.push_back(std::move(r));
  }
  return state;
}

void Ensemble::CollectMetrics(observe::MetricSet& set) const {
  for (std::size_t i = 0; i < config_.members.size(); ++i) {
    const auto& member = config_.members[i].name;
    const MemberCounters& c = counters_->members[i];
    for (auto [outcome, value] : {std::pair{"answered", &c.answered}, {"failed", &c.failed}, {"timed_out", &c.timed_out}}) {
      set.Counter("ferry_ensemble_member_total", "Ensemble members' answers to calls, by outcome.",
                  {{"router", name()}, {"member", member}, {"outcome", outcome}},
                  static_cast<double>(value->load(std::memory_order_relaxed)));
    }
    c.duration.Collect(set, "ferry_ensemble_member_duration_seconds", "Time from an ensemble call to a member's answer.",
                       {{"router", name()}, {"member", member}});
  }
  set.Counter("ferry_ensemble_quorum_failures_total", "Ensemble calls that failed with fewer answers than the quorum.",
              {{"router", name()}}, static_cast<double>(counters_->quorum_failures.load(std::memory_order_relaxed)));
}

}  // namespace ferry::routing
