// Triton's model configuration (the ModelConfig message of model_config.proto, as JSON) read as
// model.yaml, so that a client can load a model with the configuration it got from
// GET /v2/models/{m}/config (tritonclient's get_model_config -> load_model(config=...)).
//
// The JSON may use the proto's field names (max_batch_size) or protobuf's JSON names
// (maxBatchSize), and numbers or numeric strings (protobuf writes int64 as strings). Mapped:
// name, platform / backend (to ferry's backend), max_batch_size, input / output (data_type
// TYPE_X, dims without the batch dim, label_filename), instance_group (the counts, summed),
// dynamic_batching (delay, preferred sizes, default_queue_policy's size and timeout),
// version_policy, parameters (string_value), model_warmup (batch size, count, zero or random
// data). Fields ferry has no use for (optimization, metric_tags, response_cache, ...) are ignored
// with a warning each; fields whose meaning ferry cannot honour (sequence_batching,
// ensemble_scheduling, batch_input/batch_output, decoupled transactions, a platform or backend
// ferry lacks) and fields Triton does not have are refused, naming the field.
// Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/model_config.h"

namespace ferry::model {

struct LoadConfig {
  ModelConfig config;
  std::vector<std::string> warnings;  // Triton fields ignored
};

// A configuration handed to a load: Triton's ModelConfig JSON when it looks like one (a key only
// Triton has, or Triton's shape for a key both have), model.yaml (YAML or JSON) otherwise.
// Errors are kInvalidArgument and name `source`.
core::Result<LoadConfig> ParseLoadConfig(std::string_view text, std::string_view source);

}  // namespace ferry::model
