// Fuzz target: the body of POST /v2/models/{m}/predict, decoded and run through the example
// pipeline (examples/models/pima-pipeline) as a servable whose model answers at once, then
// rendered.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string_view>

#include "protocol/predict_json.h"
#include "routing/pipeline_servable.h"
#include "unit/test_util/fake_servables.h"

namespace {

using ferry::core::DataType;
using ferry::core::Shape;

// pima-features: probability = the first feature squashed into [0, 1].
ferry::core::Result<ferry::core::InferenceResponse> Squash(ferry::core::InferenceRequest& request) {
  const auto& x = request.inputs.at(0);
  const auto rows = x.shape()[0];
  auto p = ferry::core::Tensor::Allocate("probability", DataType::kFp32, Shape{rows, 1});
  for (std::int64_t r = 0; r < rows; ++r) {
    const float v = x.values<float>()[r * 9];
    p->values<float>()[r] = v / (1 + (v < 0 ? -v : v));
  }
  ferry::core::InferenceResponse response;
  response.outputs.push_back(std::move(*p));
  return response;
}

std::shared_ptr<const ferry::routing::Servable> Example(ferry::test::FakeResolver& resolver) {
  resolver.Add(std::make_shared<ferry::test::FakeModel>(
      "pima-features",
      ferry::core::ModelSignature{{{"features", DataType::kFp32, Shape{-1, 9}}},
                                  {{"probability", DataType::kFp32, Shape{-1, 1}}}},
      Squash));
  std::ifstream in(FERRY_SOURCE_DIR "/examples/models/pima-pipeline/model.yaml");
  std::stringstream text;
  text << in.rdbuf();
  auto pipeline = ferry::pipeline::Pipeline::Parse(text.str(), "pima-pipeline/model.yaml", "pima-pipeline");
  if (!pipeline) __builtin_trap();
  return std::make_shared<ferry::routing::PipelineServable>("pima-pipeline", 1, *pipeline, resolver);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ferry::test::FakeResolver resolver;
  static const auto pipeline = Example(resolver);
  ferry::core::RequestLimits limits;
  auto request = ferry::protocol::DecodePredictRequest(std::string_view(reinterpret_cast<const char*>(data), size),
                                                       limits);
  if (!request) return 0;
  const bool instances = request->instances;
  const ferry::routing::CallContext* none[] = {&ferry::routing::CallContext::None()};
  pipeline->Predict(std::move(request->records), none, [&](ferry::core::Result<ferry::routing::Predictions> answer) {
    if (!answer) return;
    std::string out;
    (void)ferry::protocol::EncodePredictResponse(*answer, instances, out);
  });
  return 0;
}
