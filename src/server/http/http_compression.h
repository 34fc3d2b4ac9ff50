// HTTP content codings (RFC 9110 8.4) with zlib: request bodies sent with
// `Content-Encoding: gzip | deflate` (tritonclient's request_compression_algorithm) are
// inflated before the routes see them, and answers are compressed for clients whose
// `Accept-Encoding` asks for it (response_compression_algorithm). `deflate` is the zlib format
// (RFC 1950), as tritonclient and browsers send it; a raw deflate stream is read too.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::http {

enum class Coding { kIdentity, kGzip, kDeflate };

std::string_view CodingName(Coding coding);

// The coding of a request body from its Content-Encoding value (absent: identity); nullopt for
// a coding ferry does not read (answered 415), and for several codings stacked.
std::optional<Coding> RequestCoding(std::string_view content_encoding);

struct CodingError {
  int status;  // 400 (not a valid stream), 413 (inflates beyond the limit)
  std::string message;
};

// The body inflated; never more than `limit` bytes (a decompression bomb is 413 as soon as the
// output passes the limit, without inflating the rest).
std::expected<std::string, CodingError> Inflate(std::string_view body, Coding coding, std::size_t limit);

// The coding to answer with for an Accept-Encoding value: gzip, else deflate, by the client's
// q-values (q=0 refuses one; `*` stands for gzip); identity when neither is acceptable.
Coding ResponseCoding(std::string_view accept_encoding);

// `body` compressed with `coding` (not identity).
std::string Deflate(std::string_view body, Coding coding);

// Answers shorter than this are sent as they are: compressing them costs more than it saves.
inline constexpr std::size_t kMinCompressedBody = 1024;

}  // namespace ferry::http
