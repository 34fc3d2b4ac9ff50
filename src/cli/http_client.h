// A small blocking HTTP/1.1 client (Boost.Beast) for the ferry command's client tools: one
// keep-alive connection, one request at a time. Not synchronized; one per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ferry::cli {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Splits "http://host:port" (scheme optional, port default 8000) into host and port.
core::Result<std::pair<std::string, std::uint16_t>> ParseHostPort(std::string_view url, std::uint16_t default_port);

class HttpClient {
 public:
  static core::Result<std::unique_ptr<HttpClient>> Connect(const std::string& host, std::uint16_t port);
  ~HttpClient();

  // Sends one request (GET when body is empty and post is false) and reads the answer.
  core::Result<HttpAnswer> Send(bool post, std::string_view target, std::string_view body,
                                const std::map<std::string, std::string>& headers = {});

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::cli
