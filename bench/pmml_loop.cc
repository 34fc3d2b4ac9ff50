// In-process rows/s of ferry's PMML evaluator on one core: the Pima logistic regression of
// examples/models/pima-pmml, evaluated on batches of rows until `seconds` pass.
//   ferry_bench_pmml_loop MODEL.pmml [batch=1024] [seconds=3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "backends/pmml/pmml_model.h"
#include "core/file.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.pmml [batch] [seconds]\n", argv[0]);
    return 2;
  }
  const std::size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
  const double seconds = argc > 3 ? std::strtod(argv[3], nullptr) : 3.0;
  auto text = ferry::core::ReadWholeFile(argv[1]);
  if (!text) return std::fprintf(stderr, "%s\n", text.error().message.c_str()), 1;
  auto model = ferry::backends::pmml::CompiledPmml::Compile(*text, argv[1]);
  if (!model) return std::fprintf(stderr, "%s\n", model.error().message.c_str()), 1;
  const std::size_t n = (*model)->inputs().size();
  std::vector<double> in(batch * n), out(batch * (*model)->width());
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(0, 100);
  for (auto& v : in) v = u(rng);
  using Clock = std::chrono::steady_clock;
  std::size_t rows = 0;
  double sink = 0;
  const auto start = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    if (auto done = (*model)->Evaluate(in.data(), batch, out.data()); !done) {
      return std::fprintf(stderr, "%s\n", done.error().message.c_str()), 1;
    }
    rows += batch;
    sink += out[0];
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("RESULT %zu %.3f %.0f %g\n", rows, elapsed, rows / elapsed, sink);
  return 0;
}
