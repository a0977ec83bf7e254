#pragma once
// Serving one read request: option negotiation (RFC 2347/2348/2349/7440) as a
// pure function, and the sending side of the transfer as a state machine.
// The I/O layer feeds it events (start, a decoded packet from the client's
// transfer ID, a timer expiry) and carries out the action each one returns.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tftp/packet.hpp"

namespace provbox::tftp {

// ---- Option negotiation ----------------------------------------------------

// Retransmissions of the first DATA (or the OACK) to a peer that has not
// acknowledged anything yet. UDP lets anyone put a victim's address on an RRQ,
// so until the peer answers, the server may be talking to someone who never
// asked: a 35-byte RRQ drew six 516-byte DATA and an ERROR under the full
// retry budget (89 times its size at a third party). One retransmission still
// recovers a lost first packet; a client that lost both copies repeats its
// RRQ, which starts a new transfer once this one has ended. So an unanswered
// RRQ costs at most two datagrams of at most 4 + blksize bytes (an OACK is
// smaller), and nothing more. Once the peer acknowledges, max_retries applies.
inline constexpr unsigned default_unconfirmed_retries = 1;

// What the operator may configure. negotiate() clamps out-of-range values
// into the RFC ranges.
struct server_limits {
  std::size_t max_blksize = tftp::max_blksize;  // RFC 2348: 8..65464
  unsigned max_windowsize = 64;                  // RFC 7440: 1..65535
  // A window goes out as one burst, faster than a client that sleeps in
  // poll() wakes up to read it, so it must fit the client's socket buffer or
  // its tail is lost every time. Linux's default 208 KB receive buffer holds
  // 12 datagrams of 8 KB and only 3 of 64 KB (each costs up to 2.5 times its
  // size), and an RFC 7440 client acknowledges only after `windowsize`
  // blocks, so a window that never fits stalls until timeouts. Capping
  // blksize x windowsize at negotiation (RFC 7440 lets the server answer a
  // smaller windowsize) keeps every burst below what such a client takes.
  std::size_t max_window_bytes = 64 * 1024;
  std::chrono::milliseconds default_timeout{1000};
  unsigned max_retries = 5;                      // retransmissions before giving up
};

// What a transfer runs with. The defaults are plain RFC 1350 lockstep.
struct transfer_params {
  std::size_t blksize = default_blksize;
  unsigned windowsize = 1;
  std::chrono::milliseconds timeout{1000};
  unsigned max_retries = 5;
  // Retransmissions to a peer that has acknowledged nothing yet (see
  // read_transfer::confirmed()); capped by max_retries.
  unsigned unconfirmed_retries = default_unconfirmed_retries;
  option_list oack;  // sent first and acknowledged with ACK 0; empty: no OACK
};

// Negotiates the options of a read request. `file_size` is the size as it
// will be sent (after netascii conversion), or nullopt if unknown.
// Accepted options are echoed in the client's order with their negotiated
// values; anything else is left out, which RFC 2347 lets a server do:
//   blksize    >= 8: min(requested, max_blksize); below 8: ignored
//   timeout    1..255 s: accepted as is and used as our retransmission timer
//   tsize      "0" with a known size: the size; otherwise ignored
//   windowsize 1..65535: min(requested, max_windowsize,
//              max(1, max_window_bytes / negotiated blksize))
// Values must be plain decimal digits; anything else ignores the option. If
// nothing is accepted the result has no OACK and the transfer is RFC 1350.
transfer_params negotiate(std::span<const option> requested,
                          std::optional<std::uint64_t> file_size,
                          const server_limits& limits = {});

// ---- Content ---------------------------------------------------------------

// Where the bytes come from. A read that returns fewer bytes than asked for
// before size() is reached is a failure (the file shrank, the disk failed).
class content_source {
public:
  virtual ~content_source() = default;
  virtual std::uint64_t size() const = 0;
  virtual std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
};

// A buffer in memory: rendered configs, cached firmware, tests. The shared
// form lets many transfers serve one image without copies.
class memory_source final : public content_source {
public:
  explicit memory_source(std::vector<std::uint8_t> bytes);
  explicit memory_source(std::shared_ptr<const std::vector<std::uint8_t>> bytes);
  std::uint64_t size() const override;
  std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out) override;

private:
  std::shared_ptr<const std::vector<std::uint8_t>> bytes_;
};

// ---- The transfer ----------------------------------------------------------

enum class transfer_outcome {
  completed,          // the last block was acknowledged
  client_error,       // the client sent ERROR (e.g. 8 in answer to our OACK)
  timed_out,          // max_retries retransmissions went unanswered (unconfirmed_retries before any ACK)
  illegal_operation,  // the client sent something other than ACK or ERROR
  read_failed,        // the content source came up short
};

struct transfer_end {
  transfer_outcome outcome = transfer_outcome::completed;
  std::string reason;  // for the log, e.g. "client error 8: blksize refused"
  bool ok() const { return outcome == transfer_outcome::completed; }
};

