// The simulated devices' DHCP messages, built and read with the server's codec.
#include "tests/simulator/dhcp_client.hpp"

#include <gtest/gtest.h>

#include "dhcp/options.hpp"

namespace provbox::sim {
namespace {

namespace code = dhcp::option_code;
const dhcp::mac_address mac{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19};

dhcp::message reply_to(const dhcp::message& request, dhcp::message_type type) {
  dhcp::message r;
  r.op = dhcp::op_code::boot_reply;
  r.xid = request.xid;
  r.set_mac(*request.mac());
  r.flags = request.flags;
  r.yiaddr = dhcp::ipv4_address(10, 77, 1, 5);
  r.set_type(type);
  r.set_option(code::server_identifier, dhcp::from_ipv4(dhcp::ipv4_address(10, 77, 0, 1)));
  r.set_option(code::subnet_mask, dhcp::from_ipv4(dhcp::ipv4_address(255, 255, 0, 0)));
  r.set_option(code::lease_time, dhcp::from_u32(3600));
  r.set_option(code::tftp_server_name, dhcp::from_string("10.77.0.1"));
  r.set_option(code::boot_file_name, dhcp::from_string("IP542N.conf"));
  return r;
}

TEST(DhcpClient, DiscoverAsksForBroadcastRepliesAndOptions66And67) {
  auto m = make_discover(mac, 0x12345678);
  // Through the wire and back, as the server will see it.
  auto decoded = dhcp::decode(dhcp::encode(m));
  ASSERT_TRUE(decoded);
  auto& d = decoded.msg;
  EXPECT_EQ(d.op, dhcp::op_code::boot_request);
  EXPECT_EQ(d.type(), dhcp::message_type::discover);
  EXPECT_EQ(d.xid, 0x12345678u);
  EXPECT_TRUE(d.broadcast());
  EXPECT_EQ(d.mac(), mac);
  EXPECT_TRUE(d.ciaddr.is_unspecified());
  auto* prl = d.find(code::parameter_request_list);
  ASSERT_NE(prl, nullptr);
  auto asks = [&](std::uint8_t c) {
    return std::find(prl->data.begin(), prl->data.end(), c) != prl->data.end();
  };
  EXPECT_TRUE(asks(code::tftp_server_name));
  EXPECT_TRUE(asks(code::boot_file_name));
  EXPECT_TRUE(asks(code::subnet_mask));
  EXPECT_EQ(d.find(code::requested_address), nullptr);
}

TEST(DhcpClient, RequestNamesTheOfferedAddressAndTheServer) {
  auto offer = reply_to(make_discover(mac, 7), dhcp::message_type::offer);
  auto offered = read_lease(offer);
  ASSERT_TRUE(offered);
  auto decoded = dhcp::decode(dhcp::encode(make_request(mac, 7, *offered)));
  ASSERT_TRUE(decoded);
  auto& r = decoded.msg;
  EXPECT_EQ(r.type(), dhcp::message_type::request);
  EXPECT_EQ(r.xid, 7u);
  EXPECT_TRUE(r.broadcast());
  EXPECT_TRUE(r.ciaddr.is_unspecified());  // SELECTING: RFC 2131 4.3.2
  ASSERT_NE(r.find(code::requested_address), nullptr);
  EXPECT_EQ(dhcp::as_ipv4(r.find(code::requested_address)->data), dhcp::ipv4_address(10, 77, 1, 5));
  ASSERT_NE(r.find(code::server_identifier), nullptr);
  EXPECT_EQ(dhcp::as_ipv4(r.find(code::server_identifier)->data), dhcp::ipv4_address(10, 77, 0, 1));
}

TEST(DhcpClient, ReadsTheLeaseAndOptions66And67) {
  auto ack = reply_to(make_discover(mac, 9), dhcp::message_type::ack);
  auto decoded = dhcp::decode(dhcp::encode(ack));
  ASSERT_TRUE(decoded);
  auto lease = read_lease(decoded.msg);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->address.to_string(), "10.77.1.5");
  EXPECT_EQ(lease->server_id.to_string(), "10.77.0.1");
  EXPECT_EQ(lease->tftp_server, "10.77.0.1");
  EXPECT_EQ(lease->boot_file, "IP542N.conf");
  EXPECT_EQ(lease->lease_time_s, 3600u);
  EXPECT_EQ(lease->renewal_time_s, 1800u);  // no option 58: half the lease
  ASSERT_TRUE(lease->subnet_mask);
  EXPECT_EQ(lease->subnet_mask->to_string(), "255.255.0.0");
}

TEST(DhcpClient, NoLeaseWithoutAddressOrServerIdentifier) {
  auto ack = reply_to(make_discover(mac, 9), dhcp::message_type::ack);
  auto no_server = ack;
  no_server.remove_option(code::server_identifier);
  EXPECT_FALSE(read_lease(no_server));
  auto no_address = ack;
  no_address.yiaddr = dhcp::ipv4_address();
  EXPECT_FALSE(read_lease(no_address));
}

TEST(DhcpClient, RepliesAreMatchedByXidAndMac) {
  auto discover = make_discover(mac, 42);
  auto offer = reply_to(discover, dhcp::message_type::offer);
  EXPECT_EQ(classify_reply(offer, 42, mac), reply_kind::offer);
  EXPECT_EQ(classify_reply(reply_to(discover, dhcp::message_type::ack), 42, mac), reply_kind::ack);
  EXPECT_EQ(classify_reply(reply_to(discover, dhcp::message_type::nak), 42, mac), reply_kind::nak);
  EXPECT_EQ(classify_reply(offer, 43, mac), reply_kind::not_ours);
  auto other_mac = mac;
  other_mac[5] = 0x1a;
  EXPECT_EQ(classify_reply(offer, 42, other_mac), reply_kind::not_ours);
  // Another client's request seen on the shared socket is not a reply.
  EXPECT_EQ(classify_reply(discover, 42, mac), reply_kind::not_ours);
  auto untyped = offer;
  untyped.remove_option(code::message_type);
  EXPECT_EQ(classify_reply(untyped, 42, mac), reply_kind::other);
}

}  // namespace
}  // namespace provbox::sim
