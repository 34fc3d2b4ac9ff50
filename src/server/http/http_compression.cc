#include "server/http/http_compression.h"

#include <zlib.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ferry::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// window_bits: 15 + 16 gzip, 15 zlib, -15 raw deflate.
std::expected<std::string, CodingError> InflateWith(std::string_view body, int window_bits, std::size_t limit,
                                                    std::string_view name) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) return std::unexpected(CodingError{500, "zlib cannot start"});
  std::string out;
  out.resize(std::min<std::size_t>(std::max<std::size_t>(body.size() * 4, 4096), limit + 1));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  int result = Z_OK;
  while (true) {
    if (stream.total_out == out.size()) {
      if (out.size() > limit) break;
      out.resize(std::min(out.size() * 2, limit + 1));
    }
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + stream.total_out);
    stream.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - stream.total_out, UINT32_MAX));
    result = inflate(&stream, Z_NO_FLUSH);
    if (result == Z_STREAM_END) break;
    if (result != Z_OK && !(result == Z_BUF_ERROR && stream.avail_out == 0)) break;
  }
  const std::size_t produced = stream.total_out;
  const std::size_t unread = stream.avail_in;
  inflateEnd(&stream);
  if (produced > limit) {
    return std::unexpected(CodingError{
        413, fmt::format("the request body inflates beyond the limit of {} bytes (--max-request-bytes)", limit)});
  }
  if (result != Z_STREAM_END) {
    return std::unexpected(CodingError{400, fmt::format("the request body is not valid {} data{}", name,
                                                        result == Z_BUF_ERROR ? " (it ends too soon)" : "")});
  }
  if (unread != 0) {
    return std::unexpected(CodingError{400, fmt::format("the request body has bytes after its {} data", name)});
  }
  out.resize(produced);
  return out;
}

// The q-value of a coding in an Accept-Encoding value; -1 when not listed.
double Quality(std::string_view accept, std::string_view coding) {
  double found = -1;
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    std::string_view item = Trim(accept.substr(0, comma));
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    const std::size_t semi = item.find(';');
    const std::string_view name = Trim(item.substr(0, semi));
    double q = 1;
    if (semi != std::string_view::npos) {
      std::string_view param = Trim(item.substr(semi + 1));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        param.remove_prefix(2);
        double value = 0;
        if (std::from_chars(param.data(), param.data() + param.size(), value).ec == std::errc()) q = value;
      }
    }
    if (EqualsNoCase(name, coding)) return q;
    if (name == "*") found = q;
  }
  return found;
}

}  // namespace

std::string_view CodingName(Coding coding) {
  switch (coding) {
    case Coding::kGzip: return "gzip";
    case Coding::kDeflate: return "deflate";
    case Coding::kIdentity: break;
  }
  return "identity";
}

std::optional<Coding> RequestCoding(std::string_view content_encoding) {
  const std::string_view value = Trim(content_encoding);
  if (value.empty() || EqualsNoCase(value, "identity")) return Coding::kIdentity;
  if (EqualsNoCase(value, "gzip") || EqualsNoCase(value, "x-gzip")) return Coding::kGzip;
  if (EqualsNoCase(value, "deflate")) return Coding::kDeflate;
  return std::nullopt;
}

std::expected<std::string, CodingError> Inflate(std::string_view body, Coding coding, std::size_t limit) {
  switch (coding) {
    case Coding::kIdentity: return std::string(body);
    case Coding::kGzip: return InflateWith(body, 15 + 16, limit, "gzip");
    case Coding::kDeflate: {
      // zlib format when it has a zlib header (RFC 1950: CMF/FLG with a checksum of 31), else raw.
      const bool zlib = body.size() >= 2 && (static_cast<unsigned char>(body[0]) & 0x0f) == 8 &&
                        ((static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1])) % 31 == 0;
      return InflateWith(body, zlib ? 15 : -15, limit, "deflate");
    }
  }
  return std::string(body);
}

Coding ResponseCoding(std::string_view accept_encoding) {
  const double gzip = Quality(accept_encoding, "gzip");
  const double deflate = Quality(accept_encoding, "deflate");
  if (gzip > 0 && gzip >= deflate) return Coding::kGzip;
  if (deflate > 0) return Coding::kDeflate;
  return Coding::kIdentity;
}

std::string Deflate(std::string_view body, Coding coding) {
  z_stream stream{};
  const int window_bits = coding == Coding::kGzip ? 15 + 16 : 15;
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, static_cast<uLong>(body.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);  // the bound makes one call enough
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace ferry::http
