#include "scheduler/batch.h"

#include <cstring>
#include <fmt/format.h>
#include <numeric>

namespace ferry::sched {
namespace {

// Byte offset of each row boundary of a BYTES buffer with `per_row` elements a row.
std::vector<std::size_t> BytesRowOffsets(const core::Tensor& t, std::int64_t rows) {
  std::vector<std::size_t> offsets;
  offsets.reserve(static_cast<std::size_t>(rows) + 1);
  const std::int64_t per_row = rows > 0 ? t.element_count() / rows : 0;
  std::size_t pos = 0;
  std::int64_t element = 0;
  offsets.push_back(0);
  core::ForEachBytesElement(t.bytes(), [&](std::string_view s) {
    pos += 4 + s.size();
    if (per_row > 0 && ++element % per_row == 0) offsets.push_back(pos);
  });
  while (static_cast<std::int64_t>(offsets.size()) < rows + 1) offsets.push_back(pos);  // rows without elements
  return offsets;
}

}  // namespace

std::int64_t Rows(const core::InferenceRequest& request) {
  if (request.inputs.empty() || request.inputs[0].shape().rank() == 0) return 1;
  return request.inputs[0].shape()[0];
}

bool Compatible(const core::InferenceRequest& a, std::span<const std::string> a_outputs,
                const core::InferenceRequest& b, std::span<const std::string> b_outputs) {
  if (a.inputs.size() != b.inputs.size() || a_outputs.size() != b_outputs.size()) return false;
  for (std::size_t i = 0; i < a_outputs.size(); ++i) {
    if (a_outputs[i] != b_outputs[i]) return false;
  }
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    const core::Tensor& x = a.inputs[i];
    const core::Tensor& y = b.inputs[i];
    if (x.name() != y.name() || x.type() != y.type() || x.shape().rank() != y.shape().rank() ||
        x.shape().rank() == 0) {
      return false;
    }
    const auto dx = x.shape().dims(), dy = y.shape().dims();
    if (!std::equal(dx.begin() + 1, dx.end(), dy.begin() + 1)) return false;
  }
  return true;
}

core::Result<std::vector<core::Tensor>> JoinInputs(std::span<const core::InferenceRequest* const> requests) {
  std::vector<core::Tensor> joined;
  const auto& first = *requests.front();
  joined.reserve(first.inputs.size());
  for (std::size_t i = 0; i < first.inputs.size(); ++i) {
    const core::Tensor& model = first.inputs[i];
    std::int64_t rows = 0;
    std::size_t bytes = 0;
    for (const auto* r : requests) {
      rows += r->inputs[i].shape()[0];
      bytes += r->inputs[i].byte_size();
    }
    core::Shape shape = model.shape();
    shape.mutable_dims()[0] = rows;
    core::Tensor t = core::Tensor::AllocateBytes(model.name(), model.type(), std::move(shape), bytes);
    std::byte* out = t.bytes().data();
    for (const auto* r : requests) {
      const auto& in = r->inputs[i];
      if (in.byte_size() > 0) std::memcpy(out, in.bytes().data(), in.byte_size());
      out += in.byte_size();
    }
    joined.push_back(std::move(t));
  }
  return joined;
}

core::Result<std::vector<std::vector<core::Tensor>>> SplitOutputs(std::vector<core::Tensor>&& outputs,
                                                                  std::span<const std::int64_t> rows) {
  const std::int64_t total = std::accumulate(rows.begin(), rows.end(), std::int64_t{0});
  std::vector<std::vector<core::Tensor>> split(rows.size());
  for (auto& parts : split) parts.reserve(outputs.size());
  for (core::Tensor& output : outputs) {
    if (output.shape().rank() == 0 || output.shape()[0] != total) {
      return core::Internal(fmt::format("output '{}' has shape {}, not the {} rows of the batch", output.name(),
                                        output.shape().ToString(), total));
    }
    if (rows.size() == 1) {
      split[0].push_back(std::move(output));
      continue;
    }
    std::vector<std::size_t> offsets;
    if (output.type() == core::DataType::kBytes) {
      offsets = BytesRowOffsets(output, total);
    } else {
      const std::size_t row_bytes = total > 0 ? output.byte_size() / static_cast<std::size_t>(total) : 0;
      offsets.resize(static_cast<std::size_t>(total) + 1);
      for (std::size_t r = 0; r < offsets.size(); ++r) offsets[r] = r * row_bytes;
    }
    std::int64_t row = 0;
    for (std::size_t j = 0; j < rows.size(); ++j) {
      const std::size_t begin = offsets[static_cast<std::size_t>(row)];
      const std::size_t end = offsets[static_cast<std::size_t>(row + rows[j])];
      core::Shape shape = output.shape();
      shape.mutable_dims()[0] = rows[j];
      core::Tensor part = core::Tensor::AllocateBytes(output.name(), output.type(), std::move(shape), end - begin);
      if (end > begin) std::memcpy(part.bytes().data(), output.bytes().data() + begin, end - begin);
      split[j].push_back(std::move(part));
      row += rows[j];
    }
  }
  return split;
}

}  // namespace ferry::sched
