#pragma once
// DHCPv4/BOOTP message codec (RFC 2131 §2, RFC 2132, RFC 3396). Pure: no
// sockets, no exceptions for bad input; a malformed packet is a decode_error.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace provbox::dhcp {

// RFC 2131 §2: the fixed part before the options field.
inline constexpr std::size_t fixed_header_size = 236;
// RFC 2132 §2: 99.130.83.99 opens the options field.
inline constexpr std::array<std::uint8_t, 4> magic_cookie{99, 130, 83, 99};
// RFC 1542 §2.1: the minimal BOOTP message; some clients drop shorter ones.
inline constexpr std::size_t bootp_min_size = 300;

// An IPv4 address as a value, kept in host byte order.
class ipv4_address {
public:
    constexpr ipv4_address() = default;
    constexpr explicit ipv4_address(std::uint32_t host_order) : value_(host_order) {}
    constexpr ipv4_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d)
        : value_(std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d) {}

    constexpr std::uint32_t to_uint() const { return value_; }
    constexpr bool is_unspecified() const { return value_ == 0; }
    std::string to_string() const;
    // Strict dotted quad, as inet_pton: four decimal parts 0..255, no
    // leading zeros (inet_aton would read "010" as octal), no spaces.
    static std::optional<ipv4_address> parse(std::string_view text);

    friend constexpr auto operator<=>(const ipv4_address&, const ipv4_address&) = default;

private:
    std::uint32_t value_ = 0;
};

using mac_address = std::array<std::uint8_t, 6>;
std::string to_string(const mac_address& mac);  // "00:21:f2:01:1b:19"

enum class op_code : std::uint8_t { boot_request = 1, boot_reply = 2 };  // RFC 2131 §2

// RFC 2132 §9.6 (values 1..8; later RFCs' leasequery types are not ours).
enum class message_type : std::uint8_t {
    discover = 1, offer, request, decline, ack, nak, release, inform
};
std::string_view to_string(message_type type);  // "DHCPDISCOVER", ...

// One option after RFC 3396 joining: several instances of a code on the wire
// are one entry here, holding their concatenated data.
struct option {
    std::uint8_t code = 0;
    std::vector<std::uint8_t> data;
    friend bool operator==(const option&, const option&) = default;
};

struct message {
    op_code op = op_code::boot_request;
    std::uint8_t htype = 1;  // RFC 1700: 1 = Ethernet
    std::uint8_t hlen = 6;
    std::uint8_t hops = 0;
    std::uint32_t xid = 0;
    std::uint16_t secs = 0;
    std::uint16_t flags = 0;
    ipv4_address ciaddr;
    ipv4_address yiaddr;
    ipv4_address siaddr;
    ipv4_address giaddr;
    std::array<std::uint8_t, 16> chaddr{};
    std::array<std::uint8_t, 64> sname{};
    std::array<std::uint8_t, 128> file{};
    std::vector<option> options;  // wire order of first appearance

    // RFC 2131 §2 figure 2: the broadcast bit is the top bit of flags.
    bool broadcast() const { return (flags & 0x8000) != 0; }
    void set_broadcast(bool on);

    // The MAC, only when the header says Ethernet (htype 1, hlen 6).
    std::optional<mac_address> mac() const;
    void set_mac(const mac_address& mac);  // also sets htype 1, hlen 6

    // sname/file as NUL-terminated text (RFC 2131 §2). The setters refuse a
    // value that leaves no room for the NUL.
    std::string server_name() const;
    std::string boot_file() const;
    bool set_server_name(std::string_view name);
    bool set_boot_file(std::string_view name);

    const option* find(std::uint8_t code) const;
    // Replaces the data of an existing code in place, else appends.
    void set_option(std::uint8_t code, std::vector<std::uint8_t> data);
    bool remove_option(std::uint8_t code);

    // Option 53; nullopt when absent, not one byte, or not 1..8.
    std::optional<message_type> type() const;
    void set_type(message_type type);

    friend bool operator==(const message&, const message&) = default;
};

enum class decode_error : std::uint8_t {
    ok = 0,
    too_short,        // fewer than the 236 bytes of the fixed header
    bad_op,           // op is neither BOOTREQUEST nor BOOTREPLY
    bad_hlen,         // hlen > 16, more than chaddr holds
    no_magic_cookie,  // absent or wrong: plain BOOTP, which we do not serve
};
std::string_view describe(decode_error error);
const std::error_category& decode_category();
std::error_code make_error_code(decode_error error);

struct decode_result {
    decode_error error = decode_error::ok;
    message msg;  // meaningful when error == ok
    // An option's length ran past the end of its area: the options before it
    // are kept, the rest of that area is skipped.
    bool options_truncated = false;

    explicit operator bool() const { return error == decode_error::ok; }
};

// Option overload (52) is honoured and consumed: options found in file/sname
// join the list, and an overloaded field is returned zeroed since it holds
// no name. Pad (0) and end (255) never appear in msg.options.
decode_result decode(std::span<const std::uint8_t> wire);

// Writes options in list order, splitting data over 255 bytes into
// consecutive instances (RFC 3396), then end, then pads to 300 bytes. Codes
// 0, 52 and 255 in msg.options are skipped: the encoder owns framing and
// never overloads.
std::vector<std::uint8_t> encode(const message& msg);

// Bytes one option takes on the wire after RFC 3396 splitting.
std::size_t encoded_option_size(std::size_t data_size);

}  // namespace provbox::dhcp

template <>
struct std::is_error_code_enum<provbox::dhcp::decode_error> : std::true_type {};
