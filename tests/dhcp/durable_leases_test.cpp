// Leases in SQLite: what the engine commits survives a restart, is on disk
// only after flush(), follows changes the CLI makes, and expires.
#include "dhcp/durable_leases.hpp"

#include <gtest/gtest.h>

#include "store/inventory.hpp"
#include "store/leases.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::dhcp {
namespace {

constexpr mac_address phone_mac{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19};
const ipv4_address server_address(10, 77, 0, 1);
const std::int64_t t0 = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();

engine_config lab() {
    engine_config c;
    subnet_config s;
    s.network = ipv4_address(10, 77, 0, 0);
    s.pools = {{ipv4_address(10, 77, 0, 100), ipv4_address(10, 77, 0, 199)}};
    c.subnets.push_back(s);
    return c;
}

message from_phone(message_type type) {
    message m;
    m.xid = 42;
    m.set_mac(phone_mac);
    m.set_type(type);
    return m;
}

class DurableLeases : public ::testing::Test {
protected:
    ipv4_address bind_phone(durable_leases& leases, std::int64_t at = t0) {
        auto offer = handle_and_apply(from_phone(message_type::discover), {server_address, at}, leases, devices, config);
        message req = from_phone(message_type::request);
        req.set_option(option_code::server_identifier, from_ipv4(server_address));
        req.set_option(option_code::requested_address, from_ipv4(offer.reply->yiaddr));
        auto ack = handle_and_apply(req, {server_address, at}, leases, devices, config);
        EXPECT_EQ(ack.reply->type(), message_type::ack);
        leases.flush();
        return ack.reply->yiaddr;
    }

    store::test_support::temp_folder folder;
    std::string path = folder.file("provbox.db");
    engine_config config = lab();
    known_devices devices;
};

TEST_F(DurableLeases, LeaseSurvivesARestartAndTheClientGetsItBack) {
    ipv4_address first;
    {
        durable_leases leases(path);
        first = bind_phone(leases);
    }
    durable_leases again(path);
    ASSERT_NE(again.find_by_address(first), nullptr);
    EXPECT_EQ(again.find_by_address(first)->status, lease_status::bound);
    auto offer = handle_and_apply(from_phone(message_type::discover), {server_address, t0 + 5}, again, devices, config);
    EXPECT_EQ(offer.reply->yiaddr, first);
}

TEST_F(DurableLeases, OffersAreNotWritten) {
    durable_leases leases(path);
    handle_and_apply(from_phone(message_type::discover), {server_address, t0}, leases, devices, config);
    EXPECT_EQ(leases.pending(), 0u);
    leases.flush();
    store::database other(path);
    EXPECT_TRUE(store::list_leases(other).empty());
}

TEST_F(DurableLeases, CommitReachesTheDiskAtFlush) {
    durable_leases leases(path);
    handle_and_apply(from_phone(message_type::discover), {server_address, t0}, leases, devices, config);
    message req = from_phone(message_type::request);
    req.set_option(option_code::server_identifier, from_ipv4(server_address));
    req.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 100)));
    handle_and_apply(req, {server_address, t0}, leases, devices, config);
    store::database other(path);
    EXPECT_TRUE(store::list_leases(other).empty());
    EXPECT_EQ(leases.pending(), 1u);
    leases.flush();
    const auto rows = store::list_leases(other);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(store::format_ipv4(rows[0].address), "10.77.0.100");
    EXPECT_EQ(rows[0].mac, "00:21:f2:01:1b:19");
    EXPECT_EQ(rows[0].state, "bound");
    EXPECT_EQ(rows[0].expires_at, t0 + 3600);
}

TEST_F(DurableLeases, CommitsAreSynchronousFull) {
    store::lease_table table(path);
    auto s = table.db().prepare("PRAGMA synchronous");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.integer(0), 2);  // FULL: the WAL is fsynced at every commit
}

TEST_F(DurableLeases, ReleaseFromAnotherConnectionIsSeen) {
    durable_leases leases(path);
    const ipv4_address a = bind_phone(leases);
    {
        store::database cli(path);
        EXPECT_TRUE(store::release_lease(cli, a.to_uint(), t0 + 1));
        EXPECT_FALSE(store::release_lease(cli, a.to_uint(), t0 + 1));  // not bound any more
    }
    leases.refresh_if_changed();
    EXPECT_EQ(leases.find_by_address(a)->status, lease_status::released);
}

TEST_F(DurableLeases, ExpiredLeasesAreReclaimedOnDisk) {
    durable_leases leases(path);
    const ipv4_address a = bind_phone(leases, t0 - 7200);
    EXPECT_EQ(leases.reclaim(t0), 1u);
    leases.flush();
    store::database other(path);
    EXPECT_EQ(store::list_leases(other).at(0).state, "expired");
    EXPECT_EQ(leases.find_by_address(a)->status, lease_status::expired);
}

