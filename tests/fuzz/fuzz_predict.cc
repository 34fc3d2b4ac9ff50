// Fuzz target: the body of POST /v2/models/{m}/predict, decoded and run through the example
// pipeline (examples/models/pima-pipeline) with a model that answers at once, then rendered.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string_view>

#include "server/protocol/predict_json.h"

namespace {

// Answers pima-features: probability = the first feature squashed into [0, 1].
class Invoker final : public ferry::pipeline::ModelInvoker {
 public:
  ferry::core::Result<ferry::pipeline::ModelInfo> Describe(std::string_view, std::int64_t) const override {
    using ferry::core::DataType;
    return ferry::pipeline::ModelInfo{
        8, {{{"features", DataType::kFp32, ferry::core::Shape{-1, 9}}},
            {{"probability", DataType::kFp32, ferry::core::Shape{-1, 1}}}}};
  }
  void Infer(ferry::core::InferenceRequest&& request, ferry::pipeline::InferDone done) override {
    const auto& x = request.inputs.at(0);
    const auto rows = x.shape()[0];
    auto p = ferry::core::Tensor::Allocate("probability", ferry::core::DataType::kFp32, ferry::core::Shape{rows, 1});
    for (std::int64_t r = 0; r < rows; ++r) {
      const float v = x.values<float>()[r * 9];
      p->values<float>()[r] = v / (1 + (v < 0 ? -v : v));
    }
    ferry::core::InferenceResponse response;
    response.outputs.push_back(std::move(*p));
    done(std::move(response));
  }
};

std::shared_ptr<const ferry::pipeline::Pipeline> Example() {
  std::ifstream in(FERRY_SOURCE_DIR "/examples/models/pima-pipeline/model.yaml");
  std::stringstream text;
  text << in.rdbuf();
  auto pipeline = ferry::pipeline::Pipeline::Parse(text.str(), "pima-pipeline/model.yaml", "pima-pipeline");
  if (!pipeline) __builtin_trap();
  return *pipeline;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto pipeline = Example();
  static Invoker invoker;
  ferry::core::RequestLimits limits;
  auto request = ferry::protocol::DecodePredictRequest(std::string_view(reinterpret_cast<const char*>(data), size),
                                                       limits);
  if (!request) return 0;
  const bool instances = request->instances;
  pipeline->Run(ferry::pipeline::Frame::FromRecords(std::move(request->records)), invoker,
                [&](ferry::core::Result<ferry::pipeline::Frame> frame) {
                  if (!frame) return;
                  std::string out;
                  (void)ferry::protocol::EncodePredictResponse({pipeline, std::move(*frame)}, instances, out);
                });
  return 0;
}
