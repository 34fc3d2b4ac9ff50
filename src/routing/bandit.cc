#include "routing/bandit.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/file.h"
#include "core/json_writer.h"

namespace ferry::routing {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t Seed(const BanditConfig& config) {
  if (config.seed) return *config.seed;
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

std::string InstanceId() {
  std::random_device device;
  return fmt::format("{:08x}", device());
}

double SampleBeta(double alpha, double beta, std::mt19937_64& random) {
  const double x = std::gamma_distribution<double>(alpha, 1.0)(random);
  const double y = std::gamma_distribution<double>(beta, 1.0)(random);
  return x + y > 0 ? x / (x + y) : 0.5;
}

}  // namespace

Bandit::Bandit(Options options, const Bandit* previous)
    : options_(std::move(options)),
      ledger_(previous && previous->arms() == options_.arms ? previous->ledger_ : std::make_shared<Ledger>()) {
  if (previous && previous->ledger_ == ledger_) return;  // carried over: nothing to read
  ledger_->instance = InstanceId();
  ledger_->random.seed(Seed(options_.config));
  ledger_->state.resize(options_.arms.size());
  if (options_.config.state_file.empty()) return;
  std::string why;
  if (auto saved = ReadState(options_.config.state_file, options_.arms, why)) {
    ledger_->state = std::move(*saved);
    spdlog::info("router '{}': bandit state read from {}", options_.router, options_.config.state_file);
  } else if (!why.empty()) {
    spdlog::warn("router '{}': bandit state file {} ignored: {}; starting from the prior", options_.router,
                 options_.config.state_file, why);
  }
}

Bandit::~Bandit() {
  if (auto saved = SaveIfChanged(); !saved) spdlog::warn("router '{}': {}", options_.router, saved.error().message);
}

double Bandit::Mean(std::size_t arm) const {
  const ArmState& s = ledger_->state[arm];
  const auto& c = options_.config;
  if (s.rewarded == 0) return c.prior_alpha / (c.prior_alpha + c.prior_beta);
  return s.reward_sum / static_cast<double>(s.rewarded);
}

std::size_t Bandit::Choose(bool& explore) {
  const auto& c = options_.config;
  const std::size_t n = ledger_->state.size();
  // Every arm first gets its min_pulls rows, the least pulled first.
  std::size_t least = 0;
  for (std::size_t i = 1; i < n; ++i) {
    if (ledger_->state[i].pulls < ledger_->state[least].pulls) least = i;
  }
  if (ledger_->state[least].pulls < static_cast<std::uint64_t>(c.min_pulls)) {
    explore = true;
    return least;
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i) {
    if (Mean(i) > Mean(best)) best = i;
  }
  std::size_t chosen = best;
  switch (c.policy) {
    case BanditPolicy::kEpsilonGreedy:
      if (std::uniform_real_distribution<double>(0, 1)(ledger_->random) < c.epsilon) {
        chosen = std::uniform_int_distribution<std::size_t>(0, n - 1)(ledger_->random);
        explore = true;
        return chosen;
      }
      break;
    case BanditPolicy::kThompson: {
      double top = -1;
      for (std::size_t i = 0; i < n; ++i) {
        const ArmState& s = ledger_->state[i];
        const double sample = SampleBeta(c.prior_alpha + s.reward_sum,
                                         c.prior_beta + static_cast<double>(s.rewarded) - s.reward_sum, ledger_->random);
        if (sample > top) {
          top = sample;
          chosen = i;
        }
      }
      break;
    }
    case BanditPolicy::kUcb1: {
      std::uint64_t total = 0;
      for (const auto& s : ledger_->state) total += s.pulls;
      double top = -1;
      for (std::size_t i = 0; i < n; ++i) {
        if (ledger_->state[i].pulls == 0) {
          chosen = i;
          break;
        }
        const double bound = Mean(i) + std::sqrt(2.0 * std::log(static_cast<double>(std::max<std::uint64_t>(total, 1))) /
                                                 static_cast<double>(ledger_->state[i].pulls));
        if (bound > top) {
          top = bound;
          chosen = i;
        }
      }
      break;
    }
  }
  explore = chosen != best;
  return chosen;
}

void Bandit::Prune(Clock::time_point now) {
  const auto& c = options_.config;
  while (!ledger_->decisions.empty() && (ledger_->decisions.size() > c.max_decisions || now - ledger_->decisions.front().issued > c.feedback_ttl)) {
    ledger_->decisions.pop_front();
    ++ledger_->first;
  }
}

Bandit::Decision Bandit::Decide(std::size_t rows) {
  std::lock_guard lock(ledger_->mutex);
  const auto now = Clock::now();
  Prune(now);
  Decision decision;
  decision.arm = Choose(decision.explore);
  ledger_->state[decision.arm].pulls += rows;
  ledger_->changed = true;
  ledger_->decisions.push_back({.arm = decision.arm, .rows = rows, .issued = now, .credited = false});
  decision.id = fmt::format("{}-{:x}", ledger_->instance, ledger_->first + ledger_->decisions.size() - 1);
  Prune(now);
  return decision;
}

void Bandit::Redirect(const std::string& id, std::size_t arm) {
  const auto dash = id.find('-');
  if (dash == std::string::npos || id.compare(0, dash, ledger_->instance) != 0) return;
  std::uint64_t seq = 0;
  if (std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq, 16).ec != std::errc()) return;
  std::lock_guard lock(ledger_->mutex);
  if (seq < ledger_->first || seq - ledger_->first >= ledger_->decisions.size()) return;
  Entry& entry = ledger_->decisions[seq - ledger_->first];
  ledger_->state[entry.arm].pulls -= std::min<std::uint64_t>(ledger_->state[entry.arm].pulls, entry.rows);
  ledger_->state[arm].pulls += entry.rows;
  entry.arm = arm;
}

