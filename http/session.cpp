// HTTP/1.1 sessions for devices (plain and TLS) and the admin listener.
#include <openssl/ssl.h>

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "certs/tls_context.hpp"
#include "http/file_range_body.hpp"
#include "http/range.hpp"
#include "http/response_head.hpp"
#include "http/server.hpp"
#include "server/provisioning/request_path.hpp"

namespace provbox::http {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
constexpr auto as_tuple_awaitable = net::as_tuple(net::use_awaitable);

namespace {

using request_type = bhttp::request<bhttp::empty_body>;

std::string http_date(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

std::string peer_of(const tcp::socket& socket) {
  beast::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("?") : endpoint.address().to_string();
}

// True when an If-None-Match list names this entity tag (or is "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty() || etag.empty()) return false;
  if (if_none_match == "*") return true;
  std::size_t start = 0;
  while (start < if_none_match.size()) {
    auto end = if_none_match.find(',', start);
    if (end == std::string_view::npos) end = if_none_match.size();
    auto item = if_none_match.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
    start = end + 1;
  }
  return false;
}

template <class Body>
void common_headers(bhttp::response<Body>& res, const request_type& req) {
  res.set(bhttp::field::server, "provbox");
  res.keep_alive(req.keep_alive());
}

bhttp::response<bhttp::string_body> text_response(const request_type& req, bhttp::status status, std::string text) {
  bhttp::response<bhttp::string_body> res{status, req.version()};
  common_headers(res, req);
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = req.method() == bhttp::verb::head ? std::string() : std::move(text);
  res.prepare_payload();
  if (req.method() == bhttp::verb::head) res.content_length(0);
  return res;
}

// Marks the connection busy while a response is being made, so a stop
// lets it finish.
struct busy_guard {
  connection& c;
  explicit busy_guard(connection& conn) : c(conn) { c.busy = true; }
  ~busy_guard() { c.busy = false; }
};

template <class Stream>
auto& socket_of(Stream& stream) {
  return beast::get_lowest_layer(stream).socket();
}

// Writes one response with the write deadline; returns bytes of body sent.
template <class Stream, class Body>
net::awaitable<bool> write_response(Stream& stream, bhttp::response<Body>& res, const limits& limit) {
  beast::get_lowest_layer(stream).expires_after(limit.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, res, as_tuple_awaitable);
  co_return !ec;
}

// Serves one device request; returns false when the connection must close.
template <class Stream>
net::awaitable<bool> answer_device(Stream& stream, const request_type& req, server_state& state,
                                   provisioning::transport via, const std::string& peer,
                                   const std::optional<profile::mac_address>& identity) {
  const auto started = std::chrono::steady_clock::now();
  auto& service = state.service;
  provisioning::request pr;
  pr.via = via;
  pr.peer_address = peer;
  pr.client_identity = identity;
  pr.user_agent = std::string(req[bhttp::field::user_agent]);
  // Until the target is checked, log it as sent (without its leading '/',
  // which the access line adds back).
  pr.path = std::string(req.target().starts_with("/") ? req.target().substr(1) : req.target());

  auto finish = [&](const provisioning::answer& a, int status, std::uint64_t bytes, std::string_view detail = {}) {
    service.record(pr, a, status, bytes, std::chrono::steady_clock::now() - started, detail);
  };
  auto refuse = [&](bhttp::status status, std::string why) -> net::awaitable<bool> {
    provisioning::answer a;
    a.status = static_cast<int>(status);
    a.reason = why;
    a.device = identity;
    auto res = text_response(req, status, std::string(bhttp::obsolete_reason(status)) + "\n");
    if (status == bhttp::status::method_not_allowed) res.set(bhttp::field::allow, "GET, HEAD");
    const bool ok = co_await write_response(stream, res, state.limit);
    finish(a, a.status, 0, why);
    co_return ok && res.keep_alive();
  };

  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
    co_return co_await refuse(bhttp::status::method_not_allowed, "method " + std::string(req.method_string()));
  if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) > state.limit.header_count)
    co_return co_await refuse(bhttp::status::request_header_fields_too_large, "too many header fields");
  auto checked = provisioning::check_http_target(req.target());
  if (!checked.path) co_return co_await refuse(bhttp::status::bad_request, checked.refusal);
  pr.path = *checked.path;

  const auto a = service.resolve(pr);
  const bool head = req.method() == bhttp::verb::head;

