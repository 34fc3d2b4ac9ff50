// The classification extension (Triton's): a requested output with the parameter
// `classification: K` is answered, instead of its values, as a BYTES tensor of the K highest
// values of each row, "<value>:<index>" or "<value>:<index>:<label>" when the output has a labels
// file (model.yaml `outputs: [{..., labels: labels.txt}]`, one label a line). The shape is
// [rows, K] for a model that batches (each row classified on its own), [K] otherwise; K beyond
// the number of classes gives them all. Values compare in the output's datatype; equal values
// keep index order. Values are written as C's %f for floating types (Triton's std::to_string),
// as integers otherwise.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::routing {

using ClassLabels = std::map<std::string, std::vector<std::string>, std::less<>>;  // by output name

struct ClassificationRequest {
  std::string output;
  std::int64_t count = 0;
};

// The outputs a request asks to classify; kInvalidArgument when a `classification` parameter is
// not a positive integer or names a BYTES output.
core::Result<std::vector<ClassificationRequest>> ClassificationRequests(const core::InferenceRequest& request,
                                                                        const core::ModelSignature& signature);

// Replaces each classified output of `response` by its classes.
core::Result<void> Classify(core::InferenceResponse& response, const std::vector<ClassificationRequest>& wanted,
                            bool batched, const ClassLabels& labels);

// A labels file: one label a line (a trailing newline and CRs are dropped).
std::vector<std::string> ParseLabels(std::string_view text);

}  // namespace ferry::routing
