// The lease engine, event by event, without sockets: each test feeds decoded
// messages to handle_and_apply() over memory_leases and checks the reply,
// where it goes and what the lease state became.
#include "dhcp/lease_engine.hpp"

#include "tests/dhcp/wire.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

namespace provbox::dhcp {
namespace {

using test::bytes;
using test::concat;
using test::zeros;

constexpr mac_address phone_mac{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19};
constexpr mac_address other_mac{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x20};
const ipv4_address server_address(10, 77, 0, 1);
constexpr std::int64_t t0 = 1'700'000'000;

engine_config one_subnet() {
    engine_config c;
    subnet_config s;
    s.network = ipv4_address(10, 77, 0, 0);
    s.prefix_length = 24;
    s.pools = {{ipv4_address(10, 77, 0, 100), ipv4_address(10, 77, 0, 103)}};
    s.routers = {ipv4_address(10, 77, 0, 254)};
    s.dns_servers = {ipv4_address(10, 77, 0, 53)};
    s.domain_name = "lab";
    s.boot_file = "default.conf";
    c.subnets.push_back(s);
    // A relayed subnet, told apart by giaddr.
    subnet_config far;
    far.network = ipv4_address(10, 88, 0, 0);
    far.prefix_length = 24;
    far.pools = {{ipv4_address(10, 88, 0, 10), ipv4_address(10, 88, 0, 20)}};
    c.subnets.push_back(far);
    c.lease_time = 3600;
    return c;
}

message client_message(message_type type, const mac_address& mac = phone_mac, std::uint32_t xid = 0x3903f326) {
    message m;
    m.xid = xid;
    m.set_mac(mac);
    m.set_type(type);
    return m;
}

message discover(const mac_address& mac = phone_mac) { return client_message(message_type::discover, mac); }

message select(ipv4_address offered, const mac_address& mac = phone_mac, ipv4_address server = server_address) {
    message m = client_message(message_type::request, mac);
    m.set_option(option_code::server_identifier, from_ipv4(server));
    m.set_option(option_code::requested_address, from_ipv4(offered));
    return m;
}

std::vector<std::uint8_t> codes(const message& m) {
    std::vector<std::uint8_t> out;
    for (const auto& o : m.options) out.push_back(o.code);
    return out;
}

std::string text_option(const message& m, std::uint8_t code) {
    const option* o = m.find(code);
    return o ? as_string(o->data).value_or("") : "";
}

class LeaseEngine : public ::testing::Test {
protected:
    engine_result run(const message& m, std::int64_t at = t0, ipv4_address link = server_address) {
        return handle_and_apply(m, {link, at}, leases, devices, config);
    }
    // DISCOVER, then REQUEST what was offered; returns the ACK's address.
    ipv4_address dora(const mac_address& mac, std::int64_t at = t0) {
        auto offer = run(discover(mac), at);
        EXPECT_TRUE(offer.reply);
        if (!offer.reply) return {};
        auto ack = run(select(offer.reply->yiaddr, mac), at);
        EXPECT_TRUE(ack.reply);
        EXPECT_EQ(ack.reply->type(), message_type::ack);
        return ack.reply->yiaddr;
    }

    engine_config config = one_subnet();
    known_devices devices;
    memory_leases leases;
};

// ---- DISCOVER / OFFER ---------------------------------------------------------

TEST_F(LeaseEngine, OfferIsByteExact) {
    message in = discover();
    in.set_option(option_code::parameter_request_list, {1, 3, 6, 15, 66, 67});
    const auto r = run(in);
    ASSERT_TRUE(r.reply);
    const bytes expected = concat({
        {2, 1, 6, 0},                       // op BOOTREPLY, htype, hlen, hops
        {0x39, 0x03, 0xf3, 0x26},           // xid, echoed
        {0, 0, 0, 0},                       // secs, flags
        {0, 0, 0, 0},                       // ciaddr
        {10, 77, 0, 100},                   // yiaddr: the pool's first address
        {10, 77, 0, 1},                     // siaddr: the next server, as option 66
        {0, 0, 0, 0},                       // giaddr
        {0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19}, zeros(10),  // chaddr
        zeros(64), zeros(128),              // sname, file
        {99, 130, 83, 99},                  // magic cookie
        {53, 1, 2},                         // DHCPOFFER
        {54, 4, 10, 77, 0, 1},              // server identifier
        {1, 4, 255, 255, 255, 0},           // subnet mask (requested first)
        {3, 4, 10, 77, 0, 254},             // routers
        {6, 4, 10, 77, 0, 53},              // DNS
        {15, 3, 'l', 'a', 'b'},             // domain name
        {66, 9, '1', '0', '.', '7', '7', '.', '0', '.', '1'},  // TFTP server: our address
        {67, 12, 'd', 'e', 'f', 'a', 'u', 'l', 't', '.', 'c', 'o', 'n', 'f'},
        {51, 4, 0, 0, 0x0e, 0x10},          // lease time 3600: unrequested but needed
        {58, 4, 0, 0, 0x07, 0x08},          // T1 1800
        {59, 4, 0, 0, 0x0c, 0x4e},          // T2 3150
        {255},                              // end
    });
    EXPECT_EQ(encode(*r.reply), expected);  // 316 bytes: no padding needed
}

TEST_F(LeaseEngine, OfferHoldsTheAddressInMemoryOnly) {
    const auto r = run(discover());
    ASSERT_TRUE(r.offer);
    EXPECT_TRUE(r.changes.empty());  // nothing to persist for an OFFER
    const lease* held = leases.find_by_address(ipv4_address(10, 77, 0, 100));
    ASSERT_NE(held, nullptr);
    EXPECT_EQ(held->status, lease_status::offered);
    EXPECT_EQ(held->expires, t0 + config.offer_hold);
}

TEST_F(LeaseEngine, TwoClientsAreOfferedDifferentAddresses) {
    const auto a = run(discover(phone_mac));
    const auto b = run(discover(other_mac));
    ASSERT_TRUE(a.reply && b.reply);
    EXPECT_NE(a.reply->yiaddr, b.reply->yiaddr);
}

TEST_F(LeaseEngine, RepeatedDiscoverGetsTheSameOffer) {
    const auto a = run(discover());
    const auto b = run(discover(), t0 + 1);
    EXPECT_EQ(a.reply->yiaddr, b.reply->yiaddr);
}

TEST_F(LeaseEngine, RequestedAddressIsOfferedWhenFree) {
    message in = discover();
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 102)));
    EXPECT_EQ(run(in).reply->yiaddr, ipv4_address(10, 77, 0, 102));
}