  if (a.kind == provisioning::answer_kind::refusal) {
    auto res = text_response(req, static_cast<bhttp::status>(a.status),
                             std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(a.status))) + "\n");
    const bool ok = co_await write_response(stream, res, state.limit);
    finish(a, a.status, 0);
    co_return ok && res.keep_alive();
  }

  if (etag_matches(req[bhttp::field::if_none_match], a.etag)) {
    bhttp::response<bhttp::empty_body> res{bhttp::status::not_modified, req.version()};
    common_headers(res, req);
    res.set(bhttp::field::etag, a.etag);
    const bool ok = co_await write_response(stream, res, state.limit);
    finish(a, 304, 0);
    co_return ok && res.keep_alive();
  }

  if (a.kind == provisioning::answer_kind::profile) {
    // The hot path: a head made as one string and the cached body (shared,
    // not copied) in one gather write.
    profile_head h;
    h.version = req.version();
    h.keep_alive = req.keep_alive();
    h.encrypted = a.encrypted;
    h.etag = a.etag;
    h.dbase_version = a.dbase_version;
    h.content_length = a.body->size();
    const auto head_bytes = format_profile_head(h);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_bytes),
                                                   head ? net::const_buffer() : net::buffer(*a.body)};
    beast::get_lowest_layer(stream).expires_after(state.limit.write_timeout);
    auto [ec, n] = co_await net::async_write(stream, buffers, as_tuple_awaitable);
    const bool ok = !ec;
    finish(a, ok ? 200 : 499, ok && !head ? a.body->size() : 0, ok ? "" : "client went away");
    co_return ok && h.keep_alive;
  }

  // Firmware: the whole image or one range of it.
  const auto& fw = *a.firmware;
  const int fd = ::open(fw.disk_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) co_return co_await refuse(bhttp::status::not_found, "firmware image missing on disk: " + fw.disk_path);
  auto shared_fd = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  auto range = parse_range(req[bhttp::field::range], fw.size);
  // If-Range with another validator means the client's partial copy is stale.
  if (auto if_range = req[bhttp::field::if_range]; !if_range.empty() && if_range != a.etag)
    range = {range_kind::whole, {}};
  if (range.kind == range_kind::unsatisfiable) {
    auto res = text_response(req, bhttp::status::range_not_satisfiable, "range not satisfiable\n");
    res.set(bhttp::field::content_range, "bytes */" + std::to_string(fw.size));
    const bool ok = co_await write_response(stream, res, state.limit);
    finish(a, 416, 0);
    co_return ok && res.keep_alive();
  }
  bhttp::response<file_range_body> res{
      range.kind == range_kind::partial ? bhttp::status::partial_content : bhttp::status::ok, req.version()};
  common_headers(res, req);
  res.set(bhttp::field::content_type, "application/octet-stream");
  res.set(bhttp::field::etag, a.etag);
  res.set(bhttp::field::last_modified, http_date(fw.modified));
  res.set(bhttp::field::accept_ranges, "bytes");
  res.body().fd = shared_fd;
  res.body().offset = range.kind == range_kind::partial ? range.range.first : 0;
  res.body().length = range.kind == range_kind::partial ? range.range.length : fw.size;
  if (range.kind == range_kind::partial)
    res.set(bhttp::field::content_range, "bytes " + std::to_string(range.range.first) + "-" +
                                             std::to_string(range.range.first + range.range.length - 1) + "/" +
                                             std::to_string(fw.size));
  const auto length = res.body().length;
  res.content_length(length);
  if (head) res.body().length = 0;
  const bool ok = co_await write_response(stream, res, state.limit);
  const int status = range.kind == range_kind::partial ? 206 : 200;
  finish(a, ok ? status : 499, ok && !head ? length : 0, ok ? "" : "client went away");
  co_return ok && res.keep_alive();
}

// Reads requests until the client closes, a deadline passes, or the server
// stops; `serve` answers each one and says whether to keep the connection.
template <class Stream, class Serve>
net::awaitable<void> request_loop(Stream& stream, server_state& state, connection& conn, Serve serve) {
  beast::flat_buffer buffer;
  bool first = true;
  while (!state.stopping) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(state.limit.header_limit));
    parser.body_limit(0);
    beast::get_lowest_layer(stream).expires_after(first ? state.limit.read_timeout : state.limit.idle_timeout);
    first = false;
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, as_tuple_awaitable);
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::ssl::error::stream_truncated || state.stopping)
      co_return;
    busy_guard busy(conn);
    if (ec) {
      // Malformed request: say so and close, as the connection's framing
      // can no longer be trusted.
      const auto status = ec == bhttp::error::header_limit ? bhttp::status::request_header_fields_too_large
                          : ec == bhttp::error::body_limit ? bhttp::status::payload_too_large
                                                           : bhttp::status::bad_request;
      request_type dummy{bhttp::verb::get, "/", 11};
      dummy.keep_alive(false);
      auto res = text_response(dummy, status, std::string(bhttp::obsolete_reason(status)) + "\n");
      co_await write_response(stream, res, state.limit);
      spdlog::debug("http: malformed request from {}: {}", peer_of(socket_of(stream)), ec.message());
      co_return;
    }
    if (!co_await serve(parser.get())) co_return;
  }
}

// Registers a connection for the shutdown, and removes it when done.
struct registration {
  server_state& state;
  std::list<connection>::iterator it;
  registration(server_state& s, std::function<void()> close) : state(s) {
    it = state.connections.insert(state.connections.end(), connection{false, std::move(close)});
  }
  ~registration() { state.connections.erase(it); }
};

