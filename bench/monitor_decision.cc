// The cost of the monitoring stream's sampling decision on a request that is not recorded
// (docs/monitoring.md, docs/benchmarks.md "Monitoring"): runtime::WatchInfer around a call to a
// servable that answers at once, timed over many calls, for a servable without monitoring, one
// at rate 0, one at rate 0.01 drawn at random and one keyed by a header. The records the 1% make
// go to a file sink in a temporary folder. Then tracing's share of a call, as runtime::Server
// wraps it (a TracedContext, TraceInfer, WatchInfer): tracing off (no tracer), and on at rate 0
// (each call's trace id drawn and not sampled).
//
//   build/ferry_bench_monitor_decision [calls]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "observe/monitor.h"
#include "observe/monitor_file_sink.h"
#include "observe/tracer.h"
#include "runtime/monitoring.h"
#include "runtime/tracing.h"
#include "scheduler/statistics.h"

namespace {

using namespace ferry;

// A servable that answers every call on the calling thread, empty.
class AnsweringServable final : public routing::Servable {
 public:
  AnsweringServable() : Servable("bench", 1) {}
  std::string_view platform() const override { return "bench"; }
  std::string_view backend() const override { return "bench"; }
  core::ModelSignature Signature() const override { return {}; }
  void Infer(core::InferenceRequest&&, const routing::CallContext&, routing::InferDone done) const override {
    done(core::InferenceResponse{});
  }
  sched::Statistics& statistics() const override { return statistics_; }

 private:
  mutable sched::Statistics statistics_;
};

class UserHeader final : public routing::CallContext {
 public:
  std::optional<std::string_view> Header(std::string_view name) const override {
    if (name == "x-user-id") return "user-123456";
    return std::nullopt;
  }
};

double NanosecondsPerCall(const routing::Servable& servable, const routing::CallContext& context, long calls) {
  core::InferenceRequest request;
  long answered = 0;
  const auto started = std::chrono::steady_clock::now();
  for (long i = 0; i < calls; ++i) {
    auto done = runtime::WatchInfer(servable, request, context,
                                    [&answered](core::Result<core::InferenceResponse>) { ++answered; });
    done(core::InferenceResponse{});
  }
  const auto took = std::chrono::steady_clock::now() - started;
  if (answered != calls) std::abort();
  return std::chrono::duration<double, std::nano>(took).count() / static_cast<double>(calls);
}

// As runtime::Server::Infer wraps a call: tracing (a null tracer: off), then monitoring.
double NanosecondsPerServerCall(const routing::Servable& servable, observe::Tracer* tracer, long calls) {
  core::InferenceRequest request;
  long answered = 0;
  const auto started = std::chrono::steady_clock::now();
  for (long i = 0; i < calls; ++i) {
    runtime::TracedContext context(routing::CallContext::None());
    auto traced = runtime::TraceInfer(tracer, servable, context,
                                      [&answered](core::Result<core::InferenceResponse>) { ++answered; });
    auto done = runtime::WatchInfer(servable, request, context, std::move(traced));
    done(core::InferenceResponse{});
  }
  const auto took = std::chrono::steady_clock::now() - started;
  if (answered != calls) std::abort();
  return std::chrono::duration<double, std::nano>(took).count() / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  const long calls = argc > 1 ? std::atol(argv[1]) : 5'000'000;
  const auto dir = std::filesystem::temp_directory_path() / ("ferry_bench_monitor_" + std::to_string(::getpid()));
  auto sink = observe::MonitorFileSink::Create(dir / "records.jsonl", 1ull << 30, 1);
  if (!sink) return 1;
  std::shared_ptr<observe::MonitorSink> shared = std::move(*sink);
  auto monitored = [&](double rate, std::string key) {
    auto servable = std::make_unique<AnsweringServable>();
    observe::MonitorConfig config;
    config.sink = observe::MonitorConfig::Sink::kFile;
    config.file = (dir / "records.jsonl").string();
    config.rate = rate;
    config.key = std::move(key);
    servable->SetMonitor(std::make_shared<observe::Monitor>(config, observe::Monitor::Identity{"bench", 1, "bench"},
                                                            shared));
    return servable;
  };
  const AnsweringServable plain;
  const auto rate0 = monitored(0, "");
  const auto rate001 = monitored(0.01, "");
  const auto keyed0 = monitored(0, "header:x-user-id");
  const UserHeader user;
  const auto& none = routing::CallContext::None();
  NanosecondsPerCall(plain, none, calls / 10);  // warm up
  std::printf("calls %ld\n", calls);
  std::printf("no monitoring          %.1f ns/call\n", NanosecondsPerCall(plain, none, calls));
  std::printf("rate 0, not recorded   %.1f ns/call\n", NanosecondsPerCall(*rate0, none, calls));
  std::printf("keyed, not recorded    %.1f ns/call\n", NanosecondsPerCall(*keyed0, user, calls));
  std::printf("rate 0.01 (1%% recorded) %.1f ns/call\n", NanosecondsPerCall(*rate001, none, calls));
  auto unsampled = observe::Tracer::Create({.rate = 0});
  if (!unsampled) return 1;
  std::printf("server wrapping, tracing off        %.1f ns/call\n", NanosecondsPerServerCall(plain, nullptr, calls));
  std::printf("server wrapping, tracing at rate 0  %.1f ns/call\n",
              NanosecondsPerServerCall(plain, unsampled->get(), calls));
  std::filesystem::remove_all(dir);
  return 0;
}
