#include "routing/shadow.h"

#include <cmath>

#include "routing/split.h"

namespace ferry::routing {
namespace {

// The values of output `name` as doubles (empty when the answer has no such numeric output).
std::vector<double> Values(const core::InferenceResponse& response, const std::string& name) {
  std::vector<double> values;
  for (const auto& t : response.outputs) {
    if (t.name() != name || t.type() == core::DataType::kBytes || t.type() == core::DataType::kFp16 ||
        t.type() == core::DataType::kBf16) {
      continue;
    }
    const auto count = static_cast<std::size_t>(t.element_count());
    values.reserve(count);
    for (std::size_t i = 0; i < count; ++i) values.push_back(core::ElementAsDouble(t, i));
  }
  return values;
}

// A record answer's field as doubles, NaN for a record without an answer or a numeric value.
std::vector<double> Values(const Predictions& predictions, const std::string& name) {
  std::vector<double> values;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    auto value = predictions.Field(i, name);
    if (!value) {
      values.push_back(NAN);
    } else if (value->kind == core::Value::Kind::kNumber) {
      values.push_back(value->number);
    } else if (value->kind == core::Value::Kind::kBool) {
      values.push_back(value->boolean ? 1 : 0);
    } else if (value->kind == core::Value::Kind::kArray && value->numeric_array) {
      values.insert(values.end(), value->array.begin(), value->array.end());
    } else {
      values.push_back(NAN);
    }
  }
  return values;
}

}  // namespace

struct Shadows::Compare {
  std::shared_ptr<RouterCounters> counters;
  std::size_t index = 0;
  std::string output;
  double abs_tol = 0;
  std::mutex mutex;
  // Protected by mutex; nullopt: not answered yet; an empty vector: failed, or no such output.
  std::optional<std::vector<double>> primary, shadow;

  void Set(bool is_primary, std::vector<double> values) {
    std::vector<double> a, b;
    {
      std::lock_guard lock(mutex);
      (is_primary ? primary : shadow) = std::move(values);
      if (!primary || !shadow) return;
      a = std::move(*primary);
      b = std::move(*shadow);
    }
    if (a.empty() || b.empty()) return;  // one of them failed: nothing to compare
    ShadowCounters& c = counters->shadows[index];
    bool agree = a.size() == b.size();
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (std::isnan(a[i]) && std::isnan(b[i])) continue;
      const double diff = std::abs(a[i] - b[i]);
      if (std::isnan(diff)) {
        agree = false;
        continue;
      }
      c.difference.Observe(diff);
      agree &= diff <= abs_tol;
    }
    (agree ? c.agreed : c.disagreed).fetch_add(1, std::memory_order_relaxed);
  }
};

Shadows::Shadows(std::vector<ShadowConfig> configs, const Resolver& resolver, std::shared_ptr<RouterCounters> counters)
    : configs_(std::move(configs)), resolver_(resolver), counters_(std::move(counters)) {}

template <typename Fill>
Shadows::Mirror Shadows::Select(Fill&& fill) const {
  Mirror mirror;
  for (std::size_t i = 0; i < configs_.size(); ++i) {
    const ShadowConfig& config = configs_[i];
    if (config.percent < 100 && RandomUnit() * 100 >= config.percent) continue;
    ShadowCounters& c = counters_->shadows[i];
    if (c.inflight.fetch_add(1, std::memory_order_relaxed) >= config.max_inflight) {
      c.inflight.fetch_sub(1, std::memory_order_relaxed);
      c.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto servable = resolver_.Resolve(config.target.model, config.target.version);
    if (!servable) {
      c.inflight.fetch_sub(1, std::memory_order_relaxed);
      c.failed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Mirror::Copy copy{.servable = std::move(*servable), .index = i, .request = std::nullopt, .records = {},
                      .compare = nullptr};
    if (config.compare) {
      copy.compare = std::make_shared<Compare>();
      mirror.comparisons_.compares_.push_back(copy.compare);
      copy.compare->counters = counters_;
      copy.compare->index = i;
      copy.compare->output = config.compare->output;
      copy.compare->abs_tol = config.compare->abs_tol;
    }
    fill(copy, config);
    mirror.copies_.push_back(std::move(copy));
  }
  if (!mirror.copies_.empty()) mirror.counters_ = counters_;
  return mirror;
}

Shadows::Mirror Shadows::Prepare(const core::InferenceRequest& request) const {
  return Select([&](Mirror::Copy& copy, const ShadowConfig& config) {
    copy.request = core::Clone(request);
    copy.request->model_name = config.target.model;
    copy.request->model_version = config.target.version;
  });
}

Shadows::Mirror Shadows::Prepare(const std::vector<core::Record>& records) const {
  return Select([&](Mirror::Copy& copy, const ShadowConfig&) { copy.records = records; });
}

void Shadows::Mirror::Send() {
  for (auto& copy : copies_) {
    counters_->shadows[copy.index].sent.fetch_add(1, std::memory_order_relaxed);
    // The shadow's answer, tensors or records: counted, compared, dropped.
    auto answered = [counters = counters_, index = copy.index, compare = copy.compare](auto answer) {
      ShadowCounters& c = counters->shadows[index];
      c.inflight.fetch_sub(1, std::memory_order_relaxed);
      if (!answer) c.failed.fetch_add(1, std::memory_order_relaxed);
      if (compare) compare->Set(false, answer ? Values(*answer, compare->output) : std::vector<double>{});
    };
    if (copy.request) {
      copy.servable->Infer(std::move(*copy.request), CallContext::None(), std::move(answered));
    } else {
      const CallContext* none[] = {&CallContext::None()};
      copy.servable->Predict(std::move(copy.records), none, std::move(answered));
    }
  }
}

void Shadows::Comparisons::Primary(const core::Result<core::InferenceResponse>& answer) const {
  for (const auto& compare : compares_) {
    compare->Set(true, answer ? Values(*answer, compare->output) : std::vector<double>{});
  }
}

void Shadows::Comparisons::Primary(const core::Result<Predictions>& answer) const {
  for (const auto& compare : compares_) {
    compare->Set(true, answer ? Values(*answer, compare->output) : std::vector<double>{});
  }
}

}  // namespace ferry::routing
