#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <optional>
#include <random>
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

Scheduler::Job MakeJob(int value, std::function<void(Result<core::InferenceResponse>)> done) {
  Scheduler::Job job;
  job.request.id = std::to_string(value);
  job.request.inputs.push_back(*core::Tensor::Allocate("x", core::DataType::kInt32, {1}));
  job.request.inputs[0].values<std::int32_t>()[0] = value;
  job.outputs = {"y"};
  job.done = std::move(done);
  return job;
}

TEST(Scheduler, AnswersEachRequestWithItsOwnOutputs) {
  auto pool = Scheduler::Create({.model_name = "m", .model_version = 2}, [] {
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

TEST(Scheduler, RunsInstancesInParallelButEachOneAlone) {
  std::atomic<int> running{0}, peak{0};
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::vector<ExecuteFn> instances;
  instances.push_back(Echo(&running, &peak, gate));
  instances.push_back(Echo(&running, &peak, gate));
  auto pool = Scheduler::Create({.model_name = "m"}, std::move(instances));
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

// Inline execution: once the model's executions are known to be fast, a request finding an idle
// instance and an empty queue runs on the caller's thread, its callback before Submit returns. A
// batching model that does not wait to fill its batches (max_queue_delay 0) does the same: its
// worker would run such a request alone at once anyway.
TEST(InlineExecution, AFastModelRunsOnTheCallersThreadWhenAnInstanceIsIdle) {
  for (const bool batching : {false, true}) {
    std::vector<ExecuteFn> instances;
    instances.push_back(Echo());
    auto pool = Scheduler::Create({.model_name = "m",
                                   .max_batch_size = batching ? 8 : 0,
                                   .batching = batching,
                                   .inline_below = std::chrono::seconds(1)},
                                  std::move(instances));
    std::promise<std::thread::id> first;
    ASSERT_TRUE(pool->Submit(MakeJob(1, [&](Result<core::InferenceResponse>) { first.set_value(std::this_thread::get_id()); }))
                    .has_value());
    EXPECT_NE(first.get_future().get(), std::this_thread::get_id()) << batching;  // nothing measured yet: handed off
    EXPECT_EQ(pool->inline_runs(), 0U);
    // Once the worker has let go of the instance (its loop frees it after the callback), the next
    // request runs here and is answered before Submit returns.
    const auto caller = std::this_thread::get_id();
    bool ran_inline = false;
    std::string id;
    for (int attempt = 0; attempt < 200 && !ran_inline; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::promise<std::thread::id> answered;
      auto future = answered.get_future();
      ASSERT_TRUE(pool->Submit(MakeJob(2, [&](Result<core::InferenceResponse> r) {
                        id = r->id;
                        answered.set_value(std::this_thread::get_id());
                      }))
                      .has_value());
      const bool ready = future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      ran_inline = ready && future.get() == caller;
      if (!ready) future.wait();  // handed off after all: let it finish, try again
    }
    ASSERT_TRUE(ran_inline) << batching;
    EXPECT_EQ(id, "2");
    EXPECT_EQ(pool->inline_runs(), 1U);
  }
}

// Requests that queue while a caller runs one inline are run next by that caller (batched when the
// model batches), before its Submit returns, and not by the sleeping worker.
TEST(InlineExecution, TheCallerRunsWhatQueuedBehindItsInlineRun) {
  for (const bool batching : {false, true}) {
    std::mutex mutex;
    std::map<int, std::thread::id> ran_on;  // first input value of each execution -> its thread
    int executions = 0;
    std::promise<void> entered;
    std::promise<void> gate;
    std::shared_future<void> open = gate.get_future().share();
    std::vector<ExecuteFn> instances;
    instances.push_back([&](std::span<const core::Tensor> in, std::span<const std::string> out,
                            core::ComputeTimes* times) {
      const int first = in[0].values<std::int32_t>()[0];
      {
        std::lock_guard lock(mutex);
        ran_on[first] = std::this_thread::get_id();
        ++executions;
      }
      if (first == 100) {
        entered.set_value();
        open.wait();
      }
      return Echo()(in, out, times);
    });
    auto pool = Scheduler::Create({.model_name = "m",
                                   .max_batch_size = batching ? 8 : 0,
                                   .batching = batching,
                                   .inline_below = std::chrono::seconds(1)},
                                  std::move(instances));
    // Until a request runs here (the first is handed off; then the worker must let go of the
    // instance): from then on the instance is idle and nothing is queued.
    bool ran_inline = false;
    for (int attempt = 0; attempt < 200 && !ran_inline; ++attempt) {
      std::promise<std::thread::id> answered;
      auto future = answered.get_future();
      ASSERT_TRUE(pool->Submit(MakeJob(attempt, [&](Result<core::InferenceResponse>) {
                        answered.set_value(std::this_thread::get_id());
                      }))
                      .has_value());
      const bool ready = future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      ran_inline = ready && future.get() == std::this_thread::get_id();
      if (!ready) future.wait();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(ran_inline) << batching;
    {
      std::lock_guard lock(mutex);
      executions = 0;
    }
    std::atomic<int> answered{0};
    std::map<int, std::thread::id> answered_on;  // written by the caller's thread only
    std::thread::id caller_id;
    int answered_when_submit_returned = -1;
    auto record = [&](int value) {
      return [&, value](Result<core::InferenceResponse> r) {
        EXPECT_TRUE(r.has_value() && r->outputs[0].values<std::int32_t>()[0] == value);
        answered_on[value] = std::this_thread::get_id();
        ++answered;
      };
    };
    std::thread caller([&] {
      caller_id = std::this_thread::get_id();
      ASSERT_TRUE(pool->Submit(MakeJob(100, record(100))).has_value());
      answered_when_submit_returned = answered.load();
    });
    entered.get_future().wait();  // 100 runs inline on `caller` and holds the only instance
    ASSERT_TRUE(pool->Submit(MakeJob(101, record(101))).has_value());
    ASSERT_TRUE(pool->Submit(MakeJob(102, record(102))).has_value());
    EXPECT_EQ(answered.load(), 0);  // queued behind it, not run
    gate.set_value();
    caller.join();
    EXPECT_EQ(answered_when_submit_returned, 3) << batching;
    for (int value : {100, 101, 102}) EXPECT_EQ(answered_on[value], caller_id) << value << " " << batching;
    std::lock_guard lock(mutex);
    EXPECT_EQ(ran_on[101], caller_id) << batching;
    EXPECT_EQ(executions, batching ? 2 : 3) << "101 and 102 joined when the model batches";
  }
}

// A model slower than the bound, or one that waits to fill its batches, is always handed to its
// workers.
TEST(InlineExecution, SlowAndBatchingModelsAreHandedOff) {
  for (const bool batching : {false, true}) {
    std::vector<ExecuteFn> instances;
    instances.push_back([batching](std::span<const core::Tensor> in, std::span<const std::string> out,
                           core::ComputeTimes* times) {
      std::this_thread::sleep_for(std::chrono::milliseconds(batching ? 0 : 2));
      return Echo()(in, out, times);
    });
    auto pool = Scheduler::Create({.model_name = "m",
                                   .max_batch_size = batching ? 8 : 0,
                                   .batching = batching,
                                   .max_queue_delay = std::chrono::microseconds(batching ? 100 : 0),
                                   .inline_below = batching ? std::chrono::microseconds(1000000)
                                                            : std::chrono::microseconds(500)},
                                  std::move(instances));
    for (int i = 0; i < 5; ++i) {
      std::promise<std::thread::id> answered;
      ASSERT_TRUE(pool->Submit(MakeJob(i, [&](Result<core::InferenceResponse>) {
                        answered.set_value(std::this_thread::get_id());
                      }))
                      .has_value());
      EXPECT_NE(answered.get_future().get(), std::this_thread::get_id()) << batching;
    }
    EXPECT_EQ(pool->inline_runs(), 0U) << batching;
  }
}

// Under concurrent callers, inline runs and workers share the instances: every request is
// answered once with its own outputs, and no instance ever runs two executions at once; also for
// a model batching without delay, whose workers join what queued while an instance was lent.
TEST(InlineExecution, CallersAndWorkersNeverShareAnInstance) {
  for (const bool batching : {false, true}) {
    constexpr int kInstances = 2, kThreads = 6, kPerThread = 2000;
    std::atomic<int> running[kInstances] = {}, peak[kInstances] = {};
    std::vector<ExecuteFn> instances;
    for (int i = 0; i < kInstances; ++i) instances.push_back(Echo(&running[i], &peak[i]));
    auto pool = Scheduler::Create({.model_name = "m",
                                   .max_batch_size = batching ? 8 : 0,
                                   .batching = batching,
                                   .max_queue_size = kThreads * kPerThread,
                                   .inline_below = std::chrono::seconds(1)},
                                  std::move(instances));
    std::atomic<int> wrong{0}, answered{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < kThreads; ++t) {
      callers.emplace_back([&, t] {
        for (int k = 0; k < kPerThread; ++k) {  // a client waiting for each answer, as HTTP ones do
          const int value = t * kPerThread + k;
          std::promise<void> answer;
          auto submitted = pool->Submit(MakeJob(value, [&, value](Result<core::InferenceResponse> r) {
            if (!r || r->id != std::to_string(value) || r->outputs[0].values<std::int32_t>()[0] != value) ++wrong;
            ++answered;
            answer.set_value();
          }));
          if (!submitted) {
            ++wrong;
            continue;
          }
          answer.get_future().wait();
        }
      });
    }
    for (auto& c : callers) c.join();
    EXPECT_GT(pool->inline_runs(), 0U) << batching;
    pool.reset();  // runs what is still queued
    EXPECT_EQ(answered.load(), kThreads * kPerThread) << batching;
    EXPECT_EQ(wrong.load(), 0) << batching;
    for (int i = 0; i < kInstances; ++i) EXPECT_EQ(peak[i].load(), 1) << "instance " << i << ", batching " << batching;
  }
}

TEST(Scheduler, RefusesAtOnceWhenTheQueueIsFull) {
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::atomic<int> running{0}, peak{0};
  std::vector<ExecuteFn> instances;
  instances.push_back(Echo(&running, &peak, gate));
  auto pool = Scheduler::Create({.model_name = "m", .model_version = 1, .max_queue_size = 2}, std::move(instances));
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

TEST(Scheduler, DestructionRunsWhatIsAlreadyQueued) {
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  std::atomic<int> running{0}, peak{0};
  std::vector<ExecuteFn> instances;
  instances.push_back(Echo(&running, &peak, gate));
  auto pool = Scheduler::Create({.model_name = "m", .model_version = 1}, std::move(instances));
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

// --- dynamic batching ----------------------------------------------------------------------

namespace ferry::sched {
namespace {

// A fake model computing, per row of x (FP32 [rows, w]): sum (FP32 [rows, 1]) and tag (BYTES
// [rows], the sum as text). It records the rows of every execution.
struct RowSumModel {
  std::mutex mutex;
  std::vector<std::int64_t> executions;  // rows per execution
  std::chrono::microseconds work{0};
  bool refuse_negative = false;  // a negative value is the request's fault (kInvalidArgument)

  ExecuteFn Instance() {
    return [this](std::span<const core::Tensor> inputs, std::span<const std::string> outputs,
                  core::ComputeTimes*) -> Result<std::vector<core::Tensor>> {
      const core::Tensor& x = inputs[0];
      const std::int64_t rows = x.shape()[0], width = x.shape()[1];
      {
        std::lock_guard lock(mutex);
        executions.push_back(rows);
      }
      if (refuse_negative) {
        for (float v : x.values<float>()) {
          if (v < 0) return core::InvalidArgument("negative value");
        }
      }
      if (work.count() > 0) std::this_thread::sleep_for(work);
      auto sum = core::Tensor::Allocate("sum", core::DataType::kFp32, {rows, 1});
      std::vector<std::string> tags;
      for (std::int64_t r = 0; r < rows; ++r) {
        float s = 0;
        for (std::int64_t c = 0; c < width; ++c) s += x.values<float>()[r * width + c];
        sum->values<float>()[r] = s;
        tags.push_back(std::to_string(static_cast<long long>(s)));
      }
      std::size_t size = 0;
      for (const auto& t : tags) size += 4 + t.size();
      core::Tensor tag = core::Tensor::AllocateBytes("tag", core::DataType::kBytes, {rows}, size);
      std::byte* out = tag.bytes().data();
      for (const auto& t : tags) out += core::WriteBytesElement(out, t);
      std::vector<core::Tensor> result;
      for (const auto& name : outputs) result.push_back(name == "sum" ? std::move(*sum) : std::move(tag));
      return result;
    };
  }
  std::vector<std::int64_t> Executions() {
    std::lock_guard lock(mutex);
    return executions;
  }
};

Scheduler::Job RowsJob(std::string id, std::vector<float> values, std::int64_t width,
                       std::function<void(Result<core::InferenceResponse>)> done,
                       std::vector<std::string> outputs = {"sum", "tag"}) {
  Scheduler::Job job;
  job.request.id = std::move(id);
  const auto rows = static_cast<std::int64_t>(values.size()) / width;
  auto x = core::Tensor::Allocate("x", core::DataType::kFp32, {rows, width});
  std::copy(values.begin(), values.end(), x->values<float>().begin());
  job.request.inputs.push_back(std::move(*x));
  job.outputs = std::move(outputs);
  job.done = std::move(done);
  return job;
}

Scheduler::Options Batching(std::int64_t max_batch, std::chrono::microseconds delay,
                            std::vector<std::int64_t> preferred = {}) {
  return {.model_name = "m", .model_version = 1, .max_batch_size = max_batch, .batching = true,
          .max_queue_delay = delay, .preferred_batch_sizes = std::move(preferred)};
}

std::unique_ptr<Scheduler> Start(RowSumModel& model, Scheduler::Options options, int instances = 1) {
  std::vector<ExecuteFn> fns;
  for (int i = 0; i < instances; ++i) fns.push_back(model.Instance());
  return Scheduler::Create(std::move(options), std::move(fns));
}

TEST(DynamicBatching, EveryAnswerEqualsTheUnbatchedOneUnderRandomConcurrentLoad) {
  RowSumModel model;
  model.work = std::chrono::microseconds(200);
  auto scheduler = Start(model, Batching(16, std::chrono::microseconds(500)), 2);
  constexpr int kThreads = 8, kPerThread = 60;
  std::mutex mutex;
  std::map<std::string, int> answers;  // id -> times answered
  std::atomic<int> wrong{0};
  std::latch done(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      for (int i = 0; i < kPerThread; ++i) {
        const int rows = 1 + static_cast<int>(random() % 4);
        std::vector<float> values;
        std::vector<float> expected;
        for (int r = 0; r < rows; ++r) {
          const float a = static_cast<float>(random() % 100), b = static_cast<float>(random() % 100);
          values.insert(values.end(), {a, b});
          expected.push_back(a + b);
        }
        const std::string id = fmt::format("{}-{}", t, i);
        // Half the requests want only `sum`: they batch only among themselves.
        std::vector<std::string> outputs = i % 2 ? std::vector<std::string>{"sum"}
                                                 : std::vector<std::string>{"sum", "tag"};
        auto job = RowsJob(id, values, 2,
                           [&, id, expected, rows, n = outputs.size()](Result<core::InferenceResponse> r) {
                             {
                               std::lock_guard lock(mutex);
                               ++answers[id];
                             }
                             if (!r || r->id != id || r->outputs.size() != n ||
                                 r->outputs[0].shape() != core::Shape({rows, 1})) {
                               ++wrong;
                             } else {
                               for (int k = 0; k < rows; ++k) {
                                 if (r->outputs[0].values<float>()[k] != expected[k]) ++wrong;
                               }
                               if (n == 2) {
                                 std::vector<std::string> tags;
                                 core::ForEachBytesElement(r->outputs[1].bytes(),
                                                           [&](std::string_view s) { tags.emplace_back(s); });
                                 for (int k = 0; k < rows; ++k) {
                                   if (tags[k] != std::to_string(static_cast<long long>(expected[k]))) ++wrong;
                                 }
                               }
                             }
                             done.count_down();
                           },
                           outputs);
        ASSERT_TRUE(scheduler->Submit(std::move(job)).has_value());
        if (random() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(random() % 300));
      }
    });
  }
  for (auto& t : threads) t.join();
  done.wait();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answers.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (const auto& [id, times] : answers) EXPECT_EQ(times, 1) << id;
  const auto executions = model.Executions();
  EXPECT_LT(executions.size(), static_cast<std::size_t>(kThreads * kPerThread));  // batches were formed
  EXPECT_GT(*std::max_element(executions.begin(), executions.end()), 4);
  for (auto rows : executions) EXPECT_LE(rows, 16);
  const auto stats = scheduler->statistics().Snapshot();
  EXPECT_EQ(stats.success.count, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(stats.execution_count, executions.size());
}

TEST(DynamicBatching, WaitsUpToTheQueueDelayToFillABatch) {
  RowSumModel model;
  auto scheduler = Start(model, Batching(8, std::chrono::milliseconds(100)));
  std::latch done(3);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(scheduler->Submit(RowsJob(std::to_string(i), {1, 2}, 2, [&](auto) { done.count_down(); })).has_value());
  }
  done.wait();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(model.Executions(), (std::vector<std::int64_t>{3}));
  EXPECT_GE(waited, std::chrono::milliseconds(90));
}

TEST(DynamicBatching, DispatchesAtOnceAtAPreferredSizeOrAFullBatch) {
  RowSumModel model;
  auto scheduler = Start(model, Batching(8, std::chrono::seconds(5), {4}));
  std::latch four(4);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(scheduler->Submit(RowsJob(std::to_string(i), {1, 2}, 2, [&](auto) { four.count_down(); })).has_value());
  }
  four.wait();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(model.Executions(), (std::vector<std::int64_t>{4}));

  RowSumModel full_model;
  auto full = Start(full_model, Batching(6, std::chrono::seconds(5)));
  std::latch two(2);
  const auto again = std::chrono::steady_clock::now();
  ASSERT_TRUE(full->Submit(RowsJob("a", {1, 1, 2, 2, 3, 3}, 2, [&](auto) { two.count_down(); })).has_value());
  ASSERT_TRUE(full->Submit(RowsJob("b", {1, 1, 2, 2, 3, 3}, 2, [&](auto) { two.count_down(); })).has_value());
  two.wait();
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::seconds(2));
  EXPECT_EQ(full_model.Executions(), (std::vector<std::int64_t>{6}));  // 3 + 3 rows
}

TEST(DynamicBatching, ARequestAtFaultFailsAloneWhenItsBatchIsRefused) {
  RowSumModel model;
  model.refuse_negative = true;
  auto scheduler = Start(model, Batching(8, std::chrono::milliseconds(100)));
  std::latch done(3);
  std::map<std::string, Result<core::InferenceResponse>> answers;
  std::mutex mutex;
  auto record = [&](std::string id) {
    return [&, id](Result<core::InferenceResponse> r) {
      std::lock_guard lock(mutex);
      answers.emplace(id, std::move(r));
      done.count_down();
    };
  };
  ASSERT_TRUE(scheduler->Submit(RowsJob("a", {1, 2}, 2, record("a"), {"sum"})).has_value());
  ASSERT_TRUE(scheduler->Submit(RowsJob("b", {-1, 2}, 2, record("b"), {"sum"})).has_value());
  ASSERT_TRUE(scheduler->Submit(RowsJob("c", {3, 4}, 2, record("c"), {"sum"})).has_value());
  done.wait();
  ASSERT_TRUE(answers.at("a").has_value());
  EXPECT_EQ(answers.at("a")->outputs[0].values<float>()[0], 3);
  ASSERT_TRUE(answers.at("c").has_value());
  EXPECT_EQ(answers.at("c")->outputs[0].values<float>()[0], 7);
  ASSERT_FALSE(answers.at("b").has_value());
  EXPECT_EQ(answers.at("b").error().message, "negative value");
  EXPECT_EQ(model.Executions(), (std::vector<std::int64_t>{3, 1, 1, 1}));  // the batch, then each alone
}

TEST(DynamicBatching, IncompatibleShapesAreNotJoined) {
  RowSumModel model;
  auto scheduler = Start(model, Batching(8, std::chrono::milliseconds(50)));
  std::latch done(3);
  ASSERT_TRUE(scheduler->Submit(RowsJob("a", {1, 2}, 2, [&](auto r) { EXPECT_TRUE(r.has_value()); done.count_down(); })).has_value());
  ASSERT_TRUE(scheduler->Submit(RowsJob("b", {1, 2, 3}, 3, [&](auto r) { EXPECT_TRUE(r.has_value()); done.count_down(); })).has_value());
  ASSERT_TRUE(scheduler->Submit(RowsJob("c", {4, 5}, 2, [&](auto r) { EXPECT_TRUE(r.has_value()); done.count_down(); })).has_value());
  done.wait();
  auto executions = model.Executions();
  std::sort(executions.begin(), executions.end());
  EXPECT_EQ(executions, (std::vector<std::int64_t>{1, 2}));  // a+c together, b alone
}

TEST(DynamicBatching, TimedOutRequestsAreAnsweredAndNeverRun) {
  RowSumModel model;
  model.work = std::chrono::milliseconds(100);
  auto options = Batching(1, std::chrono::microseconds(0));
  options.default_timeout = std::chrono::milliseconds(20);
  auto scheduler = Start(model, options);
  std::atomic<int> ok{0}, timed_out{0};
  std::latch done(4);
  auto tally = [&](Result<core::InferenceResponse> r) {
    if (r) {
      ++ok;
    } else if (r.error().code == core::ErrorCode::kDeadlineExceeded) {
      EXPECT_NE(r.error().message.find("past its timeout; it was not run"), std::string::npos);
      ++timed_out;
    }
    done.count_down();
  };
  ASSERT_TRUE(scheduler->Submit(RowsJob("first", {1, 2}, 2, tally)).has_value());
  while (model.Executions().empty()) std::this_thread::yield();  // the first is running
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(scheduler->Submit(RowsJob(std::to_string(i), {1, 2}, 2, tally)).has_value());
  done.wait();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(timed_out.load(), 3);
  EXPECT_EQ(model.Executions().size(), 1u);
  EXPECT_EQ(scheduler->statistics().Snapshot().fail.count, 3u);
}

TEST(DynamicBatching, ARequestTimeoutParameterOverridesTheDefault) {
  RowSumModel model;
  model.work = std::chrono::milliseconds(60);
  auto scheduler = Start(model, Batching(1, std::chrono::microseconds(0)));  // no default timeout
  std::atomic<int> timed_out{0};
  std::latch done(2);
  auto tally = [&](Result<core::InferenceResponse> r) {
    if (!r && r.error().code == core::ErrorCode::kDeadlineExceeded) ++timed_out;
    done.count_down();
  };
  ASSERT_TRUE(scheduler->Submit(RowsJob("first", {1, 2}, 2, tally)).has_value());
  while (model.Executions().empty()) std::this_thread::yield();
  auto job = RowsJob("second", {1, 2}, 2, tally);
  job.request.parameters["timeout"] = std::int64_t{10000};  // 10 ms, in microseconds
  ASSERT_TRUE(scheduler->Submit(std::move(job)).has_value());
  done.wait();
  EXPECT_EQ(timed_out.load(), 1);
}

TEST(DynamicBatching, ShutdownWithRequestsInFlightAnswersEachOnce) {
  RowSumModel model;
  model.work = std::chrono::milliseconds(2);
  auto scheduler = Start(model, Batching(4, std::chrono::milliseconds(1)), 2);
  std::atomic<int> answered{0};
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(scheduler->Submit(RowsJob(std::to_string(i), {1, 2}, 2, [&](auto r) {
      EXPECT_TRUE(r.has_value());
      ++answered;
    })).has_value());
  }
  scheduler.reset();  // stops with most requests still queued
  EXPECT_EQ(answered.load(), 200);
}

}  // namespace
}  // namespace ferry::sched
