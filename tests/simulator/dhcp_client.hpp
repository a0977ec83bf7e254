#pragma once
// The devices' DHCP client (RFC 2131 section 4.4): DISCOVER, OFFER, REQUEST,
// ACK, every device with its own chaddr and xid, all over one shared socket
// on port 68. The messages are built and read with the server's codec
// (dhcp/packet.hpp, dhcp/options.hpp); the pure part is unit-tested.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dhcp/packet.hpp"

namespace provbox::sim {

// What a device keeps from an OFFER or ACK.
struct dhcp_lease {
  dhcp::ipv4_address address;    // yiaddr
  dhcp::ipv4_address server_id;  // option 54
  std::optional<dhcp::ipv4_address> subnet_mask;  // option 1
  std::string tftp_server;       // option 66, as sent (an address or a name)
  std::string boot_file;         // option 67
  std::uint32_t lease_time_s = 0;  // option 51
  std::uint32_t renewal_time_s = 0;  // option 58, else half the lease (RFC 2131 4.4.5)
};

// A DISCOVER from `mac` with `xid`, BROADCAST flag set (the device has no
// address to receive unicast on), asking for 1, 3, 6, 51, 54, 66, 67.
dhcp::message make_discover(const dhcp::mac_address& mac, std::uint32_t xid);
// The REQUEST (SELECTING state) for an offer: options 50 and 54 set, ciaddr 0.
dhcp::message make_request(const dhcp::mac_address& mac, std::uint32_t xid,
                           const dhcp_lease& offered);

// What a reply means to the device waiting on `xid` with `mac`.
enum class reply_kind { not_ours, offer, ack, nak, other };
reply_kind classify_reply(const dhcp::message& reply, std::uint32_t xid,
                          const dhcp::mac_address& mac);
// The lease an OFFER or ACK carries; nullopt when yiaddr or option 54 is missing.
std::optional<dhcp_lease> read_lease(const dhcp::message& reply);

// The shared port-68 socket. Bound to 0.0.0.0:68 on one interface
// (SO_BINDTODEVICE), SO_BROADCAST on; replies are routed to the device
// waiting on their xid.
class dhcp_port {
public:
  // Throws std::system_error when the socket cannot be set up (not root,
  // no such interface, port 68 taken).
  dhcp_port(boost::asio::any_io_executor ex, const std::string& interface);
  ~dhcp_port();

  struct result {
    std::optional<dhcp_lease> lease;
    std::string error;       // when no lease
    unsigned transmissions = 0;  // DISCOVERs and REQUESTs sent, retransmissions included
  };
  // DISCOVER/OFFER/REQUEST/ACK for one device. Each message is retransmitted
  // after 1, 2, 4, 8 s (RFC 2131 4.1's doubling, without the randomization,
  // capped at `attempts` sends); a NAK starts over, at most `attempts` times.
  boost::asio::awaitable<result> acquire(dhcp::mac_address mac, std::uint32_t xid,
                                         unsigned attempts);

  void start();  // the receive loop
  void stop();

private:
  struct waiter;
  boost::asio::awaitable<void> receive_loop();
  boost::asio::awaitable<std::optional<dhcp::message>> exchange(const dhcp::message& request,
                                                                waiter& w, unsigned attempts,
                                                                unsigned& sent);

  boost::asio::ip::udp::socket socket_;
  std::map<std::uint32_t, waiter*> waiting_;  // by xid
  bool stopped_ = false;
};

}  // namespace provbox::sim
