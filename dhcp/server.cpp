// The DHCPv4 server: read a batch, run the engine, commit, send.
#include "dhcp/server.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <spdlog/spdlog.h>
#include <vector>

// g++ 12 reports a false -Wmismatched-new-delete when it inlines the ramp of
// an Asio coroutine into its caller (see tftp/server.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace provbox::dhcp {
namespace net = boost::asio;
using udp = net::ip::udp;

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A datagram larger than any BOOTP message a client sends; what is larger is
// cut and may still decode (the options area is lenient about truncation).
constexpr std::size_t receive_buffer_size = 4096;

sockaddr_in to_sockaddr(ipv4_address address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(address.to_uint());
    return sa;
}

// What dnsmasq does to reach a client that has no address yet: tell the
// kernel yiaddr is at chaddr (needs CAP_NET_ADMIN), so a plain sendto goes
// out as a unicast frame without an ARP request the client could not answer.
bool prime_arp(int fd, const std::string& interface, ipv4_address address, const mac_address& mac) {
    if (interface.empty() || interface.size() >= sizeof(arpreq{}.arp_dev)) return false;
    arpreq req{};
    const sockaddr_in pa = to_sockaddr(address, 0);
    std::memcpy(&req.arp_pa, &pa, sizeof pa);
    req.arp_ha.sa_family = ARPHRD_ETHER;
    std::memcpy(req.arp_ha.sa_data, mac.data(), mac.size());
    req.arp_flags = ATF_COM;
    std::memcpy(req.arp_dev, interface.data(), interface.size());
    return ::ioctl(fd, SIOCSARP, &req) == 0;
}

struct outgoing {
    std::vector<std::uint8_t> bytes;
    destination to;
    message_type type = message_type::offer;
    std::string client;  // "mac xid" for the log
};

void count_reply(server_stats& stats, message_type type) {
    switch (type) {
        case message_type::offer: ++stats.offers; break;
        case message_type::ack: ++stats.acks; break;
        case message_type::nak: ++stats.naks; break;
        default: break;
    }
}

enum class send_result { sent, failed, would_block };

send_result send_reply(int fd, const server_options& options, server_stats& stats, const outgoing& out) {
    destination to = out.to;
    std::uint16_t port = options.client_port;
    std::uint64_t* via = &stats.via_broadcast;
    switch (to.how) {
        case delivery::relay:
            port = options.relay_port;
            via = &stats.via_relay;
            break;
        case delivery::client: via = &stats.via_client; break;
        case delivery::broadcast: break;
        case delivery::hardware:
            if (prime_arp(fd, options.interface, to.address, to.mac)) {
                via = &stats.via_arp;
            } else {
                // RFC 2131 §4.1: a server that cannot unicast to an
                // address-less client broadcasts.
                ++stats.arp_failures;
                to.address = ipv4_address(255, 255, 255, 255);
            }
            break;
    }
    const sockaddr_in sa = to_sockaddr(to.address, port);
    const auto n = ::sendto(fd, out.bytes.data(), out.bytes.size(), MSG_DONTWAIT,
                            reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return send_result::would_block;
        ++stats.send_errors;
        spdlog::debug("dhcp: {} {} to {}:{} failed: {}", out.client, to_string(out.type), to.address.to_string(),
                      port, std::strerror(errno));
        return send_result::failed;
    }
    ++*via;
    count_reply(stats, out.type);
    return send_result::sent;
}

// Sends every reply; a full socket buffer (a burst of ACKs after a commit)
// is waited out, not dropped.
net::awaitable<void> send_all(udp::socket& socket, const server_options& options, server_stats& stats,
                              std::span<const outgoing> replies) {
    for (const auto& out : replies) {
        while (send_reply(socket.native_handle(), options, stats, out) == send_result::would_block) {
            auto [ec] = co_await socket.async_wait(udp::socket::wait_write, net::as_tuple(net::use_awaitable));
            if (ec) co_return;  // closed
        }
    }
}

