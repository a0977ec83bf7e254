#include "tests/simulator/fetch.hpp"

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "tftp/packet.hpp"

namespace provbox::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

awaitable<fetch_result> tftp_get(const url& u, const fetch_options& how) {
  namespace tftp = provbox::tftp;
  auto ex = co_await asio::this_coro::executor;
  fetch_result res;
  asio::ip::udp::resolver resolver(ex);
  auto eps = co_await resolver.async_resolve(asio::ip::udp::v4(), u.host, std::to_string(u.port),
                                             use_awaitable);
  if (eps.empty()) {
    res.error = "cannot resolve " + u.host;
    co_return res;
  }
  asio::ip::udp::endpoint server = *eps.begin();
  asio::ip::udp::socket sock(ex, asio::ip::udp::endpoint(
                                     how.source ? asio::ip::address(*how.source)
                                                : asio::ip::address(asio::ip::address_v4::any()),
                                     0));
  std::vector<std::uint8_t> out;
  tftp::request rq;
  rq.op = tftp::opcode::rrq;
  rq.filename = u.path.size() > 1 && u.path[0] == '/' ? u.path.substr(1) : u.path;
  rq.mode = tftp::transfer_mode::octet;
  if (how.tftp_blksize) rq.options.push_back({"blksize", std::to_string(how.tftp_blksize)});
  tftp::encode_request(rq, out);
  co_await sock.async_send_to(asio::buffer(out), server, use_awaitable);

  std::size_t blksize = tftp::default_blksize;
  std::optional<asio::ip::udp::endpoint> peer;  // the server's transfer port
  std::uint16_t expected = 1;  // wraps after 65535, as tftpd-hpa and provbox do
  bool any_data = false;
  int timeouts = 0;
  std::vector<std::uint8_t> in(65536);
  asio::steady_timer timer(ex);
  bool timed_out = false;
  for (;;) {
    timed_out = false;
    timer.expires_after(1s);
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) {
        timed_out = true;
        sock.cancel();
      }
    });
    asio::ip::udp::endpoint from;
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(in), from,
                                                    asio::as_tuple(use_awaitable));
    timer.cancel();
    if (ec && !timed_out) {
      res.error = "TFTP receive: " + ec.message();
      co_return res;
    }
    if (timed_out) {
      if (++timeouts > 5) {
        res.error = "TFTP timeout";
        co_return res;
      }
      co_await sock.async_send_to(asio::buffer(out), peer ? *peer : server, use_awaitable);
      continue;
    }
    if (peer && from != *peer) {
      auto e = tftp::error_packet(tftp::error_code::unknown_transfer_id);
      co_await sock.async_send_to(asio::buffer(e), from, use_awaitable);
      continue;
    }
    auto dec = tftp::decode(std::span<const std::uint8_t>(in.data(), n));
    if (!dec) continue;
    if (auto* e = std::get_if<tftp::error>(&dec.value())) {
      res.error = "TFTP error " + std::to_string(static_cast<unsigned>(e->code)) + ": " + e->message;
      co_return res;
    }
    if (auto* o = std::get_if<tftp::oack>(&dec.value()); o && !peer && how.tftp_blksize) {
      // RFC 2347: the server took (some of) our options; ACK block 0.
      peer = from;
      if (auto* b = tftp::find_option(o->options, "blksize")) {
        try {
          blksize = std::stoul(b->value);
        } catch (...) {
          res.error = "TFTP OACK with a bad blksize '" + b->value + "'";
          co_return res;
        }
        if (blksize < tftp::min_blksize || blksize > how.tftp_blksize) {
          res.error = "TFTP OACK blksize " + b->value + " out of range";
          co_return res;
        }
      }
      tftp::encode_ack(0, out);
      co_await sock.async_send_to(asio::buffer(out), *peer, use_awaitable);
      continue;
    }
    auto* dt = std::get_if<tftp::data>(&dec.value());
    if (!dt) continue;
    if (!peer) peer = from;
    if (dt->block == expected) {
      if (dt->payload.size() > blksize) {
        res.error = "TFTP DATA larger than the block size";
        co_return res;
      }
      res.body.append(dt->payload.begin(), dt->payload.end());
      if (res.body.size() > how.body_limit) {
        res.error = "TFTP file larger than the limit";
        co_return res;
      }
      tftp::encode_ack(dt->block, out);
      ++expected;
      any_data = true;
      timeouts = 0;
      co_await sock.async_send_to(asio::buffer(out), *peer, use_awaitable);
      if (dt->payload.size() < blksize) {
        res.ok = true;
        co_return res;
      }
    } else if (any_data && static_cast<std::uint16_t>(dt->block + 1) == expected) {
      // Our ACK was lost: acknowledge again (the server resends on timeout only).
      co_await sock.async_send_to(asio::buffer(out), *peer, use_awaitable);
    }
  }
}

