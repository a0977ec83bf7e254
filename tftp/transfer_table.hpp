#pragma once
// Which read requests get a transfer: the table of transfers in flight, with
// the two limits that keep a flood of requests from taking it over. Pure (no
// sockets, no clock): the server asks it at each request and tells it when a
// transfer is confirmed or ends, and carries out what it decides.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace provbox::tftp {

struct table_limits {
  // Transfers in flight. A request that finds the table full takes the slot
  // of the oldest unconfirmed transfer (see transfer_table); only when every
  // transfer is confirmed is it refused ("server busy").
  std::size_t max_transfers = 512;
  // Transfers in flight per client address, so that one address, or one
  // victim whose address a flood writes on its requests, cannot hold the table
  // (or draw more than this many transfers' datagrams at once). 64 leaves room
  // for a site of phones behind one NAT address booting together; beyond it
  // they get "server busy" and ask again.
  std::size_t max_transfers_per_address = 64;
};

// The policy, SYN-cache style. A transfer is unconfirmed until its peer
// acknowledges something (read_transfer::confirmed()): until then the peer
// may be an address a flood wrote on its requests, which will never answer.
// Refusing new requests while the table is full of those would let a few
// hundred spoofed requests a second lock every device out, so a request that
// finds the table full ends the oldest unconfirmed transfer instead and takes
// its slot. A confirmed transfer (a device that is fetching) is never ended
// to make room. Under a flood of R requests per second a device must
// therefore answer its first packet within about max_transfers / R seconds
// (about a second at 512 slots and 470 requests/s); loopback and LAN round
// trips are far below that, and a device that misses it repeats its RRQ.
//
// The per-address limit is checked first and refuses rather than evicts: a
// flood aimed at one victim then draws at most max_transfers_per_address
// transfers at a time, each a bounded number of datagrams (transfer.hpp),
// and the rest of its requests get a short ERROR.
class transfer_table {
public:
  using entry_id = std::uint64_t;

  enum class verdict {
    admitted,      // `entry` names the new transfer; if `evicted` is set, end that one now
    address_busy,  // the address has max_transfers_per_address transfers: refuse
    busy,          // the table is full and every transfer in it is confirmed: refuse
  };
  struct admission {
    verdict outcome = verdict::busy;
    entry_id entry = 0;
    // The unconfirmed transfer whose slot was given away: already out of
    // the table; the caller ends it without telling its peer.
    std::optional<entry_id> evicted;
  };

  // A request from `address` (any stable text per client address). Limits
  // are passed each time: a reload changes them for new requests. A limit
  // lowered below what is in flight is reached again as transfers end; no
  // transfer is ended to get there.
  admission admit(std::string_view address, const table_limits& limits);
  // The transfer's peer acknowledged something. Unknown ids are ignored.
  void confirm(entry_id id);
  // The transfer ended. Unknown ids (evicted ones) are ignored.
  void remove(entry_id id);

  std::size_t size() const { return entries_.size(); }
  std::size_t unconfirmed() const { return unconfirmed_.size(); }
  // Transfers in flight from `address`.
  std::size_t from(std::string_view address) const;

private:
  struct entry {
    std::string address;
    bool confirmed = false;
    std::list<entry_id>::iterator queued;  // in unconfirmed_, while unconfirmed
  };
  void forget(std::unordered_map<entry_id, entry>::iterator it);

  std::unordered_map<entry_id, entry> entries_;
  std::list<entry_id> unconfirmed_;  // oldest first: the next to be evicted
  std::map<std::string, std::size_t, std::less<>> per_address_;
  entry_id next_id_ = 1;
};

}  // namespace provbox::tftp