TEST_F(LeaseEngine, RequestedAddressOutsideThePoolIsIgnored) {
    message in = discover();
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 7)));
    EXPECT_EQ(run(in).reply->yiaddr, ipv4_address(10, 77, 0, 100));
}

TEST_F(LeaseEngine, ExhaustedPoolIsSilent) {
    for (std::uint8_t i = 0; i < 4; ++i) dora({0x02, 0, 0, 0, 0, i});
    const auto r = run(discover({0x02, 0, 0, 0, 0, 9}));
    EXPECT_FALSE(r.reply);
    EXPECT_EQ(r.why, silence::pool_exhausted);
}

TEST_F(LeaseEngine, ExpiredLeaseIsReclaimedForANewClient) {
    for (std::uint8_t i = 0; i < 4; ++i) dora({0x02, 0, 0, 0, 0, i});
    const std::int64_t later = t0 + 3600 + 1;
    EXPECT_EQ(leases.reclaim(later).size(), 4u);
    const auto r = run(discover({0x02, 0, 0, 0, 0, 9}), later);
    ASSERT_TRUE(r.reply);
    EXPECT_TRUE(config.subnets[0].pools[0].contains(r.reply->yiaddr));
}

TEST_F(LeaseEngine, OfferSendsTftpServerAndBootFileUnasked) {
    message in = discover();
    in.set_option(option_code::parameter_request_list, {1, 3});
    const auto r = run(in);
    EXPECT_EQ(text_option(*r.reply, 66), "10.77.0.1");
    EXPECT_EQ(text_option(*r.reply, 67), "default.conf");
    EXPECT_EQ(codes(*r.reply), (std::vector<std::uint8_t>{53, 54, 1, 3, 51, 58, 59, 6, 66, 67}));
}

TEST_F(LeaseEngine, ConfiguredTftpServerReplacesOurAddress) {
    config.subnets[0].tftp_server = "prov.example.net";
    const auto r = run(discover());
    EXPECT_EQ(text_option(*r.reply, 66), "prov.example.net");
    EXPECT_TRUE(r.reply->siaddr.is_unspecified());  // a name is no next-server address
    config.subnets[0].tftp_server = "10.77.0.9";
    EXPECT_EQ(run(discover(other_mac)).reply->siaddr, ipv4_address(10, 77, 0, 9));
}

TEST_F(LeaseEngine, ConfiguredOptionsGoWhenRequested) {
    config.subnets[0].options.push_back({150, from_ipv4(ipv4_address(10, 77, 0, 1))});
    config.subnets[0].options.push_back({160, from_string("https://10.77.0.1/")});
    message in = discover();
    EXPECT_EQ(run(in).reply->find(150), nullptr);  // not asked for
    in.set_option(option_code::parameter_request_list, {150, 160});
    const auto r = run(in);
    ASSERT_NE(r.reply->find(150), nullptr);
    EXPECT_EQ(text_option(*r.reply, 160), "https://10.77.0.1/");
}

// ---- REQUEST --------------------------------------------------------------------

