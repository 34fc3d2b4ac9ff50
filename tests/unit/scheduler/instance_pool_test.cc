#include "scheduler/instance_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <set>
#include <thread>

namespace ferry::sched {
namespace {

using core::Result;

// An instance that echoes its input as the first wanted output, optionally waiting on a gate.
ExecuteFn Echo(std::atomic<int>* running = nullptr, std::atomic<int>* peak = nullptr,
               std::shared_future<void> gate = {}) {
  return [=](std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
             core::ComputeTimes*) -> Result<std::vector<core::Tensor>> {
    if (running) {
      const int now = ++*running;
      int seen = peak->load();
      while (now > seen && !peak->compare_exchange_weak(seen, now)) {
      }
    }
    if (gate.valid()) gate.wait();
    if (running) --*running;
    auto out = core::Tensor::Allocate(outputs[0], inputs[0].type(), inputs[0].shape());
    std::copy(inputs[0].bytes().begin(), inputs[0].bytes().end(), out->bytes().begin());
    std::vector<core::Tensor> result;
    result.push_back(std::move(*out));
    return result;
  };
}

InstancePool::Job MakeJob(int value, std::function<void(Result<core::InferenceResponse>)> done) {
  InstancePool::Job job;
  job.request.id = std::to_string(value);
  job.request.inputs.push_back(*core::Tensor::Allocate("x", core::DataType::kInt32, {1}));
  job.request.inputs[0].values<std::int32_t>()[0] = value;
  job.outputs = {"y"};
  job.done = std::move(done);
  return job;
}

TEST(InstancePool, AnswersEachRequestWithItsOwnOutputs) {
  auto pool = InstancePool::Create({.model_name = "m", .model_version = 2}, [] {
    std::vector<ExecuteFn> v;
    v.push_back(Echo());
    v.push_back(Echo());
    return v;
  }());
  constexpr int kRequests = 200;
  std::latch done(kRequests);
  std::mutex mutex;
  std::set<int> seen;
  for (int i = 0; i < kRequests; ++i) {
    auto queued = pool->Submit(MakeJob(i, [&, i](Result<core::InferenceResponse> r) {
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->model_name, "m");
      EXPECT_EQ(r->model_version, 2);
      EXPECT_EQ(r->id, std::to_string(i));
      EXPECT_EQ(r->outputs[0].name(), "y");
      EXPECT_EQ(r->outputs[0].values<std::int32_t>()[0], i);
      std::lock_guard lock(mutex);
      seen.insert(i);
      done.count_down();
    }));
    ASSERT_TRUE(queued.has_value());
  }
  done.wait();
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRequests));
}

TEST(InstancePool, RunsInstancesInParallelButEachOneAlone) {
  std::atomic<int> running{0}, peak{0};
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::vector<ExecuteFn> instances;
  instances.push_back(Echo(&running, &peak, gate));
  instances.push_back(Echo(&running, &peak, gate));
  auto pool = InstancePool::Create({.model_name = "m"}, std::move(instances));
  std::latch done(6);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(pool->Submit(MakeJob(i, [&](Result<core::InferenceResponse>) { done.count_down(); })).has_value());
  }
  while (running.load() < 2) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(peak.load(), 2);  // two instances, never more at once
  open.set_value();
  done.wait();
}

TEST(InstancePool, RefusesAtOnceWhenTheQueueIsFull) {
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::atomic<int> running{0}, peak{0};
  std::vector<ExecuteFn> instances;
  instances.push_back(Echo(&running, &peak, gate));
  auto pool = InstancePool::Create({.model_name = "m", .model_version = 1, .max_queue_size = 2}, std::move(instances));
  std::atomic<int> answered{0};
  auto count = [&](Result<core::InferenceResponse>) { ++answered; };
  ASSERT_TRUE(pool->Submit(MakeJob(0, count)).has_value());  // taken by the worker
  while (running.load() < 1) std::this_thread::yield();
  ASSERT_TRUE(pool->Submit(MakeJob(1, count)).has_value());
  ASSERT_TRUE(pool->Submit(MakeJob(2, count)).has_value());
  auto refused = pool->Submit(MakeJob(3, count));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("queue is full"), std::string::npos);
  open.set_value();
  pool.reset();
  EXPECT_EQ(answered.load(), 3);  // the refused job's callback was never called
}

TEST(InstancePool, DestructionRunsWhatIsAlreadyQueued) {
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::atomic<int> running{0}, peak{0};
  std::vector<ExecuteFn> instances;
  instances.push_back(Echo(&running, &peak, gate));
  auto pool = InstancePool::Create({.model_name = "m", .model_version = 1}, std::move(instances));
  std::atomic<int> ok{0}, unavailable{0};
  auto tally = [&](Result<core::InferenceResponse> r) {
    if (r) {
      ++ok;
    } else if (r.error().code == core::ErrorCode::kUnavailable) {
      ++unavailable;
    }
  };
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool->Submit(MakeJob(i, tally)).has_value());
  while (running.load() < 1) std::this_thread::yield();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    open.set_value();
  });
  pool.reset();
  release.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(unavailable.load(), 0);
}

}  // namespace
}  // namespace ferry::sched