std::string describe_client(const message& m) {
    char xid[16];
    std::snprintf(xid, sizeof xid, "%08x", m.xid);
    const auto mac = m.mac();
    return (mac ? to_string(*mac) : std::string("?")) + " xid " + xid;
}

// What the receive loop, the committer and the reclaim timer share. Owned
// jointly: whichever coroutine ends last frees it.
struct shared_state {
    shared_state(const net::any_io_executor& executor, server_stats& s)
        : wake(executor), pause(executor), reclaim_timer(executor), stats(s) {
        ++stats.running;
    }
    net::steady_timer wake;           // the committer sleeps on it; cancel() wakes it
    net::steady_timer pause;          // spaces commits commit_interval apart
    net::steady_timer reclaim_timer;
    net::thread_pool writer{1};       // where commits wait for their fsync
    std::vector<outgoing> waiting;    // ACKs whose lease changes are not on disk yet
    bool committing = false;          // the writer holds the lease table's connection
    bool stopping = false;
    server_stats& stats;
    ~shared_state() {
        writer.join();
        --stats.running;
    }
};

// Group commit: whatever lease changes and ACKs piled up while the last
// commit was in flight go to disk in one transaction on the writer thread,
// then those ACKs are sent. The receive loop never waits for an fsync.
net::awaitable<void> commit_loop(std::shared_ptr<shared_state> state, durable_leases& leases,
                                 const server_options& options, server_stats& stats, udp::socket& socket) {
    auto last_commit = std::chrono::steady_clock::time_point{};
    for (;;) {
        if (leases.pending() == 0 && state->waiting.empty()) {
            if (state->stopping) co_return;
            state->wake.expires_at(net::steady_timer::time_point::max());
            co_await state->wake.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        // At most one commit per commit_interval (5 ms by default): each
        // fsync then carries every ACK of those milliseconds; when an fsync
        // itself takes longer, nothing waits here.
        if (const auto due = last_commit + options.commit_interval;
            options.commit_interval.count() > 0 && std::chrono::steady_clock::now() < due) {
            state->pause.expires_at(due);
            co_await state->pause.async_wait(net::as_tuple(net::use_awaitable));
        }
        last_commit = std::chrono::steady_clock::now();
        auto writes = leases.take_pending();
        std::vector<outgoing> acks;
        acks.swap(state->waiting);
        bool written = true;
        if (!writes.empty()) {
            state->committing = true;
            try {
                co_await net::co_spawn(
                    state->writer,
                    [&]() -> net::awaitable<void> {
                        leases.write(writes);
                        co_return;
                    },
                    net::use_awaitable);
                ++stats.commits;
            } catch (const std::exception& e) {
                written = false;
                ++stats.commit_failures;
                spdlog::error("dhcp: committing {} lease change(s) failed, {} ACK(s) not sent: {}", writes.size(),
                              acks.size() + state->waiting.size(), e.what());
            }
            state->committing = false;
        }
        if (!written) {
            // Memory ran ahead of the table: start again from what is on
            // disk, and send none of the ACKs that depended on the rest.
            state->waiting.clear();
            try {
                leases.reload();
            } catch (const std::exception& e) {
                spdlog::error("dhcp: reloading leases failed: {}", e.what());
            }
            continue;
        }
        co_await send_all(socket, options, stats, acks);
    }
}

net::awaitable<void> reclaim_loop(std::shared_ptr<shared_state> state, durable_leases& leases,
                                  std::chrono::seconds interval) {
    for (;;) {
        state->reclaim_timer.expires_after(interval);
        auto [ec] = co_await state->reclaim_timer.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || state->stopping) co_return;
        if (const auto n = leases.reclaim(unix_now()); n > 0) {
            spdlog::info("dhcp: reclaimed {} expired lease(s) and decline hold(s)", n);
            state->wake.cancel();  // the committer writes them
        }
    }
}

}  // namespace

