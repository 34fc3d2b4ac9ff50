// The JSON of POST /v2/models/{m}[/versions/{v}]/explain (docs/explain.md). Pure functions.
//
// The request is a V2 inference request; its `parameters` may hold `top_k` (the largest
// contributions of each row, by absolute value; 0 or absent: all) and `format` ("compact", the
// default, or "v2").
//
//   compact: {"model_name", "model_version", "method", "features": [...],
//             "explanations": [{"output", "space", "rows": [{"base_value", "prediction",
//               "contributions": {"feature": value, ...}}]}]}     contributions largest first
//   v2:      a V2 inference response: per explained output column, "<output>[:<column>].contributions"
//            FP64 [rows, features], ".base_value" and ".prediction" FP64 [rows]; and "feature_names"
//            BYTES [features]
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/explanation.h"
#include "core/inference.h"
#include "core/json_writer.h"

namespace ferry::protocol {

struct ExplainFormat {
  std::size_t top_k = 0;  // 0: every feature
  bool v2 = false;
};

// The explain parameters of a decoded request; InvalidArgument naming a bad one.
core::Result<ExplainFormat> ExplainFormatOf(const core::Parameters& parameters);

// The explanation as a V2 inference response (the v2 format; gRPC ModelInfer with
// `ferry_explain`): "feature_names" BYTES [features], then per explained output column
// "<name>.contributions" FP64 [rows, features], "<name>.base_value" and "<name>.prediction" FP64
// [rows], and "<name>.interactions" FP64 [rows, features, features] when asked for; the method
// (and the route through a router) in the response's parameters.
core::Result<core::InferenceResponse> ExplanationResponse(const core::Explanation& explanation);

std::string EncodeExplanation(const core::Explanation& explanation, const ExplainFormat& format);

// The compact format's "explanations" list: one entry an explained output, {"output", "space",
// "rows": [{"base_value", "prediction", "contributions": the top_k largest (0: all)}]}.
void WriteExplanations(const core::Explanation& explanation, std::size_t top_k, core::JsonWriter& w);

// Row `row` of an explanation as a stream answer's "explanations" member: a list, one entry an
// explained output, of {"output", "space", "method", "row": {"base_value", "prediction",
// "contributions": the top_k largest (0: all)}}.
void WriteRowExplanation(const core::Explanation& explanation, std::int64_t row, std::size_t top_k,
                         core::JsonWriter& w);

}  // namespace ferry::protocol