FeedbackResult Bandit::Apply(const Feedback& feedback) {
  FeedbackResult result{.outcome = FeedbackResult::Outcome::kUnknown, .decision_id = feedback.decision_id};
  const std::string& id = feedback.decision_id;
  const auto dash = id.find('-');
  std::uint64_t seq = 0;
  if (dash == std::string::npos ||
      std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq, 16).ptr != id.data() + id.size()) {
    result.detail = "not a decision id of ferry (<instance>-<sequence>)";
    return result;
  }
  if (id.compare(0, dash, ledger_->instance) != 0) {
    result.detail = "not decided by this instance of ferry (another replica, or before a restart)";
    return result;
  }
  std::lock_guard lock(ledger_->mutex);
  const auto now = Clock::now();
  Prune(now);
  if (seq < ledger_->first) {
    result.outcome = FeedbackResult::Outcome::kExpired;
    result.detail = "older than the feedback TTL or the last max_decisions decisions";
    return result;
  }
  if (seq - ledger_->first >= ledger_->decisions.size()) {
    result.detail = "no such decision";
    return result;
  }
  Entry& entry = ledger_->decisions[seq - ledger_->first];
  result.route = options_.arms[entry.arm].name;
  if (entry.credited) {
    result.outcome = FeedbackResult::Outcome::kDuplicate;
    result.detail = "this decision was credited already";
    return result;
  }
  std::vector<double> rewards = feedback.rewards;
  if (rewards.empty() && feedback.reward) rewards.assign(entry.rows, *feedback.reward);
  result.outcome = FeedbackResult::Outcome::kInvalid;
  if (rewards.size() != entry.rows) {
    result.detail = fmt::format("the decision covered {} row(s); 'rewards' has {}", entry.rows, rewards.size());
    return result;
  }
  for (double r : rewards) {
    if (!std::isfinite(r) || r < 0 || r > 1) {
      result.detail = fmt::format("a reward must be a number from 0 to 1, got {}", r);
      return result;
    }
  }
  ArmState& s = ledger_->state[entry.arm];
  for (double r : rewards) s.reward_sum += r;
  s.rewarded += rewards.size();
  entry.credited = true;
  ledger_->changed = true;
  result.outcome = FeedbackResult::Outcome::kApplied;
  result.rows = rewards.size();
  return result;
}

std::vector<Bandit::ArmState> Bandit::State() const {
  std::lock_guard lock(ledger_->mutex);
  return ledger_->state;
}

std::vector<Bandit::Posterior> Bandit::Posteriors() const {
  const auto& c = options_.config;
  std::vector<Posterior> posteriors;
  for (const auto& s : State()) {
    posteriors.push_back({.alpha = c.prior_alpha + s.reward_sum,
                          .beta = c.prior_beta + static_cast<double>(s.rewarded) - s.reward_sum,
                          .probability_best = 0});
  }
  // Monte Carlo over the posteriors, with a fixed seed so that the figure is stable between reads.
  constexpr int kDraws = 4000;
  std::mt19937_64 random(42);
  std::vector<int> wins(posteriors.size());
  for (int d = 0; d < kDraws && !posteriors.empty(); ++d) {
    std::size_t best = 0;
    double top = -1;
    for (std::size_t i = 0; i < posteriors.size(); ++i) {
      const double sample = SampleBeta(posteriors[i].alpha, posteriors[i].beta, random);
      if (sample > top) {
        top = sample;
        best = i;
      }
    }
    ++wins[best];
  }
  for (std::size_t i = 0; i < posteriors.size(); ++i) posteriors[i].probability_best = wins[i] / double(kDraws);
  return posteriors;
}

