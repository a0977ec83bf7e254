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
#include <map>
#include <ostream>
#include <string>

#include "http/connection_pool.hpp"
#include "http/handshake_gate.hpp"
#include "server/provisioning/service.hpp"

namespace provbox::http {

struct limits {
  std::chrono::seconds read_timeout{10};  // the first request's, TLS handshake included, from accept
  std::chrono::seconds write_timeout{60};
  std::chrono::seconds idle_timeout{30};
  std::size_t header_limit = 8192;
  std::size_t header_count = 64;
  std::size_t max_connections = 2048;              // per device listener (HTTP, HTTPS)
  std::size_t max_connections_per_address = 128;   // per device listener and client address; 0: no limit
  std::size_t max_handshakes = 256;                // TLS handshakes in flight
};

// The admin listener's own pool: a flood of the device listeners never
// reaches it, so /healthz and /metrics answer; a few scrapers and probes
// need no more (beyond it, clients wait in the backlog, not refused).
constexpr std::size_t admin_max_connections = 64;

// What all sessions share. Single-threaded: no locks.
struct server_state {
  explicit server_state(provisioning::service& s) : service(s) { set_limits({}); }

  provisioning::service& service;
  limits limit;
  std::function<std::string()> metrics_text;  // the admin listener's /metrics body
  bool stopping = false;
  connection_pool http_pool{"http", {}};
  connection_pool https_pool{"https", {}};
  connection_pool admin_pool{"admin", {}};
  handshake_gate handshakes{0};
  std::map<std::string, std::uint64_t> tls_handshake_failures;  // by reason: no_certificate, revoked, ...

  // Applies new limits to the pools and the handshake gate (start, reload).
  void set_limits(const limits& l);
  // Stops keep-alive: idle connections close now, busy ones after their
  // current response; listeners waiting for room stop waiting.
  void begin_stop();
  // Sessions still running on all listeners (the shutdown waits for 0).
  std::size_t sessions() const { return http_pool.sessions() + https_pool.sessions() + admin_pool.sessions(); }
  // The connection and handshake metrics, Prometheus text format.
  void write_metrics(std::ostream& out) const;
};

// Accepts until the acceptor is closed. `tls` null means plain HTTP.
boost::asio::awaitable<void> run_device_listener(boost::asio::ip::tcp::acceptor& acceptor, server_state& state,
                                                 boost::asio::ssl::context* tls);
boost::asio::awaitable<void> run_admin_listener(boost::asio::ip::tcp::acceptor& acceptor, server_state& state);
// Once a second until the stop: closes HTTPS connections whose certificate
// was revoked since (their next request would be refused anyway), and
// gives memory back to the system after a flood of connections ended.
boost::asio::awaitable<void> run_connection_upkeep(server_state& state);

}  // namespace provbox::http
