#pragma once
// How a simulated device downloads a file: TFTP (RFC 1350, with the tftp/
// packet codec; RFC 2348 blksize when asked) and HTTP/HTTPS (Beast; mutual
// TLS with the device's certificate bundle). Each call opens its own socket,
// optionally bound to the device's own address (`--dhcp-own-address`).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ssl/context.hpp>

#include "tests/simulator/device.hpp"

namespace provbox::sim {

struct fetch_result {
  bool ok = false;
  std::string body;
  std::string error;
};

struct fetch_options {
  std::optional<boost::asio::ip::address_v4> source;  // bind here before sending
  std::size_t tftp_blksize = 0;  // 0: plain RFC 1350 (512-byte blocks, no options)
  std::string user_agent;
  std::size_t body_limit = 256u << 20;  // firmware images can be large
};

boost::asio::awaitable<fetch_result> tftp_get(const url& u, const fetch_options& how);
// `tls` is needed for https only.
boost::asio::awaitable<fetch_result> http_get(const url& u, const fetch_options& how,
                                              std::shared_ptr<boost::asio::ssl::context> tls);

// The device's bundle DIR/cacert.pem, sslclientcert.pem, sslclientkey.pem as
// a client context that verifies the server; nullptr and `why` on error.
std::shared_ptr<boost::asio::ssl::context> load_client_bundle(const std::string& dir,
                                                              std::string& why);

}  // namespace provbox::sim
