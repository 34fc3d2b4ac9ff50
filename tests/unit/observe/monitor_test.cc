// observe::Monitor, MonitorConfig and MonitorFileSink: sampling decisions, the bounded queue,
// batching by count and time, flushing at destruction, rotation by size, config errors.
#include "observe/monitor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "observe/monitor_config.h"
#include "observe/monitor_file_sink.h"

namespace ferry::observe {
namespace {

// A sink that records the batches it is given, and can be made to stall or fail.
class RecordingSink final : public MonitorSink {
 public:
  Outcome Send(std::span<const MonitorRecord> records, MonitorConfig::Format) override {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [&] { return !stalled_; });
    batches_.push_back(records.size());
    if (failing_) return {.sent = 0, .failed = records.size(), .error = "sink down"};
    return {.sent = records.size(), .failed = 0, .error = {}};
  }
  std::string Describe() const override { return "test sink"; }
  std::vector<std::size_t> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  void Stall(bool stalled) {
    {
      std::lock_guard lock(mutex_);
      stalled_ = stalled;
    }
    released_.notify_all();
  }
  void Fail(bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing;
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::size_t> batches_;
  bool stalled_ = false, failing_ = false;
};

MonitorConfig Parse(std::string_view yaml) {
  const core::YamlReader r("test.yaml");
  auto node = r.Load(yaml);
  EXPECT_TRUE(node.has_value());
  auto config = ParseMonitorConfig(*node, r);
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message);
  return config.value_or(MonitorConfig{});
}

std::string ParseError(std::string_view yaml) {
  const core::YamlReader r("test.yaml");
  auto node = r.Load(yaml);
  auto config = ParseMonitorConfig(*node, r);
  return config ? "" : config.error().message;
}

MonitorRecord Record(std::string body = "{}") { return {.body = std::move(body), .id = "id", .time = "t"}; }

TEST(MonitorConfig, ReadsEveryKeyAndOverDefaults) {
  auto c = Parse(R"(
sink: {kafka: {topic: mon}}
format: cloudevents
sampling: {rate: 0.05, key: header:X-User-Id, always: [error, slow], slow_ms: 250, max_per_s: 500}
payload: {mode: request, max_bytes: 100, exclude: [image]}
batching: {max_records: 7, linger_ms: 9}
queue: {capacity: 11}
labels: {team: risk}
)");
  EXPECT_TRUE(c.active());
  EXPECT_EQ(c.sink, MonitorConfig::Sink::kKafka);
  EXPECT_EQ(c.topic, "mon");
  EXPECT_EQ(c.format, MonitorConfig::Format::kCloudEvents);
  EXPECT_DOUBLE_EQ(c.rate, 0.05);
  EXPECT_EQ(c.key, "header:x-user-id");
  EXPECT_TRUE(c.always_error && c.always_slow);
  EXPECT_EQ(c.slow_ms, 250);
  EXPECT_EQ(c.payload, MonitorConfig::Payload::kRequest);
  EXPECT_EQ(c.exclude, std::vector<std::string>{"image"});
  EXPECT_EQ(c.max_records, 7u);
  EXPECT_EQ(c.capacity, 11u);
  EXPECT_EQ(c.labels.at("team"), "risk");

  // A model's section over these defaults: only what it sets changes.
  const core::YamlReader r("model.yaml");
  auto over = ParseMonitorConfig(*r.Load("sampling: {rate: 0.5}"), r, c);
  ASSERT_TRUE(over.has_value());
  EXPECT_DOUBLE_EQ(over->rate, 0.5);
  EXPECT_EQ(over->slow_ms, 250);
  EXPECT_EQ(over->topic, "mon");
  auto off = ParseMonitorConfig(*r.Load("off"), r, c);
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->active());
}

TEST(MonitorConfig, RefusesBadSectionsNamingTheKey) {
  EXPECT_NE(ParseError("sampling: {rate: 2}").find("monitoring.sampling.rate"), std::string::npos);
  EXPECT_NE(ParseError("sampling: {rat: 2}").find("rat"), std::string::npos);
  EXPECT_NE(ParseError("sink: {kafka: {topic: a}, file: b}").find("not both"), std::string::npos);
  EXPECT_NE(ParseError("sampling: {key: cookie}").find("header:<name> or key"), std::string::npos);
  EXPECT_NE(ParseError("sampling: {always: [never]}").find("never"), std::string::npos);
  EXPECT_NE(ParseError("format: xml").find("json or cloudevents"), std::string::npos);
  EXPECT_NE(ParseError("queue: {capacity: 0}").find(">= 1"), std::string::npos);
  EXPECT_NE(ParseError("test.yaml:1").find("test.yaml:1"), std::string::npos);
}

TEST(Monitor, SamplesAtTheRateAndByKey) {
  auto sink = std::make_shared<RecordingSink>();
  MonitorConfig config = Parse("sink: {file: /dev/null}\nsampling: {rate: 0.1}");
  Monitor monitor(config, {"m", 1, "onnxruntime"}, sink);
  int sampled = 0;
  for (int i = 0; i < 100000; ++i) sampled += monitor.Sample(std::nullopt) == Monitor::Reason::kRandom;
  EXPECT_NEAR(sampled, 10000, 500);
  EXPECT_DOUBLE_EQ(monitor.Weight(Monitor::Reason::kRandom), 10);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const bool in = monitor.Sample(key) == Monitor::Reason::kHashed;
    EXPECT_EQ(in, Monitor::KeyShare(key) < 0.1);
    EXPECT_EQ(in, monitor.Sample(key) == Monitor::Reason::kHashed);  // stable
  }
  monitor.SetRate(0);
  EXPECT_EQ(monitor.Sample(std::nullopt), Monitor::Reason::kNone);
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c, as docs/monitoring.md computes it.
  EXPECT_DOUBLE_EQ(Monitor::KeyShare("a"), static_cast<double>(0xaf63dc4c8601ec8cull >> 11) * 0x1.0p-53);
}

