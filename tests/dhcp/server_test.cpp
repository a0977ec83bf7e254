// The Asio server in process, on loopback: a "relay" at 127.0.0.2 sends
// relayed messages to the server at 127.0.0.1 (unprivileged ports), as
// perfdhcp and real relays do. Proves the batch/commit/send order (a lease
// is on disk when its ACK arrives), relay delivery and the counters.
#include "dhcp/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "store/leases.hpp"
#include "tests/store/temp_database.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace provbox::dhcp {
namespace {

namespace net = boost::asio;
using udp = net::ip::udp;
using namespace net::experimental::awaitable_operators;

constexpr mac_address phone_mac{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19};

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        server_socket.emplace(open_server_socket(io.get_executor(), "", 0, "127.0.0.1"));
        relay.open(udp::v4());
        relay.bind(udp::endpoint(net::ip::make_address_v4("127.0.0.2"), 0));
        options.interface_address = ipv4_address(127, 0, 0, 1);
        options.relay_port = relay.local_endpoint().port();
        options.commit_interval = std::chrono::microseconds(0);
        subnet_config s;
        s.network = ipv4_address(127, 0, 0, 0);
        s.prefix_length = 8;
        s.pools = {{ipv4_address(127, 0, 1, 0), ipv4_address(127, 0, 1, 255)}};
        options.engine.subnets = {s};
        leases = std::make_unique<durable_leases>(path);
        net::co_spawn(io, run_server(*server_socket, *leases, nullptr, options, stats), net::detached);
    }

    message relayed(message_type type) {
        message m;
        m.xid = 0x1234;
        m.set_mac(phone_mac);
        m.set_type(type);
        m.giaddr = ipv4_address(127, 0, 0, 2);
        m.hops = 1;
        return m;
    }

    // Sends `datagram` to the server and returns the first reply the relay
    // gets within a second (nullopt if none).
    std::optional<message> exchange(const std::vector<std::uint8_t>& datagram) {
        std::optional<message> got;
        net::co_spawn(
            io,
            [&]() -> net::awaitable<void> {
                co_await relay.async_send_to(net::buffer(datagram), server_socket->local_endpoint(),
                                             net::use_awaitable);
                std::array<std::uint8_t, 2048> buffer{};
                udp::endpoint from;
                net::steady_timer deadline(io, std::chrono::seconds(1));
                auto result = co_await (relay.async_receive_from(net::buffer(buffer), from,
                                                                 net::as_tuple(net::use_awaitable)) ||
                                        deadline.async_wait(net::as_tuple(net::use_awaitable)));
                if (result.index() == 0) {
                    auto [ec, n] = std::get<0>(result);
                    if (!ec) {
                        auto decoded = decode(std::span(buffer.data(), n));
                        if (decoded) got = decoded.msg;
                        // What the relay sees must already be on disk.
                        if (got && got->type() == message_type::ack) {
                            store::database other(path);
                            on_disk_at_ack = store::list_leases(other).size();
                        }
                    }
                }
                io.stop();  // done: no need to wait out run_for
            },
            net::detached);
        io.run_for(std::chrono::milliseconds(1500));
        io.restart();
        return got;
    }

    store::test_support::temp_folder folder;
    std::string path = folder.file("provbox.db");
    net::io_context io{1};
    std::optional<udp::socket> server_socket;
    udp::socket relay{io};
    server_options options;
    server_stats stats;
    std::unique_ptr<durable_leases> leases;
    std::size_t on_disk_at_ack = 0;
};

TEST_F(ServerTest, RelayedDoraIsAnsweredToTheRelayAndTheLeaseIsOnDiskAtTheAck) {
    const auto offer = exchange(encode(relayed(message_type::discover)));
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->type(), message_type::offer);
    EXPECT_EQ(offer->yiaddr, ipv4_address(127, 0, 1, 0));
    EXPECT_EQ(offer->giaddr, ipv4_address(127, 0, 0, 2));

    message request = relayed(message_type::request);
    request.set_option(option_code::server_identifier, from_ipv4(ipv4_address(127, 0, 0, 1)));
    request.set_option(option_code::requested_address, from_ipv4(offer->yiaddr));
    const auto ack = exchange(encode(request));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), message_type::ack);
    EXPECT_EQ(on_disk_at_ack, 1u);
    EXPECT_EQ(stats.offers, 1u);
    EXPECT_EQ(stats.acks, 1u);
    EXPECT_EQ(stats.via_relay, 2u);
    EXPECT_GE(stats.commits, 1u);
}

TEST_F(ServerTest, MalformedDatagramsAreDroppedAndCounted) {
    EXPECT_FALSE(exchange({1, 2, 3}));
    std::vector<std::uint8_t> no_cookie(300, 0);
    no_cookie[0] = 1;
    EXPECT_FALSE(exchange(no_cookie));
    EXPECT_EQ(stats.malformed, 2u);
    // And the server still answers.
    EXPECT_TRUE(exchange(encode(relayed(message_type::discover))));
}

TEST_F(ServerTest, AClientOutsideTheInventoryFindingOnlyTheReserveIsCounted) {
    options.engine.known_reserve = 256;  // the whole pool kept for devices (no inventory here: all are outside)
    EXPECT_FALSE(exchange(encode(relayed(message_type::discover))));
    EXPECT_EQ(stats.silent, 1u);
    EXPECT_EQ(stats.reserved_for_known, 1u);
    EXPECT_EQ(stats.offers, 0u);
}

}  // namespace
}  // namespace provbox::dhcp
