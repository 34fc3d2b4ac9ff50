// Fuzz target: request bodies sent with Content-Encoding gzip or deflate (inflated before any
// parser sees them, bounded by --max-request-bytes), and Accept-Encoding values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/http/http_compression.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto coding : {ferry::http::Coding::kGzip, ferry::http::Coding::kDeflate}) {
    (void)ferry::http::Inflate(body, coding, 1 << 20);
  }
  (void)ferry::http::ResponseCoding(body);
  (void)ferry::http::RequestCoding(body);
  return 0;
}
