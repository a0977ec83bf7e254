#pragma once
// TFTP packets (RFC 1350, options RFC 2347): plain structs, a decoder that
// returns a value or an error, and encoders that build one datagram each.
// No sockets, no exceptions for bad input.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

namespace provbox::tftp {

// RFC 1350 §5; OACK from RFC 2347.
enum class opcode : std::uint16_t {
  rrq = 1,    // read request
  wrq = 2,    // write request
  data = 3,
  ack = 4,
  error = 5,
  oack = 6,   // RFC 2347: option acknowledgment
};

// RFC 1350 appendix; 8 from RFC 2347. Any other 16-bit value can arrive in a
// client's ERROR and is kept as is.
enum class error_code : std::uint16_t {
  not_defined = 0,
  file_not_found = 1,
  access_violation = 2,
  disk_full = 3,
  illegal_operation = 4,
  unknown_transfer_id = 5,
  file_already_exists = 6,
  no_such_user = 7,
  option_negotiation = 8,  // RFC 2347: terminate transfer due to option negotiation
};

// The RFC's text for a code ("File not found"); "Unknown error" otherwise.
std::string_view rfc_name(error_code code);

// RFC 1350 §1: "mail" is obsolete and refused by the decoder.
enum class transfer_mode { netascii, octet };

// RFC 2347 wire limits and defaults, in one place.
inline constexpr std::size_t default_blksize = 512;     // RFC 1350 §2
inline constexpr std::size_t min_blksize = 8;           // RFC 2348: 8..65464
inline constexpr std::size_t max_blksize = 65464;       // RFC 2348: 8..65464
inline constexpr unsigned min_timeout_s = 1;            // RFC 2349: 1..255
inline constexpr unsigned max_timeout_s = 255;          // RFC 2349: 1..255
inline constexpr unsigned min_windowsize = 1;           // RFC 7440: 1..65535
inline constexpr unsigned max_windowsize = 65535;       // RFC 7440: 1..65535

// One option of a request or OACK (RFC 2347). Decoded names are lower-case
// so matching is a plain comparison; values are kept as sent.
struct option {
  std::string name;
  std::string value;
  friend bool operator==(const option&, const option&) = default;
};
using option_list = std::vector<option>;  // in the order the packet had them

// The option named `lower_name`, or nullptr.
const option* find_option(std::span<const option> options, std::string_view lower_name);

// RRQ or WRQ: opcode | filename 0 | mode 0 | (name 0 value 0)*
struct request {
  opcode op = opcode::rrq;  // rrq or wrq
  std::string filename;     // raw bytes; checking it is the caller's business
  transfer_mode mode = transfer_mode::octet;
  option_list options;
  friend bool operator==(const request&, const request&) = default;
};

// opcode | block | payload. The payload is copied: a server only decodes
// DATA to refuse it, and an owning packet can be kept without a dangling view.
struct data {
  std::uint16_t block = 0;
  std::vector<std::uint8_t> payload;
  friend bool operator==(const data&, const data&) = default;
};

struct ack {
  std::uint16_t block = 0;
  friend bool operator==(const ack&, const ack&) = default;
};

struct error {
  error_code code = error_code::not_defined;
  std::string message;
  friend bool operator==(const error&, const error&) = default;
};

struct oack {
  option_list options;
  friend bool operator==(const oack&, const oack&) = default;
};

using packet = std::variant<request, data, ack, error, oack>;

enum class decode_error {
  truncated = 1,         // shorter than the opcode and fixed fields
  unknown_opcode,        // not 1..6
  missing_terminator,    // a string runs to the end without its NUL
  empty_filename,
  bad_mode,              // not netascii/octet (any case); "mail" included
  option_without_value,  // an option name is the last string
  empty_option_name,     // "" as a name followed by more than NUL padding
  duplicate_option,      // the same name twice (case-insensitive)
};

std::string_view to_string(decode_error e);
const std::error_category& decode_category();
std::error_code make_error_code(decode_error e);

// What decode() returns: a packet or the reason there is none.
class decode_result {
public:
  decode_result(packet p) : value_(std::move(p)) {}
  decode_result(decode_error e) : value_(e) {}

  bool ok() const { return std::holds_alternative<packet>(value_); }
  explicit operator bool() const { return ok(); }
  // Preconditions: ok() for value(), !ok() for error().
  const packet& value() const { return std::get<packet>(value_); }
  packet& value() { return std::get<packet>(value_); }
  decode_error error() const { return std::get<decode_error>(value_); }

private:
  std::variant<packet, decode_error> value_;
};

// Strict where a mistake would change meaning, lenient where it cannot:
//  - requests and OACKs need every string NUL-terminated; NUL bytes after
//    the last option are accepted as padding and dropped;
//  - bytes after an ACK's block number or after an ERROR's terminating NUL
//    are ignored (no field is defined there, and refusing an ACK would only
//    stall a transfer);
//  - an ERROR's code is kept even when it is outside 0..8.
decode_result decode(std::span<const std::uint8_t> datagram);

// Encoders: `out` is replaced by exactly one datagram (its capacity is
// reused). Strings must not contain NUL; an ERROR message stops at one.
void encode_request(const request& r, std::vector<std::uint8_t>& out);
void encode_data(std::uint16_t block, std::span<const std::uint8_t> payload,
                 std::vector<std::uint8_t>& out);
void encode_ack(std::uint16_t block, std::vector<std::uint8_t>& out);
void encode_error(error_code code, std::string_view message, std::vector<std::uint8_t>& out);
void encode_oack(std::span<const option> options, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode(const packet& p);

// The ERROR datagrams the I/O layer sends on its own, e.g.
// error_packet(error_code::unknown_transfer_id) to a stray port (RFC 1350 §4)
// or error_packet(error_code::file_not_found). An empty message means the
// RFC's text for the code.
std::vector<std::uint8_t> error_packet(error_code code, std::string_view message = {});

}  // namespace provbox::tftp

template <>
struct std::is_error_code_enum<provbox::tftp::decode_error> : std::true_type {};
