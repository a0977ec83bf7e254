#pragma once
// The DHCPv4 server: one UDP socket on port 67 bound to one interface, a
// coroutine on the daemon's io_context. It carries out what the lease engine
// (lease_engine.hpp) decides; the leases live in durable_leases.
//
// Datagrams are handled in batches: whatever is queued on the socket (up
// to max_batch) goes through the engine; replies that change no lease
// (OFFER, NAK, INFORM's ACK) go at once, the batch's lease changes are
// committed in one SQLite transaction (one fsync), and only then do the
// ACKs go. Malformed datagrams are dropped and counted.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dhcp/durable_leases.hpp"
#include "dhcp/lease_engine.hpp"
#include "store/inventory.hpp"

namespace provbox::dhcp {

struct server_options {
    std::string interface;          // SO_BINDTODEVICE and ARP priming; "" = none (tests)
    ipv4_address interface_address; // ours on that interface: server identifier, default option 66
    engine_config engine;
    std::size_t max_batch = 64;     // datagrams per engine pass and commit
    std::chrono::seconds reclaim_interval{60};
    // Commits (each one fsync) start at least this far apart, each taking
    // every change that piled up: at most 200 fsyncs a second however many
    // ACKs, for at most 5 ms more before an ACK leaves. On the benchmark VM
    // this cut the server's CPU per DORA by half against 0 (commit as soon
    // as the previous commit ended), where fsyncs and thread switches
    // dominated. See docs/benchmarks.md.
    std::chrono::microseconds commit_interval{5000};
    // Ports, replaceable for unprivileged in-process tests only.
    std::uint16_t relay_port = server_port;   // where relayed replies go (RFC 2131 §4.1: 67)
    std::uint16_t client_port = dhcp::client_port;
};

// Counters for logs and /metrics; read them on the server's executor.
struct server_stats {
    std::uint64_t received = 0;   // datagrams read
    std::uint64_t malformed = 0;  // did not decode (dropped)
    std::uint64_t silent = 0;     // decoded, no reply (see silence in lease_engine.hpp)
    std::uint64_t unknown_clients = 0;  // of those: known-only refusals
    std::uint64_t reserved_for_known = 0;  // of those: DISCOVERs outside the inventory, the rest kept for devices
    std::uint64_t offers = 0, acks = 0, naks = 0, informs = 0;  // replies sent
    std::uint64_t releases = 0, declines = 0;
    std::uint64_t via_relay = 0, via_client = 0, via_broadcast = 0, via_arp = 0;
    std::uint64_t arp_failures = 0;  // unicast impossible, broadcast instead
    std::uint64_t send_errors = 0;
    std::uint64_t commits = 0;           // transactions (batches with lease changes)
    std::uint64_t commit_failures = 0;   // their replies were not sent
    std::uint64_t batches = 0;
    // The server's coroutines (receive loop, committer, reclaim timer) still
    // running, with the lease writer's thread: a stop waits for 0, so lease
    // changes taken in are on disk and the writer has joined.
    std::uint64_t running = 0;
};

// Opens the server socket: SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE
// (when `interface` is set) and bound to 0.0.0.0:port (or `address`).
// Throws boost::system::system_error with the reason.
boost::asio::ip::udp::socket open_server_socket(const boost::asio::any_io_executor& executor,
                                                const std::string& interface, std::uint16_t port = server_port,
                                                const std::string& address = "0.0.0.0");

// The first IPv4 address of an interface and its prefix length; nullopt if it
// has none.
struct interface_address {
    ipv4_address address;
    std::uint8_t prefix_length = 0;
};
std::optional<interface_address> find_interface_address(const std::string& interface);

// The simple case (`serve --dhcp IF --dhcp-range FIRST-LAST`): serve IF's own
// subnet (its first IPv4 address and prefix) from `pools`, with this server
// as the server identifier and option 66; no router, DNS or domain until
// configured. Throws std::runtime_error when IF has no IPv4 address or a
// pool is not inside its subnet.
server_options options_for_interface(const std::string& interface, std::vector<address_range> pools);

// The inventory as the engine sees it: enabled devices' MACs, static
// addresses (reservations) and their model's Config File Name (option 67).
known_devices devices_from_inventory(store::inventory& inventory);

// Serves until `socket` is closed. `inventory` may be null (no devices
// known: known-only then answers nobody); when set, its revision is checked
// once per batch and the devices reloaded when it moved.
boost::asio::awaitable<void> run_server(boost::asio::ip::udp::socket& socket, durable_leases& leases,
                                        store::inventory* inventory, const server_options& options,
                                        server_stats& stats);

}  // namespace provbox::dhcp