TEST_F(DurableLeases, DeclineIsKeptForItsHoldThenForgotten) {
    durable_leases leases(path);
    const ipv4_address a = bind_phone(leases, t0 - 7200);
    message dec = from_phone(message_type::decline);
    dec.set_option(option_code::requested_address, from_ipv4(a));
    handle_and_apply(dec, {server_address, t0 - 7200}, leases, devices, config);
    leases.flush();
    store::database other(path);
    EXPECT_EQ(store::list_leases(other).at(0).state, "declined");
    leases.reclaim(t0);  // the hold (3600 s) ended
    leases.flush();
    EXPECT_TRUE(store::list_leases(other).empty());
    EXPECT_EQ(leases.find_by_address(a), nullptr);
}

TEST_F(DurableLeases, LeasedMacFindsTheBoundHolder) {
    durable_leases leases(path);
    const ipv4_address a = bind_phone(leases);
    store::database other(path);
    EXPECT_EQ(store::leased_mac(other, a.to_string(), t0), "00:21:f2:01:1b:19");
    EXPECT_EQ(store::leased_mac(other, a.to_string(), t0 + 3601), std::nullopt);  // expired
    EXPECT_EQ(store::leased_mac(other, "10.77.0.250", t0), std::nullopt);
    EXPECT_EQ(store::leased_mac(other, "not an address", t0), std::nullopt);
}

TEST_F(DurableLeases, ClientHoldsOneAddressPerSubnetAndItsOldRowIsKept) {
    durable_leases leases(path);
    bind_phone(leases);
    // The phone takes .150 instead (a REQUEST for it while it is free): .100
    // is released, not deleted, so the phone still gets it back first.
    message req = from_phone(message_type::request);
    req.set_option(option_code::server_identifier, from_ipv4(server_address));
    req.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 77, 0, 150)));
    EXPECT_EQ(handle_and_apply(req, {server_address, t0}, leases, devices, config).reply->type(), message_type::ack);
    leases.flush();
    store::database other(path);
    const auto rows = store::list_leases(other);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(store::format_ipv4(rows[0].address), "10.77.0.100");
    EXPECT_EQ(rows[0].state, "released");
    EXPECT_EQ(store::format_ipv4(rows[1].address), "10.77.0.150");
    EXPECT_EQ(rows[1].state, "bound");
}

// Finding 7 of issue 12, step by step without sockets: phone A leased
// 10.90.0.100; the link was renumbered to 10.85.0.10/24 and served from
// 10.85.0.100-10.85.0.110 (A got .100, phone B .101); after a second restart
// a third MAC was offered and ACKed 10.85.0.100 and A's row was gone.
class Renumbering : public DurableLeases {
protected:
    static engine_config link(ipv4_address network, ipv4_address first, ipv4_address last) {
        engine_config c;
        subnet_config s;
        s.network = network;
        s.pools = {{first, last}};
        c.subnets.push_back(s);
        return c;
    }
    // One restart: a fresh durable_leases over the same file.
    static ipv4_address dora(durable_leases& leases, const mac_address& mac, ipv4_address server,
                             const engine_config& config, std::int64_t at) {
        const known_devices nobody;
        message d = from_phone(message_type::discover);
        d.set_mac(mac);
        const auto offer = handle_and_apply(d, {server, at}, leases, nobody, config);
        EXPECT_TRUE(offer.reply);
        if (!offer.reply) return {};
        message r = from_phone(message_type::request);
        r.set_mac(mac);
        r.set_option(option_code::server_identifier, from_ipv4(server));
        r.set_option(option_code::requested_address, from_ipv4(offer.reply->yiaddr));
        const auto ack = handle_and_apply(r, {server, at}, leases, nobody, config);
        EXPECT_EQ(ack.reply->type(), message_type::ack);
        leases.flush();
        return ack.reply->yiaddr;
    }
    std::vector<std::pair<std::string, std::string>> rows() {
        store::database other(path);
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& r : store::list_leases(other)) {
            out.emplace_back(store::format_ipv4(r.address), r.mac + " " + r.state);
        }
        return out;
    }

    static constexpr mac_address phone_a{0x00, 0x21, 0xf2, 0x00, 0x00, 0x0a};
    static constexpr mac_address phone_b{0x00, 0x21, 0xf2, 0x00, 0x00, 0x0b};
    static constexpr mac_address third{0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};
    const ipv4_address old_server{10, 90, 0, 1};
    const ipv4_address new_server{10, 85, 0, 10};
    const engine_config before = link({10, 90, 0, 0}, {10, 90, 0, 100}, {10, 90, 0, 110});
    const engine_config after = link({10, 85, 0, 0}, {10, 85, 0, 100}, {10, 85, 0, 110});
};

