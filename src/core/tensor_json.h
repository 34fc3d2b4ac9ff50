// A tensor's elements as a flat JSON array, the way the KServe V2 JSON protocol writes `data`:
// numbers (FP16 and BF16 widened), booleans for BOOL, strings for BYTES elements. Shared by the
// protocol's response encoder and the monitoring stream's records.
#pragma once

#include "core/json_writer.h"
#include "core/tensor.h"

namespace ferry::core {

void WriteTensorData(const Tensor& tensor, JsonWriter& w);

}  // namespace ferry::core
