#include "tests/simulator/dhcp_client.hpp"

#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dhcp/options.hpp"

namespace provbox::sim {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
namespace code = dhcp::option_code;

namespace {

dhcp::message base_request(const dhcp::mac_address& mac, std::uint32_t xid,
                           dhcp::message_type type) {
  dhcp::message m;
  m.op = dhcp::op_code::boot_request;
  m.xid = xid;
  m.set_mac(mac);
  // No address yet: the server must broadcast its replies (RFC 2131 4.1),
  // which is also what lets many devices share one socket.
  m.set_broadcast(true);
  m.set_type(type);
  // RFC 2132 9.14: hardware type 1 then the MAC, as most phones send it.
  std::vector<std::uint8_t> client_id{1};
  client_id.insert(client_id.end(), mac.begin(), mac.end());
  m.set_option(code::client_identifier, client_id);
  m.set_option(code::parameter_request_list,
               {code::subnet_mask, code::routers, code::domain_name_servers, code::lease_time,
                code::server_identifier, code::renewal_time, code::tftp_server_name,
                code::boot_file_name});
  return m;
}

}  // namespace

dhcp::message make_discover(const dhcp::mac_address& mac, std::uint32_t xid) {
  return base_request(mac, xid, dhcp::message_type::discover);
}

dhcp::message make_request(const dhcp::mac_address& mac, std::uint32_t xid,
                           const dhcp_lease& offered) {
  auto m = base_request(mac, xid, dhcp::message_type::request);
  m.set_option(code::requested_address, dhcp::from_ipv4(offered.address));
  m.set_option(code::server_identifier, dhcp::from_ipv4(offered.server_id));
  return m;
}

reply_kind classify_reply(const dhcp::message& reply, std::uint32_t xid,
                          const dhcp::mac_address& mac) {
  if (reply.op != dhcp::op_code::boot_reply || reply.xid != xid) return reply_kind::not_ours;
  auto m = reply.mac();
  if (!m || *m != mac) return reply_kind::not_ours;
  auto type = reply.type();
  if (!type) return reply_kind::other;
  switch (*type) {
    case dhcp::message_type::offer: return reply_kind::offer;
    case dhcp::message_type::ack: return reply_kind::ack;
    case dhcp::message_type::nak: return reply_kind::nak;
    default: return reply_kind::other;
  }
}

std::optional<dhcp_lease> read_lease(const dhcp::message& reply) {
  dhcp_lease l;
  l.address = reply.yiaddr;
  auto* sid = reply.find(code::server_identifier);
  if (l.address.is_unspecified() || !sid) return std::nullopt;
  auto server = dhcp::as_ipv4(sid->data);
  if (!server) return std::nullopt;
  l.server_id = *server;
  if (auto* o = reply.find(code::subnet_mask)) l.subnet_mask = dhcp::as_ipv4(o->data);
  if (auto* o = reply.find(code::tftp_server_name))
    l.tftp_server = dhcp::as_string(o->data).value_or("");
  if (auto* o = reply.find(code::boot_file_name))
    l.boot_file = dhcp::as_string(o->data).value_or("");
  if (auto* o = reply.find(code::lease_time)) l.lease_time_s = dhcp::as_u32(o->data).value_or(0);
  if (auto* o = reply.find(code::renewal_time))
    l.renewal_time_s = dhcp::as_u32(o->data).value_or(0);
  if (l.renewal_time_s == 0) l.renewal_time_s = l.lease_time_s / 2;
  return l;
}

// A device waiting for replies to its xid: the receive loop queues them and
// wakes it by cancelling its timer.
struct dhcp_port::waiter {
  dhcp::mac_address mac;
  std::uint32_t xid;
  std::deque<dhcp::message> replies;
  asio::steady_timer timer;
};

dhcp_port::dhcp_port(asio::any_io_executor ex, const std::string& interface) : socket_(ex) {
  socket_.open(asio::ip::udp::v4());
  socket_.set_option(asio::socket_base::broadcast(true));
  socket_.set_option(asio::socket_base::reuse_address(true));
  if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                   static_cast<socklen_t>(interface.size())) != 0)
    throw std::system_error(errno, std::generic_category(), "SO_BINDTODEVICE " + interface);
  socket_.bind(asio::ip::udp::endpoint(asio::ip::address_v4::any(), 68));
}