TEST_F(Renumbering, ALeaseIsNeitherLostNorDoubledAcrossRestarts) {
    {
        durable_leases leases(path);
        EXPECT_EQ(dora(leases, phone_a, old_server, before, t0), ipv4_address(10, 90, 0, 100));
    }
    {
        durable_leases leases(path);  // renumbered, restarted
        EXPECT_EQ(dora(leases, phone_a, new_server, after, t0 + 60), ipv4_address(10, 85, 0, 100));
        EXPECT_EQ(dora(leases, phone_b, new_server, after, t0 + 61), ipv4_address(10, 85, 0, 101));
    }
    const std::vector<std::pair<std::string, std::string>> expected{
        {"10.85.0.100", "00:21:f2:00:00:0a bound"},
        {"10.85.0.101", "00:21:f2:00:00:0b bound"},
        {"10.90.0.100", "00:21:f2:00:00:0a bound"},  // kept: outside today's ranges, not deleted
    };
    EXPECT_EQ(rows(), expected);
    {
        durable_leases leases(path);  // restarted again, same flags
        ASSERT_NE(leases.find_by_address(ipv4_address(10, 85, 0, 100)), nullptr);
        EXPECT_EQ(leases.find_by_address(ipv4_address(10, 85, 0, 100))->mac, phone_a);
        const ipv4_address c = dora(leases, third, new_server, after, t0 + 120);
        EXPECT_EQ(c, ipv4_address(10, 85, 0, 102));
        // A and B still get their own.
        EXPECT_EQ(dora(leases, phone_a, new_server, after, t0 + 121), ipv4_address(10, 85, 0, 100));
        EXPECT_EQ(dora(leases, phone_b, new_server, after, t0 + 122), ipv4_address(10, 85, 0, 101));
    }
    const std::vector<std::pair<std::string, std::string>> final_rows{
        {"10.85.0.100", "00:21:f2:00:00:0a bound"},
        {"10.85.0.101", "00:21:f2:00:00:0b bound"},
        {"10.85.0.102", "02:00:00:00:00:0c bound"},
        {"10.90.0.100", "00:21:f2:00:00:0a bound"},
    };
    EXPECT_EQ(rows(), final_rows);
}

TEST_F(Renumbering, TheThirdClientCannotTakeALeaseByRequestingIt) {
    {
        durable_leases leases(path);
        dora(leases, phone_a, old_server, before, t0);
    }
    {
        durable_leases leases(path);
        dora(leases, phone_a, new_server, after, t0 + 60);
    }
    durable_leases leases(path);
    const known_devices nobody;
    message r = from_phone(message_type::request);
    r.set_mac(third);
    r.set_option(option_code::server_identifier, from_ipv4(new_server));
    r.set_option(option_code::requested_address, from_ipv4(ipv4_address(10, 85, 0, 100)));
    EXPECT_EQ(handle_and_apply(r, {new_server, t0 + 120}, leases, nobody, after).reply->type(), message_type::nak);
    EXPECT_EQ(leases.pending(), 0u);
}

TEST_F(Renumbering, BackOnTheOldNumbersThePhoneGetsItsOldAddress) {
    {
        durable_leases leases(path);
        dora(leases, phone_a, old_server, before, t0);
    }
    {
        durable_leases leases(path);
        dora(leases, phone_a, new_server, after, t0 + 60);
    }
    durable_leases leases(path);
    EXPECT_EQ(dora(leases, phone_a, old_server, before, t0 + 120), ipv4_address(10, 90, 0, 100));
}

TEST_F(Renumbering, ATableWithAClientsTwoRowsLoadsBothWhateverTheOrder) {
    // What the old code left: A at .100 under both numberings. Loading used
    // to keep only the row read last (by address: 10.90.0.100).
    {
        durable_leases leases(path);
        dora(leases, phone_a, new_server, after, t0);
        dora(leases, phone_a, old_server, before, t0);
    }
    durable_leases leases(path);
    EXPECT_EQ(leases.size(), 2u);
    message from_a = from_phone(message_type::discover);
    from_a.set_mac(phone_a);
    EXPECT_EQ(leases.find_by_client(client_key_of(from_a)).size(), 2u);
    ASSERT_NE(leases.find_by_address(ipv4_address(10, 85, 0, 100)), nullptr);
    EXPECT_EQ(leases.find_by_address(ipv4_address(10, 85, 0, 100))->mac, phone_a);
}

TEST(Ipv4Text, RoundTrips) {
    EXPECT_EQ(store::format_ipv4(0x0a4d0064), "10.77.0.100");
    EXPECT_EQ(store::parse_ipv4("10.77.0.100"), 0x0a4d0064u);
    EXPECT_EQ(store::parse_ipv4("10.77.0"), std::nullopt);
}

}  // namespace
}  // namespace provbox::dhcp