TEST_F(LeaseEngine, SelectingRequestIsAckedAndBound) {
    const auto offer = run(discover());
    const auto r = run(select(offer.reply->yiaddr));
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::ack);
    EXPECT_EQ(r.reply->yiaddr, offer.reply->yiaddr);
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0].kind, change_kind::bind);
    EXPECT_EQ(r.changes[0].value.status, lease_status::bound);
    EXPECT_EQ(r.changes[0].value.expires, t0 + 3600);
    EXPECT_EQ(r.changes[0].value.mac, phone_mac);
    const auto own = leases.find_by_client(client_key_of(discover()));
    ASSERT_EQ(own.size(), 1u);  // the offer gave way to the lease
    EXPECT_EQ(own[0]->status, lease_status::bound);
}

TEST_F(LeaseEngine, SelectingAnotherServerReleasesOurOfferSilently) {
    const auto offer = run(discover());
    const auto r = run(select(offer.reply->yiaddr, phone_mac, ipv4_address(10, 77, 0, 2)));
    EXPECT_FALSE(r.reply);
    EXPECT_EQ(r.why, silence::other_server);
    EXPECT_EQ(leases.find_by_address(offer.reply->yiaddr), nullptr);
    EXPECT_TRUE(leases.find_by_client(client_key_of(discover())).empty());
}

TEST_F(LeaseEngine, SelectingAnAddressHeldByAnotherIsNaked) {
    const ipv4_address taken = dora(other_mac);
    const auto r = run(select(taken));
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::nak);
    EXPECT_EQ(r.to.how, delivery::broadcast);
    EXPECT_TRUE(r.changes.empty());
}

TEST_F(LeaseEngine, NakCarriesOnlyTypeServerAndMessage) {
    const ipv4_address taken = dora(other_mac);
    const auto r = run(select(taken));
    EXPECT_EQ(codes(*r.reply), (std::vector<std::uint8_t>{53, 54, 56}));
    EXPECT_TRUE(r.reply->yiaddr.is_unspecified());
}

TEST_F(LeaseEngine, InitRebootOfOwnAddressIsAcked) {
    const ipv4_address a = dora(phone_mac);
    message in = client_message(message_type::request);
    in.set_option(option_code::requested_address, from_ipv4(a));
    const auto r = run(in, t0 + 100);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::ack);
    EXPECT_EQ(r.changes.at(0).value.expires, t0 + 100 + 3600);
}

TEST_F(LeaseEngine, InitRebootOnTheWrongNetworkIsNaked) {
    dora(phone_mac);
    message in = client_message(message_type::request);
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(192, 168, 1, 10)));
    EXPECT_EQ(run(in).reply->type(), message_type::nak);
}

TEST_F(LeaseEngine, InitRebootOfAnotherAddressIsNaked) {
    dora(phone_mac);
    message in = client_message(message_type::request);
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 103)));
    EXPECT_EQ(run(in).reply->type(), message_type::nak);
}

TEST_F(LeaseEngine, InitRebootOfAClientWithNoRecordIsSilent) {
    message in = client_message(message_type::request);
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 101)));
    const auto r = run(in);
    EXPECT_FALSE(r.reply);
    EXPECT_EQ(r.why, silence::no_record);  // RFC 2131 §4.3.2
}

TEST_F(LeaseEngine, RenewingIsAckedToCiaddr) {
    const ipv4_address a = dora(phone_mac);
    message in = client_message(message_type::request);
    in.ciaddr = a;
    const auto r = run(in, t0 + 1800);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::ack);
    EXPECT_EQ(r.reply->ciaddr, a);
    EXPECT_EQ(r.to.how, delivery::client);
    EXPECT_EQ(r.to.address, a);
    EXPECT_EQ(r.to.port, client_port);
    EXPECT_EQ(leases.find_by_address(a)->expires, t0 + 1800 + 3600);
}

TEST_F(LeaseEngine, RebindingAnotherClientsAddressIsNaked) {
    const ipv4_address theirs = dora(other_mac);
    dora(phone_mac);
    message in = client_message(message_type::request);
    in.ciaddr = theirs;
    in.set_broadcast(true);
    EXPECT_EQ(run(in).reply->type(), message_type::nak);
}

TEST_F(LeaseEngine, RenewalAfterLostStateRebuildsTheLease) {
    message in = client_message(message_type::request);
    in.ciaddr = ipv4_address(10, 77, 0, 102);
    const auto r = run(in);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::ack);
    EXPECT_EQ(leases.find_by_address(in.ciaddr)->status, lease_status::bound);
}

TEST_F(LeaseEngine, TimersFollowConfiguration) {
    config.lease_time = 600;
    config.renewal_time = 100;
    config.rebinding_time = 500;
    const auto r = run(discover());
    EXPECT_EQ(as_u32(r.reply->find(51)->data), 600u);
    EXPECT_EQ(as_u32(r.reply->find(58)->data), 100u);
    EXPECT_EQ(as_u32(r.reply->find(59)->data), 500u);
}

// ---- stickiness, client identifier -------------------------------------------------------

TEST_F(LeaseEngine, SameClientGetsItsAddressBackAfterRelease) {
    dora(other_mac);
    const ipv4_address a = dora(phone_mac);
    message rel = client_message(message_type::release);
    rel.ciaddr = a;
    rel.set_option(option_code::server_identifier, from_ipv4(server_address));
    const auto r = run(rel, t0 + 10);
    EXPECT_FALSE(r.reply);
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0].kind, change_kind::release);
    EXPECT_EQ(run(discover(), t0 + 20).reply->yiaddr, a);
}