core::Result<void> Bandit::SaveIfChanged() {
  const std::string& path = options_.config.state_file;
  if (path.empty()) return {};
  std::lock_guard saving(ledger_->save_mutex);
  std::vector<ArmState> state;
  {
    std::lock_guard lock(ledger_->mutex);
    if (!ledger_->changed) return {};
    ledger_->changed = false;
    state = ledger_->state;
  }
  std::string text;
  core::JsonWriter w(text);
  w.BeginObject();
  w.Key("router");
  w.String(options_.router);
  w.Key("policy");
  w.String(BanditPolicyName(options_.config.policy));
  w.Key("arms");
  w.BeginArray();
  for (std::size_t i = 0; i < state.size(); ++i) {
    w.BeginObject();
    w.Key("name");
    w.String(options_.arms[i].name);
    w.Key("target");
    w.String(options_.arms[i].target);
    w.Key("pulls");
    w.Number(state[i].pulls);
    w.Key("rewarded");
    w.Number(state[i].rewarded);
    w.Key("reward_sum");
    w.Number(state[i].reward_sum);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  text.push_back('\n');
  const std::string temporary = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::lock_guard lock(ledger_->mutex);
      ledger_->changed = true;
      return core::Unavailable(fmt::format("cannot write the bandit state file {}", temporary));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    std::lock_guard lock(ledger_->mutex);
    ledger_->changed = true;
    return core::Unavailable(fmt::format("cannot replace the bandit state file {}: {}", path, ec.message()));
  }
  return {};
}

void Bandit::SaveEvery(const std::shared_ptr<Bandit>& bandit, Timer& timer) {
  if (bandit->options_.config.state_file.empty()) return;
  timer.At(Clock::now() + bandit->options_.config.save_every, [weak = std::weak_ptr<Bandit>(bandit), &timer] {
    auto alive = weak.lock();
    if (!alive) return;
    if (auto saved = alive->SaveIfChanged(); !saved) {
      spdlog::warn("router '{}': {}", alive->options_.router, saved.error().message);
    }
    SaveEvery(alive, timer);
  });
}

std::optional<std::vector<Bandit::ArmState>> Bandit::ReadState(const std::string& path, const std::vector<Arm>& arms,
                                                               std::string& why) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;  // a first start: nothing to say
  auto text = core::ReadWholeFile(path, "bandit state file");
  if (!text) {
    why = text.error().message;
    return std::nullopt;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(*text).get(root)) {
    why = fmt::format("not JSON ({})", simdjson::error_message(error));
    return std::nullopt;
  }
  simdjson::dom::array list;
  if (root["arms"].get_array().get(list)) {
    why = "it has no 'arms' list";
    return std::nullopt;
  }
  std::vector<ArmState> state;
  std::size_t i = 0;
  for (simdjson::dom::element item : list) {
    std::string_view name, target;
    ArmState s;
    double sum = 0;
    if (item["name"].get_string().get(name) || item["target"].get_string().get(target) ||
        item["pulls"].get_uint64().get(s.pulls) || item["rewarded"].get_uint64().get(s.rewarded) ||
        item["reward_sum"].get_double().get(sum)) {
      why = fmt::format("arm {} lacks name, target, pulls, rewarded or reward_sum", i);
      return std::nullopt;
    }
    s.reward_sum = sum;
    if (!std::isfinite(sum) || sum < 0 || sum > static_cast<double>(s.rewarded)) {
      why = fmt::format("arm {} has a reward_sum outside [0, rewarded]", i);
      return std::nullopt;
    }
    if (i >= arms.size() || arms[i].name != name || arms[i].target != target) {
      why = "its routes differ from the router's (names and targets, in order)";
      return std::nullopt;
    }
    state.push_back(s);
    ++i;
  }
  if (state.size() != arms.size()) {
    why = "its routes differ from the router's (names and targets, in order)";
    return std::nullopt;
  }
  return state;
}

}  // namespace ferry::routing
