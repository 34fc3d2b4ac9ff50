// The in-process baseline for bench/http_infer.sh: runs the Pima model through ferry's ONNX
// Runtime backend in a loop, batch 1, on one thread, with no HTTP, JSON or scheduler, and prints
// "requests/s p50_us p99_us". Usage: ferry_bench_ort_loop <model_dir> <seconds>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/backend_registry.h"
#include "model/model_loader.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <model_dir (e.g. examples/models/pima)> <seconds>\n", argv[0]);
    return 2;
  }
  const auto registry = ferry::backends::BackendRegistry::WithBuiltins();
  ferry::model::ModelConfig config;
  config.name = "pima";
  auto loaded = ferry::model::LoadVersion(registry, config, argv[1], 1);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    return 1;
  }
  auto instance = loaded->model->CreateInstance();
  if (!instance) return 1;
  const std::vector<float> row = {6, 148, 72, 35, 0, 33.6f, 0.627f, 50};
  const std::vector<std::string> outputs = {"probability", "label"};
  const double seconds = std::atof(argv[2]);
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 22);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < end) {
    auto input = ferry::core::Tensor::Allocate("features", ferry::core::DataType::kFp32, {1, 8});
    std::copy(row.begin(), row.end(), input->values<float>().begin());
    std::vector<ferry::core::Tensor> inputs;
    inputs.push_back(std::move(*input));
    auto result = (*instance)->Execute(inputs, outputs, nullptr);
    if (!result) {
      std::fprintf(stderr, "%s\n", result.error().message.c_str());
      return 1;
    }
    const auto after = std::chrono::steady_clock::now();
    latencies_us.push_back(std::chrono::duration<double, std::micro>(after - now).count());
    now = after;
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const double elapsed = std::chrono::duration<double>(now - start).count();
  std::printf("%.0f %.1f %.1f\n", latencies_us.size() / elapsed, latencies_us[latencies_us.size() / 2],
              latencies_us[latencies_us.size() * 99 / 100]);
  return 0;
}