net::awaitable<void> plain_session(tcp::socket socket, server_state& state) {
  beast::tcp_stream stream(std::move(socket));
  const auto peer = peer_of(stream.socket());
  registration reg(state, [&stream] {
    beast::error_code ignored;
    stream.socket().close(ignored);
  });
  co_await request_loop(stream, state, *reg.it, [&](const request_type& req) {
    return answer_device(stream, req, state, provisioning::transport::http, peer, std::nullopt);
  });
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Why a handshake failed, in a few stable words for /metrics.
std::string handshake_failure_reason(SSL* ssl, const beast::error_code& ec) {
  switch (SSL_get_verify_result(ssl)) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_REVOKED: return "revoked";
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not_yet_valid";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "unknown_ca";
    case X509_V_ERR_APPLICATION_VERIFICATION: return "not_a_device";
    default: return "bad_certificate";
  }
  if (ec == beast::error::timeout) return "timeout";
  const auto text = ec.message();
  if (text.find("peer did not return a certificate") != std::string::npos) return "no_certificate";
  if (text.find("version") != std::string::npos || text.find("protocol") != std::string::npos) return "protocol";
  return "other";
}

net::awaitable<void> tls_session(tcp::socket socket, server_state& state, net::ssl::context& tls) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
  const auto peer = peer_of(socket_of(stream));
  registration reg(state, [&stream] {
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  });
  beast::get_lowest_layer(stream).expires_after(state.limit.read_timeout);
  auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, as_tuple_awaitable);
  if (ec) {
    // No certificate, an unknown or revoked one, or not TLS at all. The
    // device never got a file: a log line and a counter by reason.
    const auto reason = handshake_failure_reason(stream.native_handle(), ec);
    ++state.tls_handshake_failures[reason];
    spdlog::info("https: handshake with {} failed ({}): {}", peer, reason, ec.message());
    co_return;
  }
  // The verify callback accepted only certificates with a device identity.
  const auto identity = certs::peer_identity(stream.native_handle());
  co_await request_loop(stream, state, *reg.it, [&](const request_type& req) {
    return answer_device(stream, req, state, provisioning::transport::https, peer, identity);
  });
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(as_tuple_awaitable);
}

net::awaitable<void> admin_session(tcp::socket socket, server_state& state) {
  beast::tcp_stream stream(std::move(socket));
  registration reg(state, [&stream] {
    beast::error_code ignored;
    stream.socket().close(ignored);
  });
  co_await request_loop(stream, state, *reg.it, [&](const request_type& req) -> net::awaitable<bool> {
    bhttp::response<bhttp::string_body> res;
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      res = text_response(req, bhttp::status::method_not_allowed, "method not allowed\n");
    } else if (req.target() == "/healthz") {
      res = text_response(req, bhttp::status::ok, "ok\n");
    } else if (req.target() == "/metrics") {
      res = text_response(req, bhttp::status::ok, state.metrics_text ? state.metrics_text() : "");
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
    } else {
      res = text_response(req, bhttp::status::not_found, "not found\n");
    }
    const bool ok = co_await write_response(stream, res, state.limit);
    co_return ok && res.keep_alive();
  });
}

template <class Session>
net::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_state& state, const char* name, Session session) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(as_tuple_awaitable);
    if (ec == net::error::operation_aborted || !acceptor.is_open() || state.stopping) co_return;
    if (ec) {
      // EMFILE and friends: log, pause briefly so a full table can drain.
      spdlog::warn("{}: accept failed: {}", name, ec.message());
      net::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(as_tuple_awaitable);
      continue;
    }
    if (state.connections.size() >= state.limit.max_connections) {
      ++state.rejected_connections;
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // No Nagle: a TLS handshake and a response go out as several small
    // writes, and Nagle would hold each one back until the client's
    // delayed ACK (40 ms on Linux), which capped mTLS at ~30 handshakes/s.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    net::co_spawn(acceptor.get_executor(), session(std::move(socket)), [name](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("{}: session ended by an error: {}", name, ex.what());
      }
    });
  }
}

}  // namespace

void server_state::begin_stop() {
  stopping = true;
  for (auto& c : connections)
    if (!c.busy && c.close) c.close();
}

net::awaitable<void> run_device_listener(tcp::acceptor& acceptor, server_state& state, net::ssl::context* tls) {
  if (tls) {
    co_await accept_loop(acceptor, state, "https",
                         [&state, tls](tcp::socket s) { return tls_session(std::move(s), state, *tls); });
  } else {
    co_await accept_loop(acceptor, state, "http",
                         [&state](tcp::socket s) { return plain_session(std::move(s), state); });
  }
}

net::awaitable<void> run_admin_listener(tcp::acceptor& acceptor, server_state& state) {
  co_await accept_loop(acceptor, state, "admin",
                       [&state](tcp::socket s) { return admin_session(std::move(s), state); });
}

}  // namespace provbox::http
