#pragma once
// Serving one read request: option negotiation (RFC 2347/2348/2349/7440) as a
// pure function, and the sending side of the transfer as a state machine.
// The I/O layer feeds it events (start, a decoded packet from the client's
// transfer ID, a timer expiry) and carries out the action each one returns.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tftp/packet.hpp"

namespace provbox::tftp {

// ---- Option negotiation ----------------------------------------------------

// What the operator may configure. negotiate() clamps out-of-range values
// into the RFC ranges.
struct server_limits {
  std::size_t max_blksize = tftp::max_blksize;  // RFC 2348: 8..65464
  unsigned max_windowsize = 64;                  // RFC 7440: 1..65535
  std::chrono::milliseconds default_timeout{1000};
  unsigned max_retries = 5;                      // retransmissions before giving up
};

// What a transfer runs with. The defaults are plain RFC 1350 lockstep.
struct transfer_params {
  std::size_t blksize = default_blksize;
  unsigned windowsize = 1;
  std::chrono::milliseconds timeout{1000};
  unsigned max_retries = 5;
  option_list oack;  // sent first and acknowledged with ACK 0; empty: no OACK
};

// Negotiates the options of a read request. `file_size` is the size as it
// will be sent (after netascii conversion), or nullopt if unknown.
// Accepted options are echoed in the client's order with their negotiated
// values; anything else is left out, which RFC 2347 lets a server do:
//   blksize    >= 8: min(requested, max_blksize); below 8: ignored
//   timeout    1..255 s: accepted as is and used as our retransmission timer
//   tsize      "0" with a known size: the size; otherwise ignored
//   windowsize 1..65535: min(requested, max_windowsize)
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
  timed_out,          // max_retries retransmissions went unanswered
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
  unsigned window = 1;                // blocks per window now (<= windowsize)
};

// The server side of a read. Block numbers are 16-bit on the wire and roll
// over from 65535 to 0 (as tftpd-hpa and dnsmasq do); blocks are counted
// from 1 internally in 64 bits, so any file size works.
//
// Retransmission happens only on timeout, never because of a duplicate ACK
// (Sorcerer's Apprentice). A timeout resends from the first unacknowledged
// block with the window halved (minimum 1); every fully acknowledged window
// then grows it by one block, back up to the negotiated windowsize. An ACK
// inside the window continues at the block after it at once. The timer is
// the negotiated timeout, constant; max_retries consecutive retransmissions
// without progress and the next timeout ends the transfer.
class read_transfer {
public:
  // blksize and windowsize are clamped into their RFC ranges.
  read_transfer(transfer_params params, std::unique_ptr<content_source> source);

  action start();
  action on_packet(const packet& p);
  action on_timeout();

  bool finished() const { return phase_ == phase::done; }
  transfer_progress progress() const;
  const transfer_params& params() const { return params_; }

private:
  enum class phase { idle, oack_sent, sending, done };

  action send_window();
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
  std::uint64_t sent_ = 0;         // last block of the current window
  std::uint64_t high_water_ = 0;   // highest block ever sent
  unsigned window_ = 1;
  unsigned retries_ = 0;           // consecutive timeouts without progress
  std::uint64_t retransmissions_ = 0;
  std::uint64_t timeouts_ = 0;
  phase phase_ = phase::idle;
};

}  // namespace provbox::tftp
