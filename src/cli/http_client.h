// A small blocking HTTP/1.1 client (Boost.Beast) for the ferry command's client tools: one
// keep-alive connection, one request at a time, over TCP or TLS. Not synchronized; one per thread.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cli/client_security.h"
#include "core/error.h"

namespace ferry::cli {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

class HttpClient {
 public:
  // TLS when `address.tls`, verified with `tls` (MakeTlsContext).
  static core::Result<std::unique_ptr<HttpClient>> Connect(const ServerAddress& address,
                                                           std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
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
