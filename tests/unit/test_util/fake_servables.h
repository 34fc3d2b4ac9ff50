// Fakes of the routing layer for unit tests and fuzz targets: a servable whose answers a test
// writes (FakeModel), and a resolver over a map of them (FakeResolver). Header-only.
// Thread safety: FakeModel may be called from any thread; a delayed answer comes on a thread of
// its own, joined when the fake goes. FakeResolver is filled before use, then read-only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "routing/servable.h"

namespace ferry::test {

class FakeModel final : public routing::Servable {
 public:
  using Answer = std::function<core::Result<core::InferenceResponse>(core::InferenceRequest&)>;

  FakeModel(std::string name, core::ModelSignature signature, Answer answer, std::int64_t max_batch_size = 8)
      : Servable(std::move(name), 1), signature_(std::move(signature)), answer_(std::move(answer)),
        max_batch_size_(max_batch_size) {}
  ~FakeModel() override {
    std::lock_guard lock(mutex_);
    for (auto& t : threads_) t.join();
  }

  // Answers after `delay` (on a thread of its own) instead of at once.
  void set_delay(std::chrono::milliseconds delay) { delay_ = delay; }
  int calls() const { return calls_.load(); }

  std::string_view platform() const override { return "fake"; }
  std::string_view backend() const override { return "fake"; }
  core::ModelSignature Signature() const override { return signature_; }
  std::int64_t max_batch_size() const override { return max_batch_size_; }

  void Infer(core::InferenceRequest&& request, const routing::CallContext&, routing::InferDone done) const override {
    ++calls_;
    auto run = [this, request = std::move(request), done = std::move(done)]() mutable {
      auto answer = answer_(request);
      if (answer) {
        answer->model_name = name();
        answer->model_version = version();
        answer->id = request.id;
      }
      done(std::move(answer));
    };
    if (delay_.count() == 0) return run();
    std::lock_guard lock(mutex_);
    threads_.emplace_back([delay = delay_, run = std::move(run)]() mutable {
      std::this_thread::sleep_for(delay);
      run();
    });
  }

  sched::Statistics& statistics() const override { return statistics_; }

 private:
  const core::ModelSignature signature_;
  const Answer answer_;
  const std::int64_t max_batch_size_;
  std::chrono::milliseconds delay_{0};
  mutable std::atomic<int> calls_{0};
  mutable sched::Statistics statistics_;
  mutable std::mutex mutex_;
  mutable std::vector<std::thread> threads_;
};

// An answer of one output `name`, FP32 [rows, 1], every element `value`.
inline FakeModel::Answer Constant(std::string name, float value) {
  return [name, value](core::InferenceRequest& request) -> core::Result<core::InferenceResponse> {
    const auto rows = request.inputs.empty() ? 1 : request.inputs.front().shape()[0];
    auto t = core::Tensor::Allocate(name, core::DataType::kFp32, core::Shape{rows, 1});
    if (!t) return std::unexpected(t.error());
    for (auto& v : t->values<float>()) v = value;
    core::InferenceResponse response;
    response.outputs.push_back(std::move(*t));
    return response;
  };
}

// A signature of one FP32 input `x` [-1, width] and one FP32 output `output` [-1, 1].
inline core::ModelSignature Signature(std::string output = "y", std::int64_t width = 2) {
  return {{{"x", core::DataType::kFp32, core::Shape{-1, width}}}, {{std::move(output), core::DataType::kFp32, core::Shape{-1, 1}}}};
}

// A request of `rows` rows of x (FP32 [rows, width], zeros).
inline core::InferenceRequest Request(std::string model, std::int64_t rows = 1, std::int64_t width = 2) {
  core::InferenceRequest request;
  request.model_name = std::move(model);
  auto x = core::Tensor::Allocate("x", core::DataType::kFp32, core::Shape{rows, width});
  for (auto& v : x->values<float>()) v = 0;
  request.inputs.push_back(std::move(*x));
  return request;
}

class FakeResolver final : public routing::Resolver {
 public:
  void Add(routing::ServableHandle servable) { servables_[servable->name()] = std::move(servable); }
  void Remove(const std::string& name) { servables_.erase(name); }
  core::Result<routing::ServableHandle> Resolve(std::string_view name, std::int64_t) const override {
    auto it = servables_.find(std::string(name));
    if (it == servables_.end()) return core::NotFound(fmt::format("unknown model '{}'", name));
    return it->second;
  }

 private:
  std::map<std::string, routing::ServableHandle> servables_;
};

}  // namespace ferry::test
