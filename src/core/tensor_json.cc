#include "core/tensor_json.h"

namespace ferry::core {
namespace {

template <typename T>
void WriteValues(const Tensor& t, JsonWriter& w) {
  for (T v : t.values<T>()) w.Number(v);
}

}  // namespace

void WriteTensorData(const Tensor& t, JsonWriter& w) {
  w.BeginArray();
  switch (t.type()) {
    case DataType::kBool:
      for (std::uint8_t v : t.values<std::uint8_t>()) w.Bool(v != 0);
      break;
    case DataType::kUint8: WriteValues<std::uint8_t>(t, w); break;
    case DataType::kUint16: WriteValues<std::uint16_t>(t, w); break;
    case DataType::kUint32: WriteValues<std::uint32_t>(t, w); break;
    case DataType::kUint64: WriteValues<std::uint64_t>(t, w); break;
    case DataType::kInt8: WriteValues<std::int8_t>(t, w); break;
    case DataType::kInt16: WriteValues<std::int16_t>(t, w); break;
    case DataType::kInt32: WriteValues<std::int32_t>(t, w); break;
    case DataType::kInt64: WriteValues<std::int64_t>(t, w); break;
    case DataType::kFp16:
      for (std::uint16_t v : t.values<std::uint16_t>()) w.Number(HalfToFloat(v));
      break;
    case DataType::kBf16:
      for (std::uint16_t v : t.values<std::uint16_t>()) w.Number(Bf16ToFloat(v));
      break;
    case DataType::kFp32: WriteValues<float>(t, w); break;
    case DataType::kFp64: WriteValues<double>(t, w); break;
    case DataType::kBytes:
      ForEachBytesElement(t.bytes(), [&](std::string_view s) { w.String(s); });
      break;
  }
  w.EndArray();
}

}  // namespace ferry::core