std::shared_ptr<ssl::context> load_client_bundle(const std::string& dir_text, std::string& why) {
  auto dir = std::filesystem::path(dir_text);
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->load_verify_file((dir / "cacert.pem").string(), ec);
  if (!ec) ctx->use_certificate_chain_file((dir / "sslclientcert.pem").string(), ec);
  if (!ec) ctx->use_private_key_file((dir / "sslclientkey.pem").string(), ssl::context::pem, ec);
  if (ec) {
    why = "certificate bundle " + dir.string() + ": " + ec.message();
    return nullptr;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

namespace {

// Connects `socket` (closed) to `server`, from `source` when given. One
// endpoint, not a range: asio's range connect reopens the socket and would
// drop the bind.
awaitable<void> connect_from(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& server,
                             const std::optional<asio::ip::address_v4>& source) {
  socket.open(server.protocol());
  if (source) socket.bind(asio::ip::tcp::endpoint(*source, 0));
  co_await socket.async_connect(server, use_awaitable);
}

}  // namespace

awaitable<fetch_result> http_get(const url& u, const fetch_options& how,
                                 std::shared_ptr<ssl::context> tls) {
  auto ex = co_await asio::this_coro::executor;
  fetch_result res;
  asio::ip::tcp::resolver resolver(ex);
  auto eps = co_await resolver.async_resolve(asio::ip::tcp::v4(), u.host, std::to_string(u.port),
                                             use_awaitable);
  if (eps.empty()) {
    res.error = "cannot resolve " + u.host;
    co_return res;
  }
  const asio::ip::tcp::endpoint server = *eps.begin();
  http::request<http::empty_body> req{http::verb::get, u.path, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, how.user_agent);
  req.set(http::field::connection, "close");
  http::response_parser<http::string_body> parser;
  parser.body_limit(how.body_limit);
  beast::flat_buffer buf;
  if (u.scheme == "http") {
    beast::tcp_stream s(ex);
    s.expires_after(30s);
    co_await connect_from(s.socket(), server, how.source);
    co_await http::async_write(s, req, use_awaitable);
    co_await http::async_read(s, buf, parser, use_awaitable);
  } else {
    if (!tls) {
      res.error = "https without a certificate bundle";
      co_return res;
    }
    beast::ssl_stream<beast::tcp_stream> s(ex, *tls);
    boost::system::error_code ec;
    asio::ip::make_address(u.host, ec);
    if (ec) SSL_set_tlsext_host_name(s.native_handle(), u.host.c_str());
    s.set_verify_callback(ssl::host_name_verification(u.host));
    beast::get_lowest_layer(s).expires_after(30s);
    co_await connect_from(beast::get_lowest_layer(s).socket(), server, how.source);
    co_await s.async_handshake(ssl::stream_base::client, use_awaitable);
    co_await http::async_write(s, req, use_awaitable);
    co_await http::async_read(s, buf, parser, use_awaitable);
  }
  auto& resp = parser.get();
  if (resp.result_int() != 200) {
    res.error = "HTTP " + std::to_string(resp.result_int());
    co_return res;
  }
  res.body = std::move(resp.body());
  res.ok = true;
  co_return res;
}

}  // namespace provbox::sim
