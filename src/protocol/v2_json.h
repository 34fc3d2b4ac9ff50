// The KServe V2 / Open Inference Protocol JSON codecs: pure functions from bytes to ferry's types
// and back. Decoding writes tensor elements straight into each tensor's buffer (no per-element
// allocation); encoding writes straight out of it. Every decoding error is kInvalidArgument with a
// message naming the field or input and what was expected.
// Thread safety: all functions may run concurrently (the parser is per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/inference.h"
#include "core/limits.h"
#include "runtime/live_figures.h"
#include "runtime/server.h"

namespace ferry::protocol {

// Decodes an infer request: `json` is {id?, parameters?, inputs: [...], outputs?: [...]}, and
// `binary` the bytes after it (binary tensor extension): each input whose parameters carry
// binary_data_size takes that many bytes, in input order; every byte must be claimed. The model
// name and version come from the URL and are set by the caller.
core::Result<core::InferenceRequest> DecodeInferRequest(std::string_view json, std::span<const std::byte> binary = {},
                                                        const core::RequestLimits& limits = {});

// Which outputs travel as binary data: the request parameter binary_data_output sets the default,
// each requested output's binary_data parameter overrides it.
class OutputFormat {
 public:
  OutputFormat() = default;
  explicit OutputFormat(const core::InferenceRequest& request);
  bool IsBinary(std::string_view output) const;

 private:
  bool all_binary_ = false;
  std::vector<std::pair<std::string, bool>> overrides_;
};

// Appends the infer response to `out`: its JSON, then the bytes of every binary output in order.
// Returns the length of the JSON part when there is binary data (the Inference-Header-Content-Length
// to send), nullopt when the response is JSON alone.
std::optional<std::size_t> EncodeInferResponse(const core::InferenceResponse& response, const OutputFormat& format,
                                               std::string& out);

// Appends the tensor's elements as a flat JSON array.
void EncodeTensorData(const core::Tensor& tensor, std::string& out);

std::string EncodeServerMetadata(const runtime::ServerMetadata& metadata);
std::string EncodeModelMetadata(const runtime::ModelMetadata& metadata);

// Client side (ferry infer, ferry bench): a request as V2 JSON, each input as JSON data or, with
// `binary_inputs`, as binary data after the JSON; outputs are asked for as binary when
// `binary_outputs`. Returns the JSON length when binary data follows (the
// Inference-Header-Content-Length to send).
std::optional<std::size_t> EncodeInferRequest(const core::InferenceRequest& request, bool binary_inputs,
                                              bool binary_outputs, std::string& out);

// Client side: a response body (JSON, then the binary outputs' bytes when `binary` is not empty).
core::Result<core::InferenceResponse> DecodeInferResponse(std::string_view json, std::span<const std::byte> binary = {});

// Client side: model metadata {name, versions, platform, inputs, outputs}.
core::Result<runtime::ModelMetadata> DecodeModelMetadata(std::string_view json);

// The statistics extension: {"model_stats": [...]} with every duration as {count, ns}.
std::string EncodeStatistics(const std::vector<runtime::VersionStatistics>& stats);

// The live figures (GET /v2/figures, runtime/live_figures.h): {"interval_s", "time_ms",
// "models": [{"name", "version", "requests_per_s", "errors_per_s", "rows_per_s", "p50_ms",
// "p99_ms", "batch_size", "queue_depth", "requests_total", "errors_total"}]}, a figure not known
// over the window (no request, no execution) null; and "control": whether the caller may use the
// admin routes.
std::string EncodeFigures(const runtime::FiguresReport& report, bool control);

// The model configuration extension, in Triton's model configuration schema (what its clients and
// perf_analyzer read): name, platform, backend, version_policy, max_batch_size, input and output
// with data_type "TYPE_FP32" and dims without the batch dim when max_batch_size > 0,
// instance_group, parameters as {"key": {"string_value": "..."}}.
std::string EncodeModelConfig(const runtime::ModelConfiguration& config);

// Triton's name for a datatype in model configurations: "TYPE_FP32", "TYPE_STRING" for BYTES.
std::string ConfigDataTypeName(core::DataType type);

// The model repository extension: [{name, version, state, reason}] (READY ones only when asked).
std::string EncodeRepositoryIndex(const std::vector<runtime::ModelStatus>& index, bool ready_only);
// POST /v2/repository/index body: {"ready": bool}, optional; returns `ready`.
core::Result<bool> DecodeIndexRequest(std::string_view body);
// POST .../load body, optional: {"parameters": {"config": "<model.yaml or Triton's ModelConfig
// JSON>", "file:<version>/<path>": "<the file's bytes, base64>", ...}}.
core::Result<runtime::LoadRequest> DecodeLoadRequest(std::string_view body);

// {"error": "<message>"}
std::string EncodeError(std::string_view message);

}  // namespace ferry::protocol
