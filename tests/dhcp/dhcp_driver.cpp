// dhcp_driver: the DHCP server alone on an io_context, for the namespace
// tests and the benchmark before (and beside) `provbox serve --dhcp`.
//
//   dhcp_driver --interface IF --range FIRST-LAST --db PATH [--known-only]
//               [--boot-file NAME] [--tftp-server TEXT] [--lease-time S]
//               [--option NAME=VALUE]... [--stats-file PATH] [--verbose]
//               [--commit-interval-us N]
//
// Serves IF's subnet from its first IPv4 address; the inventory in PATH
// (created if missing) gives known devices, reservations and option 67.
// SIGTERM/SIGINT stop it; the counters are then written to --stats-file.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fstream>
#include <iostream>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "dhcp/server.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace net = boost::asio;
using namespace provbox;

namespace {

int usage(const std::string& why) {
    std::cerr << "dhcp_driver: " << why
              << "\nusage: dhcp_driver --interface IF --range FIRST-LAST --db PATH [--known-only] "
                 "[--boot-file NAME] [--tftp-server TEXT] [--lease-time S] [--option NAME=VALUE]... "
                 "[--stats-file PATH] [--verbose] [--commit-interval-us N]\n";
    return 2;
}

void write_stats(const std::string& path, const dhcp::server_stats& s) {
    std::ofstream out(path);
    out << "received " << s.received << "\nmalformed " << s.malformed << "\nsilent " << s.silent
        << "\nunknown_clients " << s.unknown_clients << "\nreserved_for_known " << s.reserved_for_known
        << "\noffers " << s.offers << "\nacks " << s.acks
        << "\nnaks " << s.naks << "\ninforms " << s.informs << "\nreleases " << s.releases << "\ndeclines "
        << s.declines << "\nvia_relay " << s.via_relay << "\nvia_client " << s.via_client << "\nvia_broadcast "
        << s.via_broadcast << "\nvia_arp " << s.via_arp << "\narp_failures " << s.arp_failures << "\nsend_errors "
        << s.send_errors << "\ncommits " << s.commits << "\ncommit_failures " << s.commit_failures << "\nbatches "
        << s.batches << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    std::string interface, range_text, db_path, stats_file, boot_file, tftp_server;
    bool known_only = false, verbose = false;
    std::uint32_t lease_time = 3600;
    long commit_interval_us = -1;
    std::vector<dhcp::option> extra;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
            return argv[++i];
        };
        try {
            if (arg == "--interface") interface = next();
            else if (arg == "--range") range_text = next();
            else if (arg == "--db") db_path = next();
            else if (arg == "--stats-file") stats_file = next();
            else if (arg == "--boot-file") boot_file = next();
            else if (arg == "--tftp-server") tftp_server = next();
            else if (arg == "--lease-time") lease_time = static_cast<std::uint32_t>(std::stoul(next()));
            else if (arg == "--known-only") known_only = true;
            else if (arg == "--commit-interval-us") commit_interval_us = std::stol(next());
            else if (arg == "--verbose") verbose = true;
            else if (arg == "--option") {
                const std::string v = next();
                const auto eq = v.find('=');
                if (eq == std::string::npos) return usage("--option wants NAME=VALUE");
                auto parsed = dhcp::parse_option_value(v.substr(0, eq), v.substr(eq + 1));
                if (!parsed) return usage(parsed.error);
                extra.push_back({parsed.code, parsed.data});
            } else return usage("unknown argument " + arg);
        } catch (const std::exception& e) {
            return usage(e.what());
        }
    }
    if (interface.empty() || range_text.empty() || db_path.empty()) return usage("--interface, --range and --db are required");
    const auto range = dhcp::address_range::parse(range_text);
    if (!range) return usage("bad range " + range_text);
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);

    try {
        dhcp::server_options options = dhcp::options_for_interface(interface, {*range});
        auto& subnet = options.engine.subnets.front();
        subnet.routers = {options.interface_address};
        subnet.tftp_server = tftp_server;
        subnet.boot_file = boot_file;
        subnet.options = extra;
        options.engine.lease_time = lease_time;
        options.engine.known_only = known_only;
        if (commit_interval_us >= 0) options.commit_interval = std::chrono::microseconds(commit_interval_us);

        store::inventory inventory(db_path);
        dhcp::durable_leases leases(db_path);
        dhcp::server_stats stats;
        net::io_context io(1);
        auto socket = dhcp::open_server_socket(io.get_executor(), interface);
        net::co_spawn(io, dhcp::run_server(socket, leases, &inventory, options, stats), [](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("dhcp server stopped: {}", ex.what());
            }
        });
        net::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int) {
            boost::system::error_code ignored;
            // The server ends; its committer sends what is committed and ends too.
            socket.close(ignored);
        });
        spdlog::info("dhcp_driver: serving {} on {} ({}/{}), {} leases loaded{}", range_text, interface,
                     options.interface_address.to_string(), int{subnet.prefix_length}, leases.size(),
                     known_only ? ", known devices only" : "");
        io.run();
        if (!stats_file.empty()) write_stats(stats_file, stats);
        spdlog::info("dhcp_driver: stopped; {} received, {} offers, {} acks, {} commits", stats.received,
                     stats.offers, stats.acks, stats.commits);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "dhcp_driver: " << e.what() << '\n';
        return 1;
    }
}