udp::socket open_server_socket(const net::any_io_executor& executor, const std::string& interface, std::uint16_t port,
                               const std::string& address) {
    udp::socket socket(executor);
    socket.open(udp::v4());
    socket.set_option(udp::socket::reuse_address(true));
    socket.set_option(net::socket_base::broadcast(true));
    if (!interface.empty()) {
        if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                         static_cast<socklen_t>(interface.size())) != 0) {
            throw boost::system::system_error(errno, boost::system::system_category(),
                                              "SO_BINDTODEVICE " + interface);
        }
    }
    // Room for the datagrams that arrive while a batch's commit waits for
    // its fsync (best effort: capped by net.core.rmem_max).
    boost::system::error_code ignored;
    socket.set_option(net::socket_base::receive_buffer_size(1 << 20), ignored);
    socket.set_option(net::socket_base::send_buffer_size(1 << 20), ignored);
    socket.bind(udp::endpoint(net::ip::make_address_v4(address), port));
    socket.non_blocking(true);
    return socket;
}

std::optional<interface_address> find_interface_address(const std::string& interface) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return std::nullopt;
    std::optional<interface_address> found;
    for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || interface != i->ifa_name) continue;
        const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        const auto* m = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
        interface_address out;
        out.address = ipv4_address(ntohl(a->sin_addr.s_addr));
        out.prefix_length = m ? static_cast<std::uint8_t>(__builtin_popcount(m->sin_addr.s_addr)) : 32;
        found = out;
    }
    ::freeifaddrs(list);
    return found;
}

server_options options_for_interface(const std::string& interface, std::vector<address_range> pools) {
    const auto here = find_interface_address(interface);
    if (!here) throw std::runtime_error("dhcp: interface " + interface + " has no IPv4 address");
    server_options options;
    options.interface = interface;
    options.interface_address = here->address;
    subnet_config subnet;
    subnet.network = here->address;
    subnet.prefix_length = here->prefix_length;
    for (const auto& p : pools) {
        if (!subnet.contains(p.first) || !subnet.contains(p.last)) {
            throw std::runtime_error("dhcp: range " + p.first.to_string() + "-" + p.last.to_string() +
                                     " is not inside " + interface + "'s subnet " + here->address.to_string() + "/" +
                                     std::to_string(here->prefix_length));
        }
    }
    subnet.pools = std::move(pools);
    options.engine.subnets = {std::move(subnet)};
    return options;
}

known_devices devices_from_inventory(store::inventory& inventory) {
    known_devices out;
    std::map<std::string, std::string> config_files;
    for (const auto& m : inventory.list_models()) config_files[m.name] = m.config_file;
    for (const auto& d : inventory.list_devices()) {
        if (!d.enabled) continue;
        known_device k;
        if (auto a = ipv4_address::parse(d.static_ip)) k.static_address = *a;
        if (auto f = config_files.find(d.model); f != config_files.end()) k.boot_file = f->second;
        out.add(d.mac.bytes(), std::move(k));
    }
    return out;
}

