// Reading a NumPy .npy file (format versions 1 to 3) of numbers as rows of doubles: what
// model.yaml `explain: {background: background.npy}` gives (docs/explain.md). Little-endian
// float32, float64, int32 and int64 arrays of one or two dimensions in C order; anything else is
// refused naming what the file holds.
#pragma once

#include <string_view>
#include <vector>

#include "core/error.h"

namespace ferry::core {

// The array's rows (a 1-D array is one row). `bytes` is the whole file.
Result<std::vector<std::vector<double>>> ParseNpyRows(std::string_view bytes);

}  // namespace ferry::core