// What to do after an event, in this order: send the datagrams to the
// client's transfer ID, then (re)arm the retransmission timer if `arm_timer`
// is set. An unset `arm_timer` leaves a running timer alone; that is how an
// ignored duplicate ACK avoids postponing a retransmission. Once `end` is
// set the transfer is over: cancel the timer and drop the transfer.
struct action {
  std::vector<std::vector<std::uint8_t>> send;
  std::optional<std::chrono::milliseconds> arm_timer;
  std::optional<transfer_end> end;
};

struct transfer_progress {
  std::uint64_t bytes_sent = 0;       // distinct payload bytes sent at least once
  std::uint64_t bytes_acked = 0;      // payload bytes the client has acknowledged
  std::uint64_t retransmissions = 0;  // DATA and OACK datagrams sent again
  std::uint64_t timeouts = 0;
  unsigned window = 1;                // blocks per window: always the negotiated windowsize
};

// The server side of a read. Block numbers are 16-bit on the wire and roll
// over from 65535 to 0 (as tftpd-hpa and dnsmasq do); blocks are counted
// from 1 internally in 64 bits, so any file size works.
//
// Retransmission happens only on timeout, never because of a duplicate ACK
// (Sorcerer's Apprentice). An ACK inside the window continues at the block
// after it at once, with a whole new window. A timeout resends only the first
// unacknowledged block, as a probe:
//  - an RFC 7440 client acknowledges after `windowsize` blocks counted from
//    its own last ACK, so every window must be whole and start right after
//    the block it acknowledged. A shorter window (or a resent window that
//    overlaps blocks it has already counted) leaves it waiting for blocks
//    that never come, and each window then costs a timeout;
//  - the probe is a block the client has (it answers with an ACK of the last
//    block it holds, RFC 7440 §4, and the next window lines up with its count)
//    or, if the whole window was lost, the block it needs (it counts it, and
//    the next probe is then one it has).
// So one lost tail costs one timeout, and lockstep (windowsize 1) is plain
// RFC 1350. A window too big for the client's socket buffer is the I/O
// layer's to pace (and negotiate()'s max_window_bytes to avoid). The timer is
// the negotiated timeout, constant; max_retries consecutive retransmissions
// without progress and the next timeout ends the transfer.
//
// Until the peer has acknowledged something we sent (ACK 0 of the OACK, or
// a DATA block) the transfer is unconfirmed: the peer may be an address
// someone else wrote on the RRQ. It then gets only `unconfirmed_retries`
// retransmissions, and the timeout after them ends the transfer without an
// ERROR: the ERROR would be one more datagram at a possible victim, and a real
// client whose copies were all lost should go on repeating its RRQ (which is
// a new request once this transfer is gone) rather than be told to give up.
class read_transfer {
public:
  // blksize and windowsize are clamped into their RFC ranges.
  read_transfer(transfer_params params, std::unique_ptr<content_source> source);

  action start();
  action on_packet(const packet& p);
  action on_timeout();

  // Hands back the datagrams of an action once they are sent (and leaves
  // `sent` empty), so later windows are built in the same buffers: no
  // allocation and no zero-filling of a 64 KB block per DATA. Optional;
  // without it every datagram is a new vector.
  void recycle(std::vector<std::vector<std::uint8_t>>& sent);

  // Builds the DATA of the window that comes next if everything sent so far
  // is acknowledged, now, while the client is busy with this one: the ACK is
  // then answered without waiting for a read and a copy of the payload (as
  // tftpd-hpa reads ahead). Call it after carrying out an action, before
  // waiting; it changes nothing the client can see. Optional.
  void read_ahead();

  bool finished() const { return phase_ == phase::done; }
  // The peer has acknowledged something we sent: it asked for this file and
  // hears us. The server never evicts a confirmed transfer (server.hpp).
  bool confirmed() const { return confirmed_; }
  transfer_progress progress() const;
  const transfer_params& params() const { return params_; }

private:
  enum class phase { idle, oack_sent, sending, done };

  // DATA for up to `count` blocks from the first unacknowledged one.
  action send_blocks(std::uint64_t count);
  // One DATA datagram into `d` (a pool buffer if `d` is empty); false if the
  // source came up short.
  bool build_block(std::uint64_t block, std::vector<std::uint8_t>& d);
  action on_ack(std::uint16_t block);
  // Ends the transfer; with `tell_client`, sends that ERROR first (an empty
  // message means the RFC's text for the code).
  action fail(transfer_outcome outcome, std::string reason,
              std::optional<error_code> tell_client, std::string_view message = {});

  transfer_params params_;
  std::unique_ptr<content_source> source_;
  std::uint64_t size_ = 0;
  std::uint64_t last_block_ = 0;   // index of the final (short or empty) block
  std::uint64_t acked_ = 0;        // highest block acknowledged; 0 = none yet
  std::uint64_t high_water_ = 0;   // highest block ever sent
  unsigned retries_ = 0;           // consecutive timeouts without progress
  bool confirmed_ = false;         // see confirmed()
  std::uint64_t retransmissions_ = 0;
  std::uint64_t timeouts_ = 0;
  phase phase_ = phase::idle;
  std::vector<std::vector<std::uint8_t>> spare_;  // see recycle()
  std::deque<std::vector<std::uint8_t>> ahead_;   // see read_ahead(): blocks ahead_first_...
  std::uint64_t ahead_first_ = 0;
};

}  // namespace provbox::tftp