net::awaitable<void> run_server(udp::socket& socket, durable_leases& leases, store::inventory* inventory,
                                const server_options& options, server_stats& stats) {
    const int fd = socket.native_handle();
    known_devices devices;
    std::uint64_t seen_revision = ~std::uint64_t{0};
    auto next_check = std::chrono::steady_clock::time_point{};

    auto state = std::make_shared<shared_state>(socket.get_executor(), stats);
    auto log_error = [](const char* what) {
        return [what](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("dhcp: {} stopped: {}", what, ex.what());
            }
        };
    };
    net::co_spawn(socket.get_executor(), commit_loop(state, leases, options, stats, socket), log_error("committer"));
    net::co_spawn(socket.get_executor(), reclaim_loop(state, leases, options.reclaim_interval), log_error("reclaim"));
    // However this coroutine ends, the committer sends what is committed and
    // stops, and the reclaim timer stops.
    struct stop_helpers {
        std::shared_ptr<shared_state> state;
        ~stop_helpers() {
            state->stopping = true;
            state->wake.cancel();
            state->pause.cancel();
            state->reclaim_timer.cancel();
        }
    } stopper{state};

    std::vector<std::array<std::uint8_t, receive_buffer_size>> buffers(std::max<std::size_t>(options.max_batch, 1));
    std::vector<std::size_t> sizes(buffers.size());
    std::vector<outgoing> immediate;

    for (;;) {
        auto [wait_error] = co_await socket.async_wait(udp::socket::wait_read, net::as_tuple(net::use_awaitable));
        if (wait_error || !socket.is_open()) co_return;

        // Drain what is queued, up to a batch.
        std::size_t count = 0;
        while (count < buffers.size()) {
            const auto n = ::recv(fd, buffers[count].data(), buffers[count].size(), MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;  // EAGAIN: drained; anything else (ICMP errors) is not fatal either
            }
            sizes[count++] = static_cast<std::size_t>(n);
        }
        if (count == 0) continue;
        ++stats.batches;
        stats.received += count;

        // What the CLI changed (a released lease, a new device) is seen
        // within a second; checking every batch would cost a query each.
        const auto now_steady = std::chrono::steady_clock::now();
        if (now_steady >= next_check) {
            next_check = now_steady + std::chrono::seconds(1);
            try {
                if (!state->committing && leases.pending() == 0 && state->waiting.empty()) {
                    leases.refresh_if_changed();
                }
                if (inventory != nullptr) {
                    const auto revision = inventory->revision();
                    if (revision != seen_revision) {
                        devices = devices_from_inventory(*inventory);
                        seen_revision = revision;
                    }
                }
            } catch (const std::exception& e) {
                spdlog::error("dhcp: reading the inventory failed: {}", e.what());
            }
        }

        const receive_context context{options.interface_address, unix_now()};
        const bool debug = spdlog::should_log(spdlog::level::debug);
        for (std::size_t i = 0; i < count; ++i) {
            auto decoded = decode(std::span(buffers[i].data(), sizes[i]));
            if (!decoded) {
                ++stats.malformed;
                continue;
            }
            const message& in = decoded.msg;
            const auto type = in.type();
            const auto result = handle_and_apply(in, context, leases, devices, options.engine);
            if (type == message_type::release && !result.changes.empty()) ++stats.releases;
            if (type == message_type::decline && !result.changes.empty()) ++stats.declines;
            if (!result.reply) {
                ++stats.silent;
                if (result.why == silence::unknown_client) ++stats.unknown_clients;
                if (result.why == silence::reserved_for_known) ++stats.reserved_for_known;
                if (debug && result.why != silence::unknown_client) {
                    spdlog::debug("dhcp: {} {}: no reply ({}{}{})", describe_client(in),
                                  type ? to_string(*type) : "BOOTP", to_string(result.why),
                                  result.note.empty() ? "" : ": ", result.note);
                }
                continue;
            }
            if (type == message_type::inform) ++stats.informs;
            outgoing out;
            out.bytes = encode(*result.reply);
            out.to = result.to;
            out.type = *result.reply->type();
            if (debug) {
                out.client = describe_client(in);
                spdlog::debug("dhcp: {} {}: {} via {}", out.client, to_string(*type), result.note,
                              to_string(result.to.how));
            }
            if (result.changes.empty()) {
                // An OFFER, a NAK, an INFORM's ACK: nothing to make durable.
                immediate.push_back(std::move(out));
            } else {
                // An ACK waits for the commit of its lease.
                state->waiting.push_back(std::move(out));
            }
        }
        if (!state->waiting.empty() || leases.pending() > 0) state->wake.cancel();
        co_await send_all(socket, options, stats, immediate);
        immediate.clear();
    }
}

}  // namespace provbox::dhcp