TEST_F(LeaseEngine, SameClientGetsItsAddressBackAfterExpiry) {
    const ipv4_address a = dora(phone_mac);
    leases.reclaim(t0 + 7200);
    EXPECT_EQ(leases.find_by_address(a)->status, lease_status::expired);
    EXPECT_EQ(run(discover(), t0 + 7200).reply->yiaddr, a);
}

TEST_F(LeaseEngine, ClientIdentifierIsTheKeyWhenSent) {
    message first = discover(phone_mac);
    first.set_option(option_code::client_identifier, {1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    message second = discover(other_mac);  // same identifier, new network card
    second.set_option(option_code::client_identifier, {1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    EXPECT_EQ(client_key_of(first), "id:01aabbccddeeff");
    EXPECT_EQ(client_key_of(discover()), "hw:010021f2011b19");
    EXPECT_EQ(run(first).reply->yiaddr, run(second).reply->yiaddr);
}

// ---- DECLINE, RELEASE, INFORM -------------------------------------------------------------

TEST_F(LeaseEngine, DeclinedAddressIsSetAsideForTheHold) {
    config.subnets[0].pools = {{ipv4_address(10, 77, 0, 100), ipv4_address(10, 77, 0, 100)}};
    const ipv4_address a = dora(phone_mac);
    message dec = client_message(message_type::decline);
    dec.set_option(option_code::requested_address, from_ipv4(a));
    dec.set_option(option_code::server_identifier, from_ipv4(server_address));
    const auto r = run(dec);
    EXPECT_FALSE(r.reply);
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0].value.status, lease_status::declined);
    EXPECT_EQ(r.changes[0].value.client_key, "");
    EXPECT_EQ(run(discover(other_mac), t0 + 1).why, silence::pool_exhausted);
    EXPECT_EQ(run(discover(phone_mac), t0 + 1).why, silence::pool_exhausted);
    EXPECT_EQ(run(discover(other_mac), t0 + config.decline_hold + 1).reply->yiaddr, a);
}

TEST_F(LeaseEngine, DeclineOfSomeoneElsesAddressChangesNothing) {
    const ipv4_address theirs = dora(other_mac);
    message dec = client_message(message_type::decline);
    dec.set_option(option_code::requested_address, from_ipv4(theirs));
    EXPECT_TRUE(run(dec).changes.empty());
    EXPECT_EQ(leases.find_by_address(theirs)->status, lease_status::bound);
}

TEST_F(LeaseEngine, ReleaseOfAnotherAddressChangesNothing) {
    dora(phone_mac);
    message rel = client_message(message_type::release);
    rel.ciaddr = ipv4_address(10, 77, 0, 103);
    EXPECT_TRUE(run(rel).changes.empty());
}

TEST_F(LeaseEngine, InformGetsConfigurationWithoutALease) {
    message in = client_message(message_type::inform);
    in.ciaddr = ipv4_address(10, 77, 0, 50);
    in.set_option(option_code::parameter_request_list, {66, 67, 51});
    const auto r = run(in);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::ack);
    EXPECT_TRUE(r.reply->yiaddr.is_unspecified());
    EXPECT_EQ(r.reply->find(51), nullptr);  // RFC 2131 §4.3.5: no lease time
    EXPECT_EQ(text_option(*r.reply, 66), "10.77.0.1");
    EXPECT_EQ(r.to.how, delivery::client);
    EXPECT_EQ(r.to.address, in.ciaddr);
    EXPECT_TRUE(r.changes.empty());
    EXPECT_FALSE(r.offer);
}

// ---- where replies go (RFC 2131 §4.1) ------------------------------------------------------

TEST_F(LeaseEngine, BroadcastFlagMeansBroadcast) {
    message in = discover();
    in.set_broadcast(true);
    const auto r = run(in);
    EXPECT_EQ(r.to.how, delivery::broadcast);
    EXPECT_EQ(r.to.address, ipv4_address(255, 255, 255, 255));
    EXPECT_TRUE(r.reply->broadcast());  // flags echoed
}

TEST_F(LeaseEngine, NoFlagMeansUnicastToYiaddrAtChaddr) {
    const auto r = run(discover());
    EXPECT_EQ(r.to.how, delivery::hardware);
    EXPECT_EQ(r.to.address, r.reply->yiaddr);
    EXPECT_EQ(r.to.mac, phone_mac);
    EXPECT_EQ(r.to.port, client_port);
}

TEST_F(LeaseEngine, RelayedDiscoverIsAnsweredToTheRelayFromItsSubnet) {
    message in = discover();
    in.giaddr = ipv4_address(10, 88, 0, 1);
    in.set_broadcast(true);
    in.set_option(option_code::relay_agent_information, {1, 3, 'e', 't', '0', 2, 2, 0xab, 0xcd});
    const auto r = run(in);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.to.how, delivery::relay);
    EXPECT_EQ(r.to.address, ipv4_address(10, 88, 0, 1));
    EXPECT_EQ(r.to.port, server_port);
    EXPECT_EQ(r.reply->giaddr, in.giaddr);
    EXPECT_EQ(r.reply->yiaddr, ipv4_address(10, 88, 0, 10));
    ASSERT_FALSE(r.reply->options.empty());
    EXPECT_EQ(r.reply->options.back(), *in.find(82));  // echoed unchanged, last
}

