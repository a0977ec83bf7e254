#pragma once
// HTTP and HTTPS for devices, and the admin listener (/healthz, /metrics).
// Sessions are coroutines on the caller's io_context; they ask the
// provisioning service what each request gets and only move bytes.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <string>

#include "server/provisioning/service.hpp"

namespace provbox::http {

struct limits {
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{60};
  std::chrono::seconds idle_timeout{30};
  std::size_t header_limit = 8192;
  std::size_t header_count = 64;
  std::size_t max_connections = 2048;
};

// One open connection, as the shutdown sees it.
struct connection {
  bool busy = false;              // between reading a request and finishing its response
  std::function<void()> close;    // ends the connection's pending I/O
};

// What all sessions share. Single-threaded: no locks.
struct server_state {
  provisioning::service& service;
  limits limit;
  std::function<std::string()> metrics_text;  // the admin listener's /metrics body
  bool stopping = false;
  std::list<connection> connections;
  std::map<std::string, std::uint64_t> tls_handshake_failures;  // by reason: no_certificate, revoked, ...
  std::uint64_t rejected_connections = 0;

  // Stops keep-alive: idle connections close now, busy ones after their
  // current response.
  void begin_stop();
};

// Accepts until the acceptor is closed. `tls` null means plain HTTP.
boost::asio::awaitable<void> run_device_listener(boost::asio::ip::tcp::acceptor& acceptor, server_state& state,
                                                 boost::asio::ssl::context* tls);
boost::asio::awaitable<void> run_admin_listener(boost::asio::ip::tcp::acceptor& acceptor, server_state& state);

}  // namespace provbox::http