TEST(Monitor, EveryNthAndAlways) {
  auto sink = std::make_shared<RecordingSink>();
  Monitor monitor(Parse("sink: {file: /dev/null}\nsampling: {every: 4, always: [error, slow], slow_ms: 10}"),
                  {"m", 1, "b"}, sink);
  int sampled = 0;
  for (int i = 0; i < 40; ++i) sampled += monitor.Sample(std::nullopt) == Monitor::Reason::kEvery;
  EXPECT_EQ(sampled, 10);
  EXPECT_TRUE(monitor.WatchesOutcome());
  EXPECT_EQ(monitor.Always(true, std::chrono::milliseconds(1)), Monitor::Reason::kError);
  EXPECT_EQ(monitor.Always(false, std::chrono::milliseconds(11)), Monitor::Reason::kSlow);
  EXPECT_EQ(monitor.Always(false, std::chrono::milliseconds(1)), Monitor::Reason::kNone);
}

TEST(Monitor, BatchesByCountAndByTime) {
  auto sink = std::make_shared<RecordingSink>();
  Monitor monitor(Parse("sink: {file: /dev/null}\nbatching: {max_records: 5, linger_ms: 50}"), {"m", 1, "b"}, sink);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(monitor.Submit(Record()));
  for (int i = 0; i < 100 && sink->batches().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(sink->batches(), std::vector<std::size_t>{5});  // a full batch leaves at once
  ASSERT_TRUE(monitor.Submit(Record()));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sink->batches().size(), 1u);  // a partial one lingers
  for (int i = 0; i < 100 && sink->batches().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(sink->batches(), (std::vector<std::size_t>{5, 1}));
  EXPECT_EQ(monitor.counters().sent, 6u);
}

TEST(Monitor, FullQueueDropsAndCountsWithoutBlocking) {
  auto sink = std::make_shared<RecordingSink>();
  sink->Stall(true);
  {
    Monitor monitor(Parse("sink: {file: /dev/null}\nqueue: {capacity: 10}\nbatching: {max_records: 1, linger_ms: 0}"),
                    {"m", 1, "b"}, sink, {.flush_timeout = std::chrono::milliseconds(2000)});
    int accepted = 0;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) accepted += monitor.Submit(Record());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
    EXPECT_LE(accepted, 11);  // the queue, and the one the stalled sender holds
    EXPECT_GE(monitor.counters().dropped_full, 989u);
    sink->Stall(false);
  }  // destruction sends what is queued
  std::size_t sent = 0;
  for (auto n : sink->batches()) sent += n;
  EXPECT_GE(sent, 10u);
}

TEST(Monitor, MaxPerSecondDropsTheRest) {
  auto sink = std::make_shared<RecordingSink>();
  Monitor monitor(Parse("sink: {file: /dev/null}\nsampling: {max_per_s: 5}"), {"m", 1, "b"}, sink);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += monitor.Submit(Record());
  EXPECT_GE(accepted, 5);
  EXPECT_LE(accepted, 10);  // a second boundary may fall inside the loop
  EXPECT_EQ(monitor.counters().dropped_rate, static_cast<std::uint64_t>(100 - accepted));
}

TEST(Monitor, SendErrorsAreCountedWithTheReason) {
  auto sink = std::make_shared<RecordingSink>();
  sink->Fail(true);
  Monitor monitor(Parse("sink: {file: /dev/null}\nbatching: {max_records: 2, linger_ms: 0}"), {"m", 1, "b"}, sink);
  monitor.Submit(Record());
  monitor.Submit(Record());
  for (int i = 0; i < 200 && monitor.counters().send_error < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(monitor.counters().send_error, 2u);
  EXPECT_EQ(monitor.counters().last_error, "sink down");
}

TEST(MonitorFileSink, WritesLinesAndRotatesBySize) {
  const auto dir = std::filesystem::temp_directory_path() / ("ferry_monitor_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto sink = MonitorFileSink::Create(dir / "sub" / "records.jsonl", 1024, 2);
  ASSERT_TRUE(sink.has_value()) << sink.error().message;
  const std::vector<MonitorRecord> batch(10, Record("{\"x\":\"" + std::string(40, 'a') + "\"}"));
  for (int i = 0; i < 10; ++i) EXPECT_EQ((*sink)->Send(batch, MonitorConfig::Format::kJson).sent, 10u);
  EXPECT_TRUE(std::filesystem::exists(dir / "sub" / "records.jsonl.1"));
  EXPECT_TRUE(std::filesystem::exists(dir / "sub" / "records.jsonl.2"));
  EXPECT_FALSE(std::filesystem::exists(dir / "sub" / "records.jsonl.3"));
  EXPECT_LE(std::filesystem::file_size(dir / "sub" / "records.jsonl"), 1024u);
  const std::vector<MonitorRecord> one(1, Record("{\"y\":1}"));
  (*sink)->Send(one, MonitorConfig::Format::kCloudEvents);
  std::ifstream in(dir / "sub" / "records.jsonl");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  EXPECT_EQ(last, R"({"specversion":"1.0","id":"id","source":"","type":"ferry.inference.record.v1","time":"t",)"
                  R"("datacontenttype":"application/json","data":{"y":1}})");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferry::observe
