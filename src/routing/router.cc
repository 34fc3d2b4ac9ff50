#include "routing/router.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "routing/route_info.h"
#include "routing/signatures.h"

namespace ferry::routing {
namespace {

using Clock = std::chrono::steady_clock;

// Which fallback class an error is in, if any: a route that cannot serve (unknown, unloaded,
// unavailable), a full queue, or a request that waited past its timeout. Bad input and model
// errors are not: another route would fail them the same way.
std::optional<FailureClass> Classify(const core::Error& error) {
  switch (error.code) {
    case core::ErrorCode::kNotFound: return FailureClass::kUnavailable;
    case core::ErrorCode::kDeadlineExceeded: return FailureClass::kTimeout;
    case core::ErrorCode::kResourceExhausted: return FailureClass::kQueueFull;
    case core::ErrorCode::kUnavailable:
      return error.message.find("queue is full") != std::string::npos ? FailureClass::kQueueFull
                                                                         : FailureClass::kUnavailable;
    default: return std::nullopt;
  }
}

std::size_t Rows(const core::InferenceRequest& request, std::int64_t max_batch_size) {
  if (max_batch_size <= 0 || request.inputs.empty() || request.inputs.front().shape().rank() == 0) return 1;
  return static_cast<std::size_t>(std::max<std::int64_t>(request.inputs.front().shape()[0], 1));
}

std::vector<double> Weights(const RouterConfig& config) {
  std::vector<double> weights;
  for (const auto& route : config.routes) weights.push_back(route.weight);
  return weights;
}

bool SameShadows(const RouterConfig& a, const RouterConfig& b) {
  if (a.shadows.size() != b.shadows.size()) return false;
  for (std::size_t i = 0; i < a.shadows.size(); ++i) {
    if (a.shadows[i].name != b.shadows[i].name) return false;
  }
  return true;
}

// "stable, canary": the routes, for error messages.
std::string RouteNames(const RouterConfig& config) {
  std::vector<std::string_view> names;
  for (const auto& route : config.routes) names.push_back(route.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::vector<TargetSet::Named> Named(const RouterConfig& config) {
  std::vector<TargetSet::Named> named;
  for (const auto& route : config.routes) named.push_back({route.name, route.target});
  return named;
}

std::string KeyText(const core::Value& value) {
  switch (value.kind) {
    case core::Value::Kind::kString: return value.text;
    case core::Value::Kind::kNumber: return fmt::format("{}", value.number);
    case core::Value::Kind::kBool: return value.boolean ? "true" : "false";
    default: return {};
  }
}

}  // namespace

// One call (or one group of records of a call): what it needs until it is answered.
struct Router::Call {
  std::shared_ptr<const Servable> self;  // pins the router
  Clock::time_point start = Clock::now();
  std::size_t rows = 1;
  std::size_t decisions = 1;  // what the route's request counter gets (records decided one by one)
  Choice choice;              // the route being tried
  InferDone infer_done;      // tensors, or
  PredictDone predict_done;  // records
  std::optional<core::InferenceRequest> spare;       // for the fallback
  std::optional<std::vector<core::Record>> spare_records;
  std::optional<Shadows::Mirror> mirror;             // the shadows' copies

  // Answers the client, then sends the shadows their copies: a shadow never delays an answer,
  // and the call's own inference is done before its copies compete for the cores.
  template <typename Answer, typename Done>
  void Reply(Done& done, Answer answer) {
    if (mirror) mirror->comparisons().Primary(answer);
    done(std::move(answer));
    if (mirror) mirror->Send();
  }
};

Router::Router(Options options)
    : Servable(std::move(options.name), options.version), config_(std::move(options.config)),
      resolver_(*options.resolver), routes_(Named(config_), resolver_) {
  const Router* previous = options.previous;
  if (previous && previous->routes_.targets() == routes_.targets() && SameShadows(previous->config_, config_)) {
    counters_ = previous->counters_;
  } else {
    counters_ = std::make_shared<RouterCounters>(config_.routes.size(), config_.shadows.size(), 0);
  }
  if (config_.fallback) {
    for (std::size_t i = 0; i < config_.routes.size(); ++i) {
      if (config_.routes[i].name == config_.fallback->to) fallback_route_ = i;
    }
  }
  if (config_.bandit) {
    std::vector<Bandit::Arm> arms;
    for (const auto& route : config_.routes) arms.push_back({route.name, route.target.ToString()});
    // A reload that keeps the routes keeps what the bandit learnt (and takes the new policy).
    bandit_ = std::make_shared<Bandit>(Bandit::Options{.router = name(), .config = *config_.bandit, .arms = arms},
                                       previous ? previous->bandit_.get() : nullptr);
    if (options.timer) Bandit::SaveEvery(bandit_, *options.timer);
  }
  if (!config_.shadows.empty()) {
    shadows_ = std::make_unique<Shadows>(config_.shadows, resolver_, counters_);
  }
  const auto weights = Weights(config_);
  tables_.push_back(std::make_unique<const SplitTable>(weights));
  split_.store(tables_.back().get(), std::memory_order_release);
}

core::Result<Router::Choice> Router::Choose(const CallContext& context, const core::Parameters* parameters,
                                            const core::Record* record, std::size_t rows) const {
  if (!config_.override_header.empty()) {
    if (auto forced = context.Header(config_.override_header); forced && !forced->empty()) {
      for (std::size_t i = 0; i < config_.routes.size(); ++i) {
        if (config_.routes[i].name == *forced) return Choice{.route = i, .reason = Reason::kOverride};
      }
      return core::InvalidArgument(fmt::format("header {}: '{}' names no route of router '{}' (routes: {})",
                                               config_.override_header, *forced, name(), RouteNames(config_)));
    }
  }
  if (bandit_) {
    auto decision = bandit_->Decide(rows);
    return Choice{.route = decision.arm,
                  .reason = decision.explore ? Reason::kExplore : Reason::kExploit,
                  .decision_id = std::move(decision.id)};
  }
  const SplitTable& split = *split_.load(std::memory_order_acquire);
  if (config_.sticky) {
    std::optional<std::string> key;
    const auto& sticky = *config_.sticky;
    switch (sticky.kind) {
      case StickyConfig::Kind::kHeader:
        if (auto value = context.Header(sticky.name)) key = std::string(*value);
        break;
      case StickyConfig::Kind::kKafkaKey:
        if (auto value = context.Key()) key = std::string(*value);
        break;
      case StickyConfig::Kind::kParameter:
        if (parameters) {
          if (auto it = parameters->find(sticky.name); it != parameters->end()) key = ParameterText(it->second);
        }
        break;
      case StickyConfig::Kind::kField:
        if (record) {
          if (const core::Value* value = record->Find(sticky.name)) key = KeyText(*value);
        }
        break;
    }
    if (key && !key->empty()) {
      return Choice{.route = split.Pick(static_cast<std::uint32_t>(StickyHash(*key) >> 32)), .reason = Reason::kSticky};
    }
  }
  return Choice{.route = split.Pick(RandomDraw()), .reason = Reason::kWeighted};
}

core::Result<Router::Choice> Router::TracedChoice(const CallContext& context, const core::Parameters* parameters,
                                                  const core::Record* record, std::size_t rows) const {
  const auto trace = context.Trace();
  if (!trace) return Choose(context, parameters, record, rows);
  const auto start = Clock::now();
  auto choice = Choose(context, parameters, record, rows);
  const std::string step = "route " + name();
  if (choice) {
    trace->Step(step, start, Clock::now(),
                {{"ferry.route", config_.routes[choice->route].name}, {"ferry.route.reason", ReasonName(choice->reason)},
                 {"ferry.route.target", config_.routes[choice->route].target.ToString()}});
  } else {
    trace->Step(step, start, Clock::now(), {{"error.type", core::ErrorCodeName(choice.error().code)}});
  }
  return choice;
}

void Router::Infer(core::InferenceRequest&& request, const CallContext& context, InferDone done) const {
  auto call = std::make_shared<Call>();
  call->self = shared_from_this();
  // Rows matter to bandits (a pull a row) and statistics; finding whether the routes have a batch
  // dimension resolves them, so only bandits pay for it.
  call->rows = bandit_ ? Rows(request, max_batch_size()) : Rows(request, 1);
  call->infer_done = std::move(done);
  auto choice = TracedChoice(context, &request.parameters, nullptr, call->rows);
  if (!choice) {
    statistics_.RecordCall(Clock::now() - call->start, 0, false);
    return call->infer_done(std::unexpected(std::move(choice).error()));
  }
  if (shadows_) call->mirror = shadows_->Prepare(request);
  if (fallback_route_ && choice->route != *fallback_route_) call->spare = core::Clone(request);
  call->choice = std::move(*choice);
  Dispatch(std::move(call), std::move(request), context);
}

core::Result<Router::Choice> Router::ExplainedRoute(const std::string* named, const core::Parameters* parameters,
                                                    const core::Record* record, std::size_t rows) const {
  if (named) {
    for (std::size_t i = 0; i < config_.routes.size(); ++i) {
      if (config_.routes[i].name == *named) return Choice{.route = i, .reason = Reason::kOverride};
    }
    return core::InvalidArgument(fmt::format("parameter 'route': '{}' names no route of router '{}' (routes: {})",
                                             *named, name(), RouteNames(config_)));
  }
  if (bandit_) {
    return core::InvalidArgument(fmt::format("router '{}' decides each call by its bandit; name the route to explain "
                                             "in parameters.route (routes: {})", name(), RouteNames(config_)));
  }
  return Choose(CallContext::None(), parameters, record, rows);
}

core::Result<core::Explanation> Router::Explain(core::InferenceRequest&& request) const {
  const std::string* named = nullptr;
  if (auto it = request.parameters.find("route"); it != request.parameters.end()) {
    named = std::get_if<std::string>(&it->second);
    if (!named) return core::InvalidArgument("parameter 'route' must be a route's name");
  }
  const std::size_t rows = request.inputs.empty() || request.inputs.front().shape().rank() == 0
                               ? 1 : static_cast<std::size_t>(std::max<std::int64_t>(request.inputs.front().shape()[0], 1));
  FERRY_ASSIGN_OR_RETURN(const Choice choice, ExplainedRoute(named, &request.parameters, nullptr, rows));
  FERRY_ASSIGN_OR_RETURN(const ServableHandle target, ResolveRoute(choice));
  request.model_name = target->name();
  request.model_version = target->version();
  FERRY_ASSIGN_OR_RETURN(core::Explanation explanation, target->Explain(std::move(request)));
  explanation.route = fmt::format("{}/{}", name(), config_.routes[choice.route].name);
  return explanation;
}

core::Result<core::Explanation> Router::ExplainRecords(std::vector<core::Record> records) const {
  if (records.empty()) return core::InvalidArgument("no records to explain");
  FERRY_ASSIGN_OR_RETURN(const Choice choice, ExplainedRoute(nullptr, nullptr, &records.front(), records.size()));
  FERRY_ASSIGN_OR_RETURN(const ServableHandle target, ResolveRoute(choice));
  FERRY_ASSIGN_OR_RETURN(core::Explanation explanation, target->ExplainRecords(std::move(records)));
  explanation.route = fmt::format("{}/{}", name(), config_.routes[choice.route].name);
  return explanation;
}

core::Result<ServableHandle> Router::ResolveRoute(const Choice& choice) const {
  auto servable = routes_.Resolve(choice.route);
  if (servable) return servable;
  core::Error error = std::move(servable).error();
  // The router exists; its route does not serve: unavailable (503), not an unknown model (404).
  if (error.code == core::ErrorCode::kNotFound) error.code = core::ErrorCode::kUnavailable;
  error.message = fmt::format("router '{}' route '{}': {}", name(), config_.routes[choice.route].name, error.message);
  return std::unexpected(std::move(error));
}

void Router::Dispatch(std::shared_ptr<Call> call, core::InferenceRequest&& request, const CallContext& context) const {
  const Choice& choice = call->choice;
  const RouteConfig& route = config_.routes[choice.route];
  counters_->routes[choice.route].requests[static_cast<std::size_t>(choice.reason)].fetch_add(1, std::memory_order_relaxed);
  auto servable = ResolveRoute(choice);
  if (!servable) {
    core::Error error = std::move(servable).error();
    if (FallBack(call, error)) return;
    statistics_.RecordCall(Clock::now() - call->start, 0, false);
    return call->Reply(call->infer_done, core::Result<core::InferenceResponse>(std::unexpected(std::move(error))));
  }
  request.model_name = route.target.model;
  request.model_version = route.target.version;
  (*servable)->Infer(std::move(request), context,
                     [this, call](core::Result<core::InferenceResponse> answer) mutable {
                       const Choice& choice = call->choice;
                       if (!answer) {
                         if (FallBack(call, answer.error())) return;
                         statistics_.RecordCall(Clock::now() - call->start, 0, false);
                         return call->Reply(call->infer_done, std::move(answer));
                       }
                       if (answer->route.empty()) {
                         answer->route.model = std::move(answer->model_name);
                         answer->route.version = answer->model_version;
                       }
                       answer->route.Wrap(config_.routes[choice.route].name, ReasonName(choice.reason),
                                          choice.decision_id);
                       answer->model_name = name();
                       answer->model_version = version();
                       statistics_.RecordCall(Clock::now() - call->start, call->rows, true);
                       call->Reply(call->infer_done, std::move(answer));
                     });
}

bool Router::FallBack(const std::shared_ptr<Call>& call, const core::Error& error) const {
  const Choice& choice = call->choice;
  counters_->routes[choice.route].errors.fetch_add(1, std::memory_order_relaxed);
  if (!fallback_route_ || choice.route == *fallback_route_ || (!call->spare && !call->spare_records)) return false;
  const auto failure = Classify(error);
  const auto& on = config_.fallback->on;
  if (!failure || std::find(on.begin(), on.end(), *failure) == on.end()) return false;
  if (bandit_ && !choice.decision_id.empty()) bandit_->Redirect(choice.decision_id, *fallback_route_);
  call->choice = Choice{.route = *fallback_route_, .reason = Reason::kFallback, .decision_id = choice.decision_id};
  if (call->spare) {
    auto request = std::move(*call->spare);
    call->spare.reset();
    Dispatch(call, std::move(request), CallContext::None());
  } else {
    auto records = std::move(*call->spare_records);
    call->spare_records.reset();
    DispatchRecords(call, std::move(records), CallContext::None());
  }
  return true;
}

void Router::DispatchRecords(std::shared_ptr<Call> call, std::vector<core::Record> records,
                             const CallContext& context) const {
  const Choice& choice = call->choice;
  counters_->routes[choice.route].requests[static_cast<std::size_t>(choice.reason)].fetch_add(
      call->decisions, std::memory_order_relaxed);
  auto servable = ResolveRoute(choice);
  if (!servable) {
    core::Error error = std::move(servable).error();
    if (FallBack(call, error)) return;
    return call->Reply(call->predict_done, core::Result<Predictions>(std::unexpected(std::move(error))));
  }
  const CallContext* contexts[] = {&context};
  (*servable)->Predict(std::move(records), contexts,
                       [this, call](core::Result<Predictions> answer) mutable {
                         const Choice& choice = call->choice;
                         if (!answer) {
                           if (FallBack(call, answer.error())) return;
                           return call->Reply(call->predict_done, std::move(answer));
                         }
                         answer->Wrap(config_.routes[choice.route].name, ReasonName(choice.reason),
                                      choice.decision_id);
                         call->Reply(call->predict_done, std::move(answer));
                       });
}

void Router::Predict(std::vector<core::Record> records, std::span<const CallContext* const> contexts,
                     PredictDone done) const {
  const auto start = Clock::now();
  const std::size_t count = records.size();
  auto finish = [this, self = shared_from_this(), start, count,
                 done = std::move(done)](core::Result<Predictions> answer) mutable {
    statistics_.RecordCall(Clock::now() - start, answer ? count : 0, answer.has_value());
    done(std::move(answer));
  };
  const bool each = contexts.size() == count && count > 1;
  const CallContext& shared_context = contexts.empty() ? CallContext::None() : *contexts.front();
  auto start_call = [&](PredictDone group_done, std::size_t rows) {
    auto call = std::make_shared<Call>();
    call->self = shared_from_this();
    call->rows = rows;
    call->predict_done = std::move(group_done);
    return call;
  };
  if (!each) {
    auto choice = TracedChoice(shared_context, nullptr, count == 1 ? &records.front() : nullptr, count);
    if (!choice) return finish(std::unexpected(std::move(choice).error()));
    auto call = start_call(std::move(finish), count);
    if (shadows_) call->mirror = shadows_->Prepare(records);
    if (fallback_route_ && choice->route != *fallback_route_) call->spare_records = records;
    call->choice = std::move(*choice);
    DispatchRecords(std::move(call), std::move(records), shared_context);
    return;
  }
  // One decision a record (stream events): records grouped by route and reason, one call a
  // group, merged; each record keeps its own decision id.
  struct Join {
    std::mutex mutex;
    std::size_t waiting = 0;  // protected by mutex
    std::vector<std::pair<Predictions, std::vector<std::size_t>>> parts;  // protected by mutex
    std::optional<core::Error> error;                                      // protected by mutex
    std::vector<std::string> decisions;  // by record
    PredictDone done;
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(finish);
  join->decisions.resize(count);
  std::map<std::pair<std::size_t, Reason>, std::vector<std::size_t>> groups;  // (route, reason) -> records
  std::vector<Predictions::Outcome> refused;
  std::vector<std::size_t> refused_rows;
  for (std::size_t i = 0; i < count; ++i) {
    auto choice = TracedChoice(*contexts[i], nullptr, &records[i], 1);
    if (!choice) {
      refused.push_back({.state = Predictions::State::kRejected, .step = "router", .error = choice.error().message});
      refused_rows.push_back(i);
      continue;
    }
    groups[{choice->route, choice->reason}].push_back(i);
    join->decisions[i] = std::move(choice->decision_id);
  }
  if (!refused.empty()) {
    join->parts.emplace_back(Predictions(std::move(refused), nullptr, RouteInfo{}), std::move(refused_rows));
  }
  auto complete = [join, count] {
    if (join->error) return join->done(std::unexpected(*join->error));
    Predictions merged = Predictions::Merge(count, std::move(join->parts));
    for (std::size_t i = 0; i < count; ++i) {
      if (!join->decisions[i].empty()) merged.Wrap(i, {}, {}, join->decisions[i]);
    }
    join->done(std::move(merged));
  };
  join->waiting = groups.size();
  if (groups.empty()) return complete();
  for (auto& [key, rows] : groups) {
    const auto [route, reason] = key;
    std::vector<core::Record> group;
    group.reserve(rows.size());
    for (std::size_t i : rows) group.push_back(std::move(records[i]));
    auto group_done = [join, rows, complete](core::Result<Predictions> answer) mutable {
      bool last = false;
      {
        std::lock_guard lock(join->mutex);
        if (!answer) {
          if (!join->error) join->error = answer.error();
        } else {
          join->parts.emplace_back(std::move(*answer), std::move(rows));
        }
        last = --join->waiting == 0;
      }
      if (last) complete();
    };
    auto call = start_call(std::move(group_done), group.size());
    call->decisions = group.size();
    if (shadows_) call->mirror = shadows_->Prepare(group);
    if (fallback_route_ && route != *fallback_route_) call->spare_records = group;
    call->choice = Choice{.route = route, .reason = reason, .decision_id = {}};
    DispatchRecords(std::move(call), std::move(group), CallContext::None());
  }
}

bool Router::Needed(std::size_t route) const {
  if (bandit_) return true;
  return split_.load(std::memory_order_acquire)->share(route) > 0;
}

core::ModelSignature Router::Signature() const { return routes_.Signature(); }
std::int64_t Router::max_batch_size() const { return routes_.max_batch_size(); }
bool Router::TakesRecords() const { return routes_.TakesRecords(); }
std::vector<core::RecordField> Router::RecordFields() const { return routes_.RecordFields(); }

bool Router::Ready() const {
  bool fallback_ready = false;
  if (fallback_route_) {
    auto servable = routes_.Resolve(*fallback_route_);
    fallback_ready = servable && (*servable)->Ready();
  }
  bool any = false;
  for (std::size_t i = 0; i < config_.routes.size(); ++i) {
    if (!Needed(i)) continue;
    auto servable = routes_.Resolve(i);
    const bool ready = servable && (*servable)->Ready();
    if (!ready && !fallback_ready) return false;
    any |= ready;
  }
  return any || fallback_ready;
}

std::vector<std::string> Router::Targets() const { return TargetNames(config_); }

core::Result<RoutingState> Router::Routing() const {
  RoutingState state{.kind = bandit_ ? "bandit" : "split", .policy = {}, .routes = {}, .shadows = {}};
  const SplitTable& split = *split_.load(std::memory_order_acquire);
  std::vector<Bandit::ArmState> arms;
  std::vector<Bandit::Posterior> posteriors;
  if (bandit_) {
    state.policy = std::string(BanditPolicyName(bandit_->config().policy));
    arms = bandit_->State();
    posteriors = bandit_->Posteriors();
  }
  for (std::size_t i = 0; i < config_.routes.size(); ++i) {
    const auto& route = config_.routes[i];
    RouteState r{.name = route.name, .target = route.target.ToString(), .weight = split.share(i)};
    auto servable = routes_.Resolve(i);
    r.ready = servable && (*servable)->Ready();
    r.requests = counters_->routes[i].total();
    r.errors = counters_->routes[i].errors.load(std::memory_order_relaxed);
    if (bandit_) {
      r.weight = posteriors[i].probability_best;
      r.pulls = arms[i].pulls;
      r.rewarded = arms[i].rewarded;
      r.mean_reward = arms[i].rewarded ? arms[i].reward_sum / static_cast<double>(arms[i].rewarded) : 0;
      r.alpha = posteriors[i].alpha;
      r.beta = posteriors[i].beta;
      r.probability_best = posteriors[i].probability_best;
    }
    state.routes.push_back(std::move(r));
  }
  for (const auto& shadow : config_.shadows) state.shadows.push_back(shadow.target.ToString());
  return state;
}

core::Result<void> Router::SetWeights(const std::vector<std::pair<std::string, double>>& weights) const {
  if (bandit_) {
    return core::InvalidArgument(fmt::format("router '{}' is a bandit: it sets its own weights from feedback", name()));
  }
  std::lock_guard lock(mutex_);
  std::vector<double> next = split_.load(std::memory_order_acquire)->weights();
  for (const auto& [route, weight] : weights) {
    auto it = std::find_if(config_.routes.begin(), config_.routes.end(), [&](const auto& r) { return r.name == route; });
    if (it == config_.routes.end()) {
      return core::InvalidArgument(fmt::format("router '{}' has no route '{}' (routes: {})", name(), route,
                                               RouteNames(config_)));
    }
    if (!std::isfinite(weight) || weight < 0) {
      return core::InvalidArgument(fmt::format("route '{}': a weight must be a number >= 0, got {}", route, weight));
    }
    next[static_cast<std::size_t>(it - config_.routes.begin())] = weight;
  }
  double total = 0;
  for (double w : next) total += w;
  if (total <= 0) return core::InvalidArgument("the weights would add up to 0; give at least one route a weight > 0");
  tables_.push_back(std::make_unique<const SplitTable>(next));
  split_.store(tables_.back().get(), std::memory_order_release);
  return {};
}

core::Result<std::vector<FeedbackResult>> Router::ApplyFeedback(const std::vector<Feedback>& feedback) const {
  if (!bandit_) return Servable::ApplyFeedback(feedback);
  std::vector<FeedbackResult> results;
  for (const auto& f : feedback) {
    results.push_back(bandit_->Apply(f));
    counters_->feedback[static_cast<std::size_t>(results.back().outcome)].fetch_add(1, std::memory_order_relaxed);
  }
  return results;
}

void Router::CollectMetrics(observe::MetricSet& set) const {
  const SplitTable& split = *split_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < config_.routes.size(); ++i) {
    const auto& route = config_.routes[i].name;
    const RouteCounters& c = counters_->routes[i];
    for (std::size_t r = 0; r < c.requests.size(); ++r) {
      const auto n = c.requests[r].load(std::memory_order_relaxed);
      if (n == 0 && r != static_cast<std::size_t>(bandit_ ? Reason::kExploit : Reason::kWeighted)) continue;
      set.Counter("ferry_router_requests_total", "Calls a router sent to each route, by why.",
                  {{"router", name()}, {"route", route}, {"reason", std::string(ReasonName(static_cast<Reason>(r)))}},
                  static_cast<double>(n));
    }
    set.Counter("ferry_router_route_errors_total", "Calls a route answered with an error (or could not take).",
                {{"router", name()}, {"route", route}}, static_cast<double>(c.errors.load(std::memory_order_relaxed)));
    if (!bandit_) {
      set.Gauge("ferry_router_route_weight", "The share of a router's split each route has now.",
                {{"router", name()}, {"route", route}}, split.share(i));
    }
  }
  for (std::size_t i = 0; i < config_.shadows.size(); ++i) {
    const auto& shadow = config_.shadows[i].name;
    const ShadowCounters& c = counters_->shadows[i];
    for (auto [outcome, value] : {std::pair{"sent", &c.sent}, {"dropped", &c.dropped}, {"failed", &c.failed}}) {
      set.Counter("ferry_shadow_requests_total", "Copies of calls for shadows: sent, dropped (max_inflight), failed.",
                  {{"router", name()}, {"shadow", shadow}, {"outcome", outcome}},
                  static_cast<double>(value->load(std::memory_order_relaxed)));
    }
    if (config_.shadows[i].compare) {
      for (auto [result, value] : {std::pair{"agreed", &c.agreed}, {"disagreed", &c.disagreed}}) {
        set.Counter("ferry_shadow_comparisons_total", "Shadow answers compared with the primary's, by agreement.",
                    {{"router", name()}, {"shadow", shadow}, {"result", result}},
                    static_cast<double>(value->load(std::memory_order_relaxed)));
      }
      c.difference.Collect(set, "ferry_shadow_difference", "Absolute differences between compared values.",
                           {{"router", name()}, {"shadow", shadow}});
    }
  }
  if (bandit_) {
    static constexpr std::string_view kOutcomes[] = {"applied", "unknown", "expired", "duplicate", "invalid"};
    for (std::size_t o = 0; o < counters_->feedback.size(); ++o) {
      set.Counter("ferry_bandit_feedback_total", "Bandit feedback, by outcome.",
                  {{"router", name()}, {"outcome", std::string(kOutcomes[o])}},
                  static_cast<double>(counters_->feedback[o].load(std::memory_order_relaxed)));
    }
    const auto arms = bandit_->State();
    for (std::size_t i = 0; i < arms.size(); ++i) {
      const observe::MetricSet::Labels labels{{"router", name()}, {"route", config_.routes[i].name}};
      set.Counter("ferry_bandit_arm_pulls_total", "Rows a bandit sent to each arm.", labels,
                  static_cast<double>(arms[i].pulls));
      set.Counter("ferry_bandit_arm_rewarded_total", "Rows of each arm that got a reward.", labels,
                  static_cast<double>(arms[i].rewarded));
      set.Gauge("ferry_bandit_arm_mean_reward", "Mean reward of each arm's rewarded rows.", labels,
                arms[i].rewarded ? arms[i].reward_sum / static_cast<double>(arms[i].rewarded) : 0);
    }
  }
}

}  // namespace ferry::routing