TEST_F(LeaseEngine, RelayedNakAsksTheRelayToBroadcast) {
    message in = client_message(message_type::request);
    in.giaddr = ipv4_address(10, 88, 0, 1);
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 100)));
    const auto r = run(in);
    ASSERT_TRUE(r.reply);
    EXPECT_EQ(r.reply->type(), message_type::nak);  // wrong network for that relay
    EXPECT_EQ(r.to.how, delivery::relay);
    EXPECT_TRUE(r.reply->broadcast());
}

TEST_F(LeaseEngine, UnknownRelayIsSilent) {
    message in = discover();
    in.giaddr = ipv4_address(172, 16, 0, 1);
    EXPECT_EQ(run(in).why, silence::no_subnet);
}

// ---- the inventory: known-only, reservations, models -----------------------------------------

TEST_F(LeaseEngine, KnownOnlyIgnoresAnUnknownMac) {
    config.known_only = true;
    devices.add(phone_mac, {});
    const auto r = run(discover(other_mac));
    EXPECT_FALSE(r.reply);
    EXPECT_EQ(r.why, silence::unknown_client);
    EXPECT_TRUE(run(discover(phone_mac)).reply);
}

TEST_F(LeaseEngine, StaticAddressIsReservedAndModelNamesTheBootFile) {
    devices.add(phone_mac, {ipv4_address(10, 77, 0, 20), "IP542N.conf"});
    const auto r = run(discover());
    EXPECT_EQ(r.reply->yiaddr, ipv4_address(10, 77, 0, 20));  // outside the pool, still given
    EXPECT_EQ(text_option(*r.reply, 67), "IP542N.conf");
    EXPECT_EQ(run(select(ipv4_address(10, 77, 0, 20))).reply->type(), message_type::ack);
}

TEST_F(LeaseEngine, ReservedAddressIsNeverGivenToAnother) {
    config.subnets[0].pools = {{ipv4_address(10, 77, 0, 100), ipv4_address(10, 77, 0, 101)}};
    devices.add(phone_mac, {ipv4_address(10, 77, 0, 100), ""});
    EXPECT_EQ(run(discover(other_mac)).reply->yiaddr, ipv4_address(10, 77, 0, 101));
    message in = discover({0x02, 0, 0, 0, 0, 5});
    in.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 100)));
    EXPECT_EQ(run(in).why, silence::pool_exhausted);
}

TEST_F(LeaseEngine, VendorClassRuleNamesTheBootFile) {
    config.model_rules.push_back({"FlyingVoice", std::nullopt, "IP542N.conf"});
    config.model_rules.push_back({"", std::array<std::uint8_t, 3>{0x00, 0x21, 0xf2}, "FIP13G.conf"});
    message in = discover(other_mac);
    in.set_option(option_code::vendor_class_identifier, from_string("FlyingVoice IP542N"));
    EXPECT_EQ(text_option(*run(in).reply, 67), "IP542N.conf");
    EXPECT_EQ(text_option(*run(discover()).reply, 67), "FIP13G.conf");  // by OUI
}

// ---- what is not for us ---------------------------------------------------------------------------

TEST_F(LeaseEngine, RepliesAndBootpAreIgnored) {
    message reply = discover();
    reply.op = op_code::boot_reply;
    EXPECT_EQ(run(reply).why, silence::not_a_request);
    message bootp = discover();
    bootp.remove_option(option_code::message_type);
    EXPECT_EQ(run(bootp).why, silence::no_message_type);
    message offer = client_message(message_type::offer);
    EXPECT_EQ(run(offer).why, silence::no_message_type);
    message token_ring = discover();
    token_ring.htype = 6;
    EXPECT_EQ(run(token_ring).why, silence::not_ethernet);
}

