// Fuzz target: the messages between ferry and a Python worker process (a worker runs a model's
// code, so ferry decodes its answers as it would untrusted input). Each input is decoded as each
// message; what decodes must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "backends/python/worker_protocol.h"

using namespace ferry::backends::python;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto load = DecodeWorkerLoad(in); load && EncodeWorkerLoad(*load) != in) std::abort();
  if (auto execute = DecodeWorkerExecute(in); execute && EncodeWorkerExecute(execute->inputs, execute->outputs) != in) {
    std::abort();
  }
  if (auto reply = DecodeWorkerReply(in); reply && EncodeWorkerReply(reply->outputs) != in) std::abort();
  return 0;
}