dhcp_port::~dhcp_port() = default;

void dhcp_port::start() {
  asio::co_spawn(socket_.get_executor(), receive_loop(), asio::detached);
}

void dhcp_port::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  for (auto& [xid, w] : waiting_) w->timer.cancel();
}

awaitable<void> dhcp_port::receive_loop() {
  std::vector<std::uint8_t> buf(2048);
  while (!stopped_) {
    asio::ip::udp::endpoint from;
    auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from,
                                                       asio::as_tuple(use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopped_) co_return;
      continue;  // e.g. ECONNREFUSED from an earlier send: keep listening
    }
    auto decoded = dhcp::decode(std::span<const std::uint8_t>(buf.data(), n));
    if (!decoded) continue;
    auto it = waiting_.find(decoded.msg.xid);
    if (it == waiting_.end()) continue;
    it->second->replies.push_back(std::move(decoded.msg));
    it->second->timer.cancel();
  }
}

awaitable<std::optional<dhcp::message>> dhcp_port::exchange(const dhcp::message& request,
                                                            waiter& w, unsigned attempts,
                                                            unsigned& sent) {
  const bool want_offer = request.type() == dhcp::message_type::discover;
  const auto wire = dhcp::encode(request);
  const asio::ip::udp::endpoint servers(asio::ip::address_v4::broadcast(), 67);
  auto timeout = std::chrono::seconds(1);
  for (unsigned attempt = 0; attempt < attempts && !stopped_; ++attempt) {
    w.replies.clear();
    auto [send_ec, ignored] =
        co_await socket_.async_send_to(asio::buffer(wire), servers, asio::as_tuple(use_awaitable));
    ++sent;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    timeout = std::min(timeout * 2, std::chrono::seconds(8));
    if (send_ec) {
      // No route yet, or the interface is down: wait as for a lost reply.
      w.timer.expires_at(deadline);
      co_await w.timer.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    while (!stopped_) {
      while (!w.replies.empty()) {
        auto reply = std::move(w.replies.front());
        w.replies.pop_front();
        auto kind = classify_reply(reply, w.xid, w.mac);
        if (want_offer ? kind == reply_kind::offer
                       : (kind == reply_kind::ack || kind == reply_kind::nak))
          co_return reply;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      w.timer.expires_at(deadline);
      co_await w.timer.async_wait(asio::as_tuple(use_awaitable));
    }
  }
  co_return std::nullopt;
}

awaitable<dhcp_port::result> dhcp_port::acquire(dhcp::mac_address mac, std::uint32_t xid,
                                                unsigned attempts) {
  result r;
  waiter w{mac, xid, {}, asio::steady_timer(socket_.get_executor())};
  if (waiting_.contains(xid)) {
    r.error = "xid already in use";
    co_return r;
  }
  waiting_[xid] = &w;
  struct unregister {
    std::map<std::uint32_t, waiter*>& map;
    std::uint32_t xid;
    ~unregister() { map.erase(xid); }
  } guard{waiting_, xid};

  for (unsigned round = 0; round < attempts && !stopped_; ++round) {
    auto offer = co_await exchange(make_discover(mac, xid), w, attempts, r.transmissions);
    if (!offer) {
      r.error = "no DHCPOFFER after " + std::to_string(attempts) + " DISCOVERs";
      co_return r;
    }
    auto offered = read_lease(*offer);
    if (!offered) {
      r.error = "an OFFER without yiaddr or server identifier";
      continue;
    }
    auto ack = co_await exchange(make_request(mac, xid, *offered), w, attempts, r.transmissions);
    if (!ack) {
      r.error = "no DHCPACK after " + std::to_string(attempts) + " REQUESTs";
      continue;
    }
    if (ack->type() == dhcp::message_type::nak) {
      r.error = "DHCPNAK";
      continue;  // RFC 2131 4.4.1: back to INIT
    }
    auto acked = read_lease(*ack);
    if (!acked) {
      r.error = "an ACK without yiaddr or server identifier";
      continue;
    }
    r.lease = acked;
    r.error.clear();
    co_return r;
  }
  if (r.error.empty()) r.error = "stopped";
  co_return r;
}

}  // namespace provbox::sim