TEST_F(LeaseEngine, ManyClientsNeverShareAnAddress) {
    config.subnets[0].pools = {{ipv4_address(10, 77, 0, 2), ipv4_address(10, 77, 0, 250)}};
    std::set<ipv4_address> seen;
    for (int i = 0; i < 249; ++i) {
        const ipv4_address a = dora({0x02, 0, 0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
        EXPECT_TRUE(seen.insert(a).second) << a.to_string();
    }
    EXPECT_EQ(seen.size(), 249u);
}

// ---- leases on several subnets -------------------------------------------------------------

TEST_F(LeaseEngine, ALeaseOnAnotherSubnetIsKeptWhenTheClientIsLeasedHere) {
    message far = discover();
    far.giaddr = ipv4_address(10, 88, 0, 1);
    const auto offer = run(far);
    message req = select(offer.reply->yiaddr);
    req.giaddr = far.giaddr;
    ASSERT_EQ(run(req).reply->type(), message_type::ack);
    const ipv4_address there = offer.reply->yiaddr;

    const auto local_offer = run(discover());
    EXPECT_TRUE(config.subnets[0].pools[0].contains(local_offer.reply->yiaddr));  // not the far lease
    const auto ack = run(select(local_offer.reply->yiaddr));
    ASSERT_EQ(ack.changes.size(), 1u);  // the binding only: the far lease is not this link's business
    ASSERT_NE(leases.find_by_address(there), nullptr);
    EXPECT_EQ(leases.find_by_address(there)->status, lease_status::bound);
    EXPECT_EQ(leases.find_by_client(client_key_of(discover())).size(), 2u);
}

TEST_F(LeaseEngine, LoadOrderNeverDropsAClientsLease) {
    // The rows of finding 7: one client with a lease from before its link was
    // renumbered and one from after. Put in either order, both stay.
    lease old_link{ipv4_address(10, 90, 0, 100), client_key_of(discover()), phone_mac, lease_status::bound, t0, ""};
    lease new_link{ipv4_address(10, 85, 0, 100), client_key_of(discover()), phone_mac, lease_status::bound, t0, ""};
    for (const bool new_first : {true, false}) {
        memory_leases loaded;
        loaded.put(new_first ? new_link : old_link);
        loaded.put(new_first ? old_link : new_link);
        EXPECT_EQ(loaded.size(), 2u);
        ASSERT_NE(loaded.find_by_address(new_link.address), nullptr);
        EXPECT_EQ(*loaded.find_by_address(new_link.address), new_link);
        EXPECT_EQ(*loaded.find_by_address(old_link.address), old_link);
        EXPECT_EQ(loaded.find_by_client(new_link.client_key).size(), 2u);
    }
}

TEST_F(LeaseEngine, AnOfferLeavesTheClientsLeaseInPlace) {
    const ipv4_address first = dora(phone_mac);  // .100
    config.subnets[0].pools = {{ipv4_address(10, 77, 0, 102), ipv4_address(10, 77, 0, 103)}};
    const auto offer = run(discover(), t0 + 10);
    EXPECT_TRUE(config.subnets[0].pools[0].contains(offer.reply->yiaddr));  // .100 is outside the range now
    ASSERT_NE(leases.find_by_address(first), nullptr);
    EXPECT_EQ(leases.find_by_address(first)->status, lease_status::bound);
    // The client never asks for it: the offer lapses, the lease is still there.
    leases.reclaim(t0 + 10 + config.offer_hold + 1);
    EXPECT_EQ(leases.find_by_address(offer.reply->yiaddr), nullptr);
    EXPECT_EQ(leases.find_by_address(first)->status, lease_status::bound);
}

TEST_F(LeaseEngine, MovingWithinASubnetReleasesTheOldLeaseAndKeepsIt) {
    const ipv4_address first = dora(phone_mac);
    config.subnets[0].pools = {{ipv4_address(10, 77, 0, 102), ipv4_address(10, 77, 0, 103)}};
    const auto offer = run(discover(), t0 + 10);
    const auto ack = run(select(offer.reply->yiaddr), t0 + 10);
    ASSERT_EQ(ack.changes.size(), 2u);
    EXPECT_EQ(ack.changes[0].kind, change_kind::bind);
    EXPECT_EQ(ack.changes[1].kind, change_kind::release);
    EXPECT_EQ(ack.changes[1].value.address, first);
    EXPECT_EQ(leases.find_by_address(first)->status, lease_status::released);
    EXPECT_EQ(leases.find_by_address(first)->client_key, client_key_of(discover()));
    // Back in the range, it is the client's again if it asks first...
    config.subnets[0].pools = {{ipv4_address(10, 77, 0, 100), ipv4_address(10, 77, 0, 103)}};
    message in = discover();
    in.set_option(option_code::requested_address, from_ipv4(first));
    EXPECT_EQ(run(in, t0 + 20).reply->yiaddr, offer.reply->yiaddr);  // ...but its binding comes first
}

// ---- clients outside the inventory --------------------------------------------------------------

// A 21-address pool, as in finding 6 of issue 12, with the daemon's defaults.
class UnknownClients : public LeaseEngine {
protected:
    void SetUp() override {
        config.subnets[0].pools = {{ipv4_address(10, 77, 0, 100), ipv4_address(10, 77, 0, 120)}};
        config.unknown_lease_time = 600;
        config.unknown_offer_hold = 10;
        config.known_reserve = 2;
    }
    static mac_address stranger(int i) {
        return {0x02, 0x5c, 0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    }
    static mac_address phone(int i) {
        return {0x00, 0x21, 0xf2, 0x10, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    }
    // Full exchanges for strangers first..first+count-1; how many were ACKed.
    int scan(int first, int count, std::int64_t at = t0) {
        int acked = 0;
        for (int i = first; i < first + count; ++i) {
            const auto offer = run(discover(stranger(i)), at);
            if (!offer.reply) {
                last_refusal = offer.why;
                continue;
            }
            const auto ack = run(select(offer.reply->yiaddr, stranger(i)), at);
            if (ack.reply && ack.reply->type() == message_type::ack) ++acked;
        }
        return acked;
    }
    silence last_refusal = silence::none;
};

TEST_F(UnknownClients, AScanLeavesAnAddressForADeviceAddedAfterIt) {
    EXPECT_EQ(scan(0, 19), 19);
    const auto refused = run(discover(stranger(19)));
    EXPECT_FALSE(refused.reply);
    EXPECT_EQ(refused.why, silence::reserved_for_known);
    devices.add(phone(1), {});  // added to the inventory after the scan
    const ipv4_address a = dora(phone(1));
    EXPECT_TRUE(config.subnets[0].pools[0].contains(a));
    devices.add(phone(2), {});
    dora(phone(2));
    devices.add(phone(3), {});
    EXPECT_EQ(run(discover(phone(3))).why, silence::pool_exhausted);  // 21 of 21 taken
}

TEST_F(UnknownClients, DevicesHoldingLeasesLeaveTheRestAndTheReserve) {
    devices.add(phone(1), {});
    devices.add(phone(2), {});
    dora(phone(1));
    dora(phone(2));
    EXPECT_EQ(scan(0, 21), 21 - 2 - 2);
    EXPECT_EQ(last_refusal, silence::reserved_for_known);
    devices.add(phone(3), {});
    dora(phone(3));
}

TEST_F(UnknownClients, DevicesWithoutALeaseAreWaitedFor) {
    for (int i = 0; i < 5; ++i) devices.add(phone(i), {});
    EXPECT_EQ(scan(0, 21), 21 - 5);
    for (int i = 0; i < 5; ++i) dora(phone(i));
}

TEST_F(UnknownClients, WaitingDevicesWeighAtMostHalfThePool) {
    for (int i = 0; i < 40; ++i) devices.add(phone(i), {});  // staged, not delivered yet
    EXPECT_EQ(scan(0, 21), 21 - 21 / 2);
}

TEST_F(UnknownClients, TheOperatorsReserveIsKeptWhateverTheInventory) {
    config.known_reserve = 15;
    EXPECT_EQ(scan(0, 21), 6);
    EXPECT_EQ(last_refusal, silence::reserved_for_known);
    config.known_reserve = 0;
    EXPECT_EQ(scan(100, 21), 15);  // without a floor or a waiting device: the whole pool
    EXPECT_EQ(last_refusal, silence::pool_exhausted);
}

TEST_F(UnknownClients, DevicesWithAStaticAddressAreNotWaitedFor) {
    for (int i = 0; i < 5; ++i) devices.add(phone(i), {ipv4_address(10, 77, 0, static_cast<std::uint8_t>(20 + i)), ""});
    EXPECT_EQ(scan(0, 21), 19);
}

TEST_F(UnknownClients, AReservationInsideThePoolIsNotFreeForThem) {
    devices.add(phone(0), {ipv4_address(10, 77, 0, 110), ""});
    EXPECT_EQ(scan(0, 21), 20 - 2);
    EXPECT_EQ(dora(phone(0)), ipv4_address(10, 77, 0, 110));
}

TEST_F(UnknownClients, TheyGetTheShortLeaseAndOfferHold) {
    config.renewal_time = 1000;
    config.rebinding_time = 3000;
    const auto offer = run(discover(stranger(0)));
    ASSERT_TRUE(offer.offer);
    EXPECT_EQ(offer.offer->expires, t0 + 10);
    EXPECT_EQ(as_u32(offer.reply->find(51)->data), 600u);
    EXPECT_EQ(as_u32(offer.reply->find(58)->data), 300u);  // T1 and T2 of the short lease, not the configured ones
    EXPECT_EQ(as_u32(offer.reply->find(59)->data), 525u);
    const auto ack = run(select(offer.reply->yiaddr, stranger(0)));
    EXPECT_EQ(as_u32(ack.reply->find(51)->data), 600u);
    EXPECT_EQ(ack.changes.at(0).value.expires, t0 + 600);
}

TEST_F(UnknownClients, DevicesKeepTheConfiguredLeaseAndOfferHold) {
    config.renewal_time = 1000;
    config.rebinding_time = 3000;
    devices.add(phone(0), {});
    const auto offer = run(discover(phone(0)));
    EXPECT_EQ(offer.offer->expires, t0 + 30);
    EXPECT_EQ(as_u32(offer.reply->find(51)->data), 3600u);
    EXPECT_EQ(as_u32(offer.reply->find(58)->data), 1000u);
    EXPECT_EQ(as_u32(offer.reply->find(59)->data), 3000u);
    EXPECT_EQ(run(select(offer.reply->yiaddr, phone(0))).changes.at(0).value.expires, t0 + 3600);
}

TEST_F(UnknownClients, TheShortTimesNeverExceedTheConfiguredOnes) {
    config.lease_time = 300;
    config.offer_hold = 5;
    const auto offer = run(discover(stranger(0)));
    EXPECT_EQ(offer.offer->expires, t0 + 5);
    EXPECT_EQ(as_u32(offer.reply->find(51)->data), 300u);
}

TEST_F(UnknownClients, ExpiryGivesTheirAddressesBack) {
    EXPECT_EQ(scan(0, 21), 19);
    const std::int64_t later = t0 + 600 + 1;
    EXPECT_EQ(scan(100, 21, later), 19);  // nothing reclaimed yet: a lapsed lease holds nothing
    leases.reclaim(later + 600 + 1);
    EXPECT_EQ(scan(200, 21, later + 600 + 1), 19);
}

TEST_F(UnknownClients, UnansweredOffersLapseAfterTheShortHold) {
    for (int i = 0; i < 19; ++i) ASSERT_TRUE(run(discover(stranger(i))).reply);
    EXPECT_EQ(run(discover(stranger(19)), t0 + 10).why, silence::reserved_for_known);
    EXPECT_TRUE(run(discover(stranger(19)), t0 + 11).reply);
}

TEST_F(UnknownClients, WhatTheyHoldTheyKeep) {
    EXPECT_EQ(scan(0, 21), 19);
    const ipv4_address held = leases.find_by_client(client_key_of(discover(stranger(0)))).at(0)->address;
    message renew = client_message(message_type::request, stranger(0));
    renew.ciaddr = held;
    const auto ack = run(renew, t0 + 300);
    ASSERT_TRUE(ack.reply);
    EXPECT_EQ(ack.reply->type(), message_type::ack);
    EXPECT_EQ(run(discover(stranger(0)), t0 + 301).reply->yiaddr, held);
}

TEST_F(UnknownClients, ARequestWithoutAnOfferCannotTakeTheReserve) {
    EXPECT_EQ(scan(0, 19), 19);
    const ipv4_address free_one(10, 77, 0, 120);
    ASSERT_EQ(leases.find_by_address(free_one), nullptr);
    EXPECT_EQ(run(select(free_one, stranger(50))).reply->type(), message_type::nak);  // SELECTING, no offer
    message rebinding = client_message(message_type::request, stranger(51));
    rebinding.ciaddr = free_one;
    EXPECT_EQ(run(rebinding).reply->type(), message_type::nak);  // "a lease we lost track of"
    EXPECT_EQ(leases.find_by_address(free_one), nullptr);
    devices.add(phone(0), {});
    EXPECT_EQ(run(select(free_one, phone(0))).reply->type(), message_type::ack);
}

TEST_F(UnknownClients, AnOfferAlreadyMadeIsAckedEvenWhenTheReserveIsReachedMeanwhile) {
    for (int i = 0; i < 19; ++i) ASSERT_TRUE(run(discover(stranger(i))).reply);
    for (int i = 0; i < 4; ++i) devices.add(phone(i), {});  // 4 devices waiting: the reserve is past what is free
    EXPECT_EQ(run(select(ipv4_address(10, 77, 0, 100), stranger(0))).reply->type(), message_type::ack);
}

TEST(AddressRange, Parses) {
    auto r = address_range::parse("10.0.0.100-10.0.0.200");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 101u);
    EXPECT_FALSE(address_range::parse("10.0.0.200-10.0.0.100"));
    EXPECT_FALSE(address_range::parse("10.0.0.1"));
}

}  // namespace
}  // namespace provbox::dhcp

namespace provbox::dhcp {
namespace {

// Whatever decodes is handled without throwing: every truncation and every
// single-byte corruption of a real DISCOVER with options.
TEST(LeaseEngineRobustness, TruncatedAndCorruptedDiscoversNeverThrow) {
    message in;
    in.xid = 7;
    in.set_mac(phone_mac);
    in.set_type(message_type::discover);
    in.set_option(option_code::parameter_request_list, {1, 3, 6, 66, 67, 150});
    in.set_option(option_code::client_identifier, {1, 0, 0x21, 0xf2, 1, 0x1b, 0x19});
    in.set_option(option_code::max_message_size, from_u16(1500));
    const auto wire = encode(in);
    engine_config config = one_subnet();
    known_devices devices;
    memory_leases leases;
    auto feed = [&](std::span<const std::uint8_t> datagram) {
        auto decoded = decode(datagram);
        if (!decoded) return;
        EXPECT_NO_THROW(handle_and_apply(decoded.msg, {server_address, t0}, leases, devices, config));
    };
    for (std::size_t n = 0; n <= wire.size(); ++n) feed(std::span(wire.data(), n));
    for (std::size_t at = 0; at < wire.size(); ++at) {
        auto corrupt = wire;
        corrupt[at] ^= 0xff;
        feed(corrupt);
    }
    EXPECT_LE(leases.size(), 4u);  // never more than the pool
}

}  // namespace
}  // namespace provbox::dhcp
