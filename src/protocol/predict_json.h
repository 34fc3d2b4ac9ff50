// The JSON of the business API, POST /v2/models/{m}/predict:
//   request:  a record {"preg": 2, ...}, or {"instances": [record, ...]}
//   response: {"predictions": [answer or {"error": ..., "step": ...}, ...], "skipped": [i, ...]}
// with one entry a record in order, skipped records left out (their indices in "skipped", only
// when some were). A single record that is rejected answers 422 {"error", "step"}; a list whose
// every record is rejected answers 422 with the list; otherwise 200.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/inference.h"
#include "core/limits.h"
#include "core/record.h"
#include "routing/predictions.h"

namespace ferry::protocol {

struct PredictRequest {
  std::vector<core::Record> records;
  bool instances = false;  // sent as {"instances": [...]}
  // {"instances": [...], "parameters": {...}}: for /explain of a pipeline (top_k, format)
  core::Parameters parameters;
};

core::Result<PredictRequest> DecodePredictRequest(std::string_view json, const core::RequestLimits& limits = {});

// Appends the response body; returns its HTTP status.
int EncodePredictResponse(const routing::Predictions& predictions, bool instances, std::string& out);

}  // namespace ferry::protocol
