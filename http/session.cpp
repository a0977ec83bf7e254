// HTTP/1.1 sessions for devices (plain and TLS) and the admin listener.
#include <malloc.h>
#include <openssl/ssl.h>

#include <array>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
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
using namespace net::experimental::awaitable_operators;
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
// `certificate_serial` is the HTTPS client's (null for plain HTTP).
// `identity` is taken by value: the coroutine starts only when awaited, after
// a temporary (plain_session's std::nullopt) would already be gone.
template <class Stream>
net::awaitable<bool> answer_device(Stream& stream, const request_type& req, server_state& state,
                                   provisioning::transport via, const std::string& peer,
                                   std::optional<profile::mac_address> identity,
                                   const std::string* certificate_serial) {
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
  auto refuse = [&](bhttp::status status, std::string why, bool close = false) -> net::awaitable<bool> {
    provisioning::answer a;
    a.status = static_cast<int>(status);
    a.reason = why;
    a.device = identity;
    auto res = text_response(req, status, std::string(bhttp::obsolete_reason(status)) + "\n");
    if (status == bhttp::status::method_not_allowed) res.set(bhttp::field::allow, "GET, HEAD");
    if (close) res.keep_alive(false);
    const bool ok = co_await write_response(stream, res, state.limit);
    finish(a, a.status, 0, why);
    co_return ok && res.keep_alive();
  };

  if (certificate_serial) {
    // The handshake's check, asked again for every request: a certificate
    // revoked since the handshake gets nothing more on this connection.
    bool acceptable = false;
    try {
      acceptable = service.certificate_acceptable(*certificate_serial);
    } catch (const std::exception& e) {
      // Unknown is not acceptable, nor a reason to say revoked: close, and
      // the device's next handshake asks again.
      spdlog::warn("https: cannot check the certificate of {} ({}): {}; closing", peer, *certificate_serial, e.what());
      co_return false;
    }
    if (!acceptable)
      co_return co_await refuse(bhttp::status::forbidden, "certificate " + *certificate_serial + " revoked", true);
  }
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
net::awaitable<void> request_loop(Stream& stream, server_state& state, connection_pool& pool,
                                  connection_pool::handle conn, Serve serve) {
  beast::flat_buffer buffer;
  bool first = true;
  while (!state.stopping) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(state.limit.header_limit));
    parser.body_limit(0);
    beast::get_lowest_layer(stream).expires_after(first ? state.limit.read_timeout : state.limit.idle_timeout);
    // Answered and waiting: a new connection may take this one's place.
    if (!first) pool.set_phase(conn, connection_pool::phase::idle);
    first = false;
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, as_tuple_awaitable);
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::ssl::error::stream_truncated || state.stopping || conn->leaving)
      co_return;
    pool.set_phase(conn, connection_pool::phase::busy);
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

// Ties a session to its entry in the pool: it gives the pool a way to close
// it, and leaves the pool when the session ends, however it ends.
struct pool_entry {
  connection_pool& pool;
  connection_pool::handle conn;
  pool_entry(connection_pool& p, connection_pool::handle c, std::function<void()> close) : pool(p), conn(c) {
    conn->close = std::move(close);
  }
  pool_entry(const pool_entry&) = delete;
  pool_entry& operator=(const pool_entry&) = delete;
  ~pool_entry() { pool.remove(conn); }
};

