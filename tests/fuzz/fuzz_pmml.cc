// Fuzz target: PMML documents, compiled as at load and, when they compile, evaluated on a few
// rows (missing values among them), and explained by the exact explainer when they have one.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "backends/pmml/pmml_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto model = ferry::backends::pmml::CompiledPmml::Compile(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.pmml");
  if (!model) return 0;
  const std::size_t n = (*model)->inputs().size();
  std::vector<double> in(3 * n);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if ((*model)->inputs()[i % n].is_string) {
      in[i] = (*model)->Encode(i % 2 == 0 ? "a" : "b");
    } else {
      in[i] = i % 4 == 3 ? std::nan("") : static_cast<double>(i) - 2.5;
    }
  }
  std::vector<double> out(3 * (*model)->width());
  (void)(*model)->Evaluate(in.data(), 3, out.data());
  if (!(*model)->exact_method().empty()) (void)(*model)->Explain(in.data(), 3);
  return 0;
}
