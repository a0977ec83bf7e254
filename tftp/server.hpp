#pragma once
// The TFTP server: read requests arriving on one UDP socket, each served from
// an ephemeral port of its own by a coroutine on the socket's executor. The
// bytes come from the provisioning service; the protocol from the pure
// read_transfer (transfer.hpp), whose actions this layer only carries out.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "server/provisioning/service.hpp"
#include "tftp/transfer.hpp"
#include "tftp/transfer_table.hpp"

namespace provbox::tftp {

// A loopback round trip of a client that answers at once is 5-60 us, and
// waking the server for the ACK is a large part of it (tens of us when the
// client runs on another core). 50 us catches those ACKs (20, 100 and 200
// measured the same on loopback) and bounds what a slower client, such as one
// a LAN away (100 us and more), costs: a failed poll now and then, as polling
// backs off after each (server.cpp).
inline constexpr std::chrono::microseconds default_busy_poll{50};

struct server_options {
  server_limits limits;               // from transfer.hpp (max blksize, max windowsize, max window bytes, default timeout, max retries)
  // From transfer_table.hpp: transfers in flight, in all and per client
  // address. A full table ends its oldest unconfirmed transfer to take a new
  // request; requests it cannot take get an ERROR (code 0 "server busy")
  // instead of degrading everyone.
  table_limits table;
  // How long a lone lockstep transfer polls its socket for the next ACK
  // before it sleeps in the reactor (see busy_poll in server.cpp); 0 turns
  // polling off. Tests set it to force either path.
  std::chrono::microseconds busy_poll = default_busy_poll;
};

// Counters for logs and /metrics. Single-threaded like the server: read them
// from the same executor.
//   active     transfers running now (including ones still being resolved)
//   started    read requests taken on (each got a transfer port)
//   completed  transfers whose last block was acknowledged
//   failed     transfers that ended otherwise: timeout, client ERROR, read
//              failure, an exception, eviction
//   evicted    of failed: unconfirmed transfers ended without a word to their
//              peer because a new request found the table full
//   refused    requests answered with an ERROR and no data: WRQ, bad or
//              unknown names, refusals of the service, server busy
//   address_busy  of refused: "server busy" because the client's address had
//              max_transfers_per_address transfers in flight
//   malformed  datagrams that did not decode, on either port
//   stray      datagrams that belong to no transfer: from the wrong port to a
//              transfer's socket (answered with ERROR 5), non-requests to the
//              listening socket, and repeated RRQs of a running transfer
//   polled     datagrams a transfer read while busy-polling, without the reactor
struct server_stats {
  std::uint64_t active = 0, started = 0, completed = 0, failed = 0, evicted = 0, refused = 0, address_busy = 0,
                malformed = 0, stray = 0, polled = 0;
};

// Serves read requests arriving on `socket` (already bound) until it is closed; each transfer runs on its own
// ephemeral UDP port (bound to the same local address) as a coroutine on the same executor.
//
// Transfers outlive the listening socket: closing it stops new requests
// only, and `stats.active` falls to 0 as the transfers in flight end (each is
// bounded by its timeout and retries). `options` is read at each request, so
// changed limits apply to new transfers. `socket`, `service`, `options` and
// `stats` must stay valid while the io_context runs; transfers that are still
// suspended when it is destroyed touch none of them.
boost::asio::awaitable<void> run_server(boost::asio::ip::udp::socket& socket, provisioning::service& service,
                                        const server_options& options, server_stats& stats);

}  // namespace provbox::tftp
