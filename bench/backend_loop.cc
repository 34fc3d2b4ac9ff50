// The in-process baseline for the benchmarks: runs a model version through its ferry backend
// (ONNX Runtime, XGBoost, PMML, TorchScript, ...; model.yaml read when present) in a loop on one
// thread, with no HTTP, JSON or scheduler, and prints "runs/s rows/s p50_us p99_us". Inputs are
// synthesized from the model's signature: -1 dims become the batch size (first dim) or 1; values
// uniform in [lo, hi) (default [0, 100)).
//   ferry_bench_backend_loop <model_dir> <seconds> [batch=1] [version=1] [lo] [hi]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "backends/backend_registry.h"
#include "model/model_loader.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <model_dir (e.g. examples/models/pima)> <seconds> [batch] [version]\n", argv[0]);
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  const std::int64_t batch = argc > 3 ? std::atoll(argv[3]) : 1;
  const std::int64_t version = argc > 4 ? std::atoll(argv[4]) : 1;
  spdlog::set_level(spdlog::level::warn);  // stdout carries the result line only
  const auto registry = ferry::backends::BackendRegistry::WithBuiltins();
  ferry::model::ModelConfig config;
  const std::filesystem::path yaml = std::filesystem::path(argv[1]) / "model.yaml";
  if (std::filesystem::exists(yaml)) {
    auto parsed = ferry::model::LoadModelConfig(yaml);
    if (!parsed) {
      std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
      return 1;
    }
    config = std::move(*parsed);
  }
  config.name = "bench";
  const float lo = argc > 5 ? std::strtof(argv[5], nullptr) : 0.0f;
  const float hi = argc > 6 ? std::strtof(argv[6], nullptr) : 100.0f;
  auto loaded = ferry::model::LoadVersion(registry, config, argv[1], version);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    return 1;
  }
  auto instance = loaded->model->CreateInstance();
  if (!instance) return 1;
  std::vector<std::string> outputs;
  for (const auto& spec : loaded->signature.outputs) outputs.push_back(spec.name);
  std::mt19937 random(1);
  std::vector<ferry::core::Tensor> inputs;
  for (const auto& spec : loaded->signature.inputs) {
    ferry::core::Shape shape = spec.shape;
    for (std::size_t i = 0; i < shape.rank(); ++i) {
      if (shape[i] < 0) shape.mutable_dims()[i] = i == 0 ? batch : 1;
    }
    if (spec.type != ferry::core::DataType::kFp32) {
      std::fprintf(stderr, "input '%s': the loop synthesizes FP32 inputs only\n", spec.name.c_str());
      return 2;
    }
    auto t = ferry::core::Tensor::Allocate(spec.name, spec.type, std::move(shape));
    for (float& v : t->values<float>()) v = std::uniform_real_distribution<float>(lo, hi)(random);
    inputs.push_back(std::move(*t));
  }
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 22);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < end) {
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
  const double runs = latencies_us.size() / elapsed;
  std::printf("%.0f %.0f %.1f %.1f\n", runs, runs * batch, latencies_us[latencies_us.size() / 2],
              latencies_us[latencies_us.size() * 99 / 100]);
  return 0;
}
