// The embedding API's price (docs/embedding.md): the Pima model through ferry::Server::Infer --
// one call after another on one thread (latency), then `in_flight` calls kept going with
// callbacks (throughput) -- built against libferry.so's public headers alone. Prints
// "seq_calls/s p50_us p99_us concurrent_calls/s".
//   ferry_bench_embed_loop <repository> <seconds> [in_flight=16]
#include <ferry/ferry.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <repository> <seconds> [in_flight]\n", argv[0]);
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  const int in_flight = argc > 3 ? std::atoi(argv[3]) : 16;
  std::unique_ptr<ferry::Server> server;
  if (auto s = ferry::Server::Open({.model_repository = argv[1]}, &server); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const std::array<float, 8> patient = {6, 148, 72, 35, 0, 33.6f, 0.627f, 50};
  const ferry::InferRequest request{
      .model = "pima", .inputs = {{"features", ferry::DataType::kFp32, {1, 8}, patient.data(), sizeof patient}}};
  using Clock = std::chrono::steady_clock;
  ferry::InferResult result;
  for (int i = 0; i < 1000; ++i) (void)server->Infer(request, &result);  // warm-up

  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  auto until = Clock::now() + std::chrono::duration<double>(seconds);
  const auto started = Clock::now();
  while (Clock::now() < until) {
    const auto t0 = Clock::now();
    if (!server->Infer(request, &result).ok()) return 1;
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double seq_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::sort(latencies.begin(), latencies.end());

  std::mutex mutex;
  std::condition_variable done;
  std::atomic<long> answered{0};
  int outstanding = 0;
  bool stopping = false;
  std::function<void()> send;
  send = [&] {
    server->Infer(request, [&](ferry::Status, ferry::InferResult) {
      ++answered;
      std::lock_guard lock(mutex);
      if (!stopping) {
        send();
      } else if (--outstanding == 0) {
        done.notify_all();
      }
    });
  };
  until = Clock::now() + std::chrono::duration<double>(seconds);
  const auto concurrent_started = Clock::now();
  {
    std::lock_guard lock(mutex);
    outstanding = in_flight;
    for (int i = 0; i < in_flight; ++i) send();
  }
  std::this_thread::sleep_until(until);
  const long counted = answered.load();
  const double concurrent_s = std::chrono::duration<double>(Clock::now() - concurrent_started).count();
  {
    std::unique_lock lock(mutex);
    stopping = true;
    done.wait(lock, [&] { return outstanding == 0; });
  }
  std::printf("%.0f %.1f %.1f %.0f\n", static_cast<double>(latencies.size()) / seq_s,
              latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100],
              static_cast<double>(counted) / concurrent_s);
  return 0;
}