net::awaitable<void> plain_session(tcp::socket socket, server_state& state, connection_pool::handle conn,
                                   std::string peer) {
  beast::tcp_stream stream(std::move(socket));
  pool_entry entry(state.http_pool, conn, [&stream] {
    beast::error_code ignored;
    stream.socket().close(ignored);
  });
  co_await request_loop(stream, state, state.http_pool, conn, [&](const request_type& req) {
    return answer_device(stream, req, state, provisioning::transport::http, peer, std::nullopt, nullptr);
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

void count_handshake_failure(server_state& state, const std::string& peer, const std::string& reason,
                             std::string_view detail) {
  // Closed by the stop: not the client's failure.
  if (state.stopping) return;
  ++state.tls_handshake_failures[reason];
  // A line each, within the address's line budget: a certificate problem is
  // a device's to diagnose, and a client looping bad handshakes (or none at
  // all) must not flood the log.
  state.service.log_refused_handshake(peer, reason, detail);
}

// Holds one of the handshake gate's slots, from entering (or being handed
// one while waiting) until the handshake ends.
struct handshake_slot {
  handshake_gate& gate;
  bool held = false;
  explicit handshake_slot(handshake_gate& g) : gate(g) {}
  handshake_slot(const handshake_slot&) = delete;
  handshake_slot& operator=(const handshake_slot&) = delete;
  ~handshake_slot() { release(); }
  void release() {
    if (held) gate.leave();
    held = false;
  }
};

net::awaitable<void> tls_session(tcp::socket socket, server_state& state, connection_pool::handle conn,
                                 std::string peer, net::ssl::context& tls) {
  // One deadline from accept to the end of the handshake, however the time
  // is spent: waiting for the first bytes, for a slot, or in the handshake.
  const auto deadline = std::chrono::steady_clock::now() + state.limit.read_timeout;
  beast::tcp_stream tcp_layer(std::move(socket));
  // Made once the client has sent something: until then the connection
  // costs a socket and this frame (5 KB in all), not an SSL object and
  // Asio's buffers (88 KB when made at accept).
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  net::steady_timer timer(tcp_layer.get_executor());
  pool_entry entry(state.https_pool, conn, [&] {
    timer.cancel();
    beast::error_code ignored;
    (stream ? beast::get_lowest_layer(*stream) : tcp_layer).socket().close(ignored);
  });
  auto closed = [&] { return !(stream ? beast::get_lowest_layer(*stream) : tcp_layer).socket().is_open(); };
  if (state.stopping) co_return;

  timer.expires_at(deadline);
  auto first_bytes = co_await (tcp_layer.socket().async_wait(tcp::socket::wait_read, as_tuple_awaitable) ||
                               timer.async_wait(as_tuple_awaitable));
  if (closed()) co_return;
  if (first_bytes.index() == 1) {
    count_handshake_failure(state, peer, "timeout", "nothing sent");
    co_return;
  }

  handshake_slot slot(state.handshakes);
  if (state.handshakes.try_enter()) {
    slot.held = true;
  } else {
    // The slot is handed over by the handshake that leaves it (wake), or
    // the deadline passes first.
    auto ticket = state.handshakes.wait([&] {
      slot.held = true;
      timer.cancel();
    });
    timer.expires_at(deadline);
    co_await timer.async_wait(as_tuple_awaitable);
    if (!slot.held) {
      state.handshakes.cancel(ticket);
      if (!closed()) count_handshake_failure(state, peer, "busy", "no handshake slot within read_timeout");
      co_return;
    }
    if (closed()) co_return;
  }

  stream.emplace(std::move(tcp_layer), tls);
  beast::get_lowest_layer(*stream).expires_at(deadline);
  auto [ec] = co_await stream->async_handshake(net::ssl::stream_base::server, as_tuple_awaitable);
  slot.release();
  if (ec) {
    // No certificate, an unknown or revoked one, or not TLS at all. The
    // device never got a file: a log line and a counter by reason.
    count_handshake_failure(state, peer, handshake_failure_reason(stream->native_handle(), ec), ec.message());
    co_return;
  }
  // The verify callback (or, for a resumed session, the session lookup)
  // accepted only certificates with a device identity.
  const auto identity = certs::peer_identity(stream->native_handle());
  conn->certificate_serial = certs::peer_serial(stream->native_handle());
  co_await request_loop(*stream, state, state.https_pool, conn, [&](const request_type& req) {
    return answer_device(*stream, req, state, provisioning::transport::https, peer, identity,
                         &conn->certificate_serial);
  });
  if (closed()) co_return;
  beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(2));
  co_await stream->async_shutdown(as_tuple_awaitable);
}

net::awaitable<void> admin_session(tcp::socket socket, server_state& state, connection_pool::handle conn,
                                   std::string) {
  beast::tcp_stream stream(std::move(socket));
  pool_entry entry(state.admin_pool, conn, [&stream] {
    beast::error_code ignored;
    stream.socket().close(ignored);
  });
  co_await request_loop(stream, state, state.admin_pool, conn, [&](const request_type& req) -> net::awaitable<bool> {
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

// A warning about connections turned away, at most one per interval per
// listener, with how many there were: a flood must not flood the log too.
class refusal_log {
public:
  explicit refusal_log(const char* name) : name_(name) {}
  void turned_away(const std::string& peer, connection_pool::admission why, const connection_pool& pool) {
    ++since_last_;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + std::chrono::seconds(10);
    if (why == connection_pool::admission::address_full)
      spdlog::warn("{}: {} has {} connections open (http.max_connections_per_address); turned away {} "
                   "connection(s) since the last line",
                   name_, peer, pool.open_from(peer), since_last_);
    else
      spdlog::warn("{}: {} connections open (http.max_connections), none idle; turned away {} connection(s) "
                   "since the last line",
                   name_, pool.open(), since_last_);
    since_last_ = 0;
  }
  void paused(const connection_pool& pool) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_pause_line_) return;
    next_pause_line_ = now + std::chrono::seconds(10);
    spdlog::warn("{}: {} connections open, none idle: not accepting until one ends", name_, pool.open());
  }

private:
  const char* name_;
  std::uint64_t since_last_ = 0;
  std::chrono::steady_clock::time_point next_{};
  std::chrono::steady_clock::time_point next_pause_line_{};
};

template <class Session>
net::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_state& state, connection_pool& pool,
                                 const char* name, Session session) {
  refusal_log log(name);
  net::steady_timer room(acceptor.get_executor());
  for (;;) {
    if (!acceptor.is_open() || state.stopping) co_return;
    if (!pool.has_room()) {
      // Full, and no idle connection could give way: stop accepting rather
      // than accept and close. Clients wait in the kernel's backlog (and
      // get in as connections end) instead of being turned away.
      ++pool.pauses;
      log.paused(pool);
      pool.on_room([&room] { room.cancel(); });
      while (!pool.has_room() && acceptor.is_open() && !state.stopping) {
        room.expires_at(net::steady_timer::time_point::max());
        co_await room.async_wait(as_tuple_awaitable);
      }
      pool.on_room(nullptr);
      continue;
    }
    auto [ec, socket] = co_await acceptor.async_accept(as_tuple_awaitable);
    if (ec == net::error::operation_aborted || !acceptor.is_open() || state.stopping) co_return;
    if (ec) {
      // EMFILE and friends: log, pause briefly so a full table can drain.
      spdlog::warn("{}: accept failed: {}", name, ec.message());
      net::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(as_tuple_awaitable);
      continue;
    }
    auto peer = peer_of(socket);
    connection_pool::handle conn;
    if (const auto admission = pool.admit(peer, conn); admission != connection_pool::admission::admitted) {
      // A reset, not a FIN: nothing lingers (no TIME_WAIT) for a client
      // that may be opening connections as fast as it can.
      beast::error_code ignored;
      socket.set_option(net::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
      log.turned_away(peer, admission, pool);
      continue;
    }
    // No Nagle: a TLS handshake and a response go out as several small
    // writes, and Nagle would hold each one back until the client's
    // delayed ACK (40 ms on Linux), which capped mTLS at ~30 handshakes/s.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    net::co_spawn(acceptor.get_executor(), session(std::move(socket), conn, std::move(peer)),
                  [name](std::exception_ptr e) {
                    if (!e) return;
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                      spdlog::error("{}: session ended by an error: {}", name, ex.what());
                    }
                  });
  }
}

// Closes HTTPS connections whose certificate is no longer acceptable, once
// per move of the inventory's revision. Busy ones are left to finish their
// response: their next request is refused by answer_device.
void close_revoked(server_state& state, std::optional<std::uint64_t>& seen_revision) {
  auto& pool = state.https_pool;
  if (pool.open() == 0) return;
  try {
    const auto revision = state.service.snapshot_revision();
    if (revision == seen_revision) return;
    seen_revision = revision;
    for (auto c = pool.connections().begin(); c != pool.connections().end(); ++c) {
      if (c->leaving || c->at == connection_pool::phase::busy || c->certificate_serial.empty()) continue;
      if (state.service.certificate_acceptable(c->certificate_serial)) continue;
      spdlog::info("https: closing the connection from {}: certificate {} revoked", c->address,
                   c->certificate_serial);
      pool.close(c, "revoked");
    }
  } catch (const std::exception& e) {
    // The store is busy: look again at the next tick.
    seen_revision.reset();
    spdlog::debug("https: cannot check open connections' certificates now: {}", e.what());
  }
}

// A connection's memory goes back to the heap in pieces smaller than
// malloc's mmap threshold (Asio's 17 KB TLS buffers, SSL objects), and glibc
// keeps those pages: RSS stayed at 252 MB once 2,000 half-open TLS
// connections had gone. So once the open connections have fallen this far
// below their peak and stopped falling (the sessions of a flood end over a
// tick or two), free pages are handed back.
constexpr std::size_t trim_after_fall = 256;

void return_memory(server_state& state, std::size_t& open_at_last_tick) {
  connection_pool* pools[] = {&state.http_pool, &state.https_pool, &state.admin_pool};
  std::size_t peak = 0;
  std::size_t open = 0;
  for (auto* pool : pools) {
    peak += pool->peak();
    open += pool->sessions();
  }
  const bool still_falling = open < open_at_last_tick;
  open_at_last_tick = open;
  if (still_falling || peak < open + trim_after_fall) return;
#ifdef __GLIBC__
  // It blocks the loop while it walks the heap: measured 0.1 ms per freed
  // 17 KB piece on a loaded 2-core VM (30 ms after 256 TLS connections),
  // hence only after a fall this large and once the fall has stopped.
  const auto started = std::chrono::steady_clock::now();
  ::malloc_trim(0);
  spdlog::info("http: {} connections open, {} at the peak: free memory given back to the system ({} ms)", open, peak,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
#endif
  for (auto* pool : pools) pool->reset_peak();
}

}  // namespace

void server_state::set_limits(const limits& l) {
  limit = l;
  http_pool.set_limits({l.max_connections, l.max_connections_per_address});
  https_pool.set_limits({l.max_connections, l.max_connections_per_address});
  admin_pool.set_limits({admin_max_connections, 0});
  handshakes.set_limit(l.max_handshakes);
}

void server_state::begin_stop() {
  stopping = true;
  for (auto* pool : {&http_pool, &https_pool, &admin_pool}) {
    pool->close_all_but_busy();
    pool->wake();
  }
}

void server_state::write_metrics(std::ostream& out) const {
  const connection_pool* pools[] = {&http_pool, &https_pool, &admin_pool};
  out << "# HELP provbox_http_connections Open connections, by listener.\n"
         "# TYPE provbox_http_connections gauge\n";
  for (const auto* pool : pools)
    out << "provbox_http_connections{listener=\"" << pool->name() << "\"} " << pool->open() << '\n';
  out << "# HELP provbox_http_max_connections The most connections a listener holds open.\n"
         "# TYPE provbox_http_max_connections gauge\n";
  for (const auto* pool : pools)
    out << "provbox_http_max_connections{listener=\"" << pool->name() << "\"} " << pool->limit().max_connections
        << '\n';
  out << "# HELP provbox_http_connections_rejected_total Connections closed at once when accepted: the client "
         "address had http.max_connections_per_address open (address_full), or the listener was full "
         "(listener_full), and none of them was idle.\n"
         "# TYPE provbox_http_connections_rejected_total counter\n";
  for (const auto* pool : pools)
    for (const auto& [reason, count] : pool->refused())
      out << "provbox_http_connections_rejected_total{listener=\"" << pool->name() << "\",reason=\"" << reason
          << "\"} " << count << '\n';
  out << "# HELP provbox_http_connections_closed_total Open connections the server closed: an idle keep-alive "
         "connection making room for a new one (gave_way), a revoked certificate (revoked).\n"
         "# TYPE provbox_http_connections_closed_total counter\n";
  for (const auto* pool : pools)
    for (const auto& [reason, count] : pool->closed())
      out << "provbox_http_connections_closed_total{listener=\"" << pool->name() << "\",reason=\"" << reason
          << "\"} " << count << '\n';
  out << "# HELP provbox_http_accept_pauses_total Times a listener was full with no idle connection and stopped "
         "accepting until one ended (new clients waited in the backlog).\n"
         "# TYPE provbox_http_accept_pauses_total counter\n";
  for (const auto* pool : pools)
    out << "provbox_http_accept_pauses_total{listener=\"" << pool->name() << "\"} " << pool->pauses << '\n';
  out << "# HELP provbox_tls_handshakes_in_flight TLS handshakes under way (at most tls.max_handshakes).\n"
         "# TYPE provbox_tls_handshakes_in_flight gauge\n"
      << "provbox_tls_handshakes_in_flight " << handshakes.in_flight() << '\n'
      << "# HELP provbox_tls_handshakes_waiting Connections that sent their first bytes and wait for a "
         "handshake slot.\n"
         "# TYPE provbox_tls_handshakes_waiting gauge\n"
      << "provbox_tls_handshakes_waiting " << handshakes.waiting() << '\n'
      << "# HELP provbox_tls_handshake_failures_total TLS handshakes that failed, by reason.\n"
         "# TYPE provbox_tls_handshake_failures_total counter\n";
  for (const auto& [reason, count] : tls_handshake_failures)
    out << "provbox_tls_handshake_failures_total{reason=\"" << reason << "\"} " << count << '\n';
}

net::awaitable<void> run_device_listener(tcp::acceptor& acceptor, server_state& state, net::ssl::context* tls) {
  if (tls) {
    co_await accept_loop(acceptor, state, state.https_pool, "https", [&state, tls](tcp::socket s, auto conn, std::string peer) {
      return tls_session(std::move(s), state, conn, std::move(peer), *tls);
    });
  } else {
    co_await accept_loop(acceptor, state, state.http_pool, "http", [&state](tcp::socket s, auto conn, std::string peer) {
      return plain_session(std::move(s), state, conn, std::move(peer));
    });
  }
}

net::awaitable<void> run_admin_listener(tcp::acceptor& acceptor, server_state& state) {
  co_await accept_loop(acceptor, state, state.admin_pool, "admin", [&state](tcp::socket s, auto conn, std::string peer) {
    return admin_session(std::move(s), state, conn, std::move(peer));
  });
}

net::awaitable<void> run_connection_upkeep(server_state& state) {
  net::steady_timer tick(co_await net::this_coro::executor);
  std::optional<std::uint64_t> seen_revision;
  std::size_t open_at_last_tick = 0;
  while (!state.stopping) {
    tick.expires_after(std::chrono::seconds(1));
    co_await tick.async_wait(as_tuple_awaitable);
    if (state.stopping) break;
    close_revoked(state, seen_revision);
    return_memory(state, open_at_last_tick);
  }
}

}  // namespace provbox::http
