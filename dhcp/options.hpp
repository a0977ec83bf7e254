#pragma once
// The DHCPv4 options provbox knows: one definition table (RFC 2132 and
// vendor codes), typed conversions, and the choice of a reply's options.

#include "dhcp/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace provbox::dhcp {

// Wire codes the code refers to by name; the table in options.cpp holds the
// name and type of each.
namespace option_code {
inline constexpr std::uint8_t pad = 0;                    // RFC 2132 §3.1
inline constexpr std::uint8_t subnet_mask = 1;            // RFC 2132 §3.3
inline constexpr std::uint8_t routers = 3;                // RFC 2132 §3.5
inline constexpr std::uint8_t domain_name_servers = 6;    // RFC 2132 §3.8
inline constexpr std::uint8_t host_name = 12;             // RFC 2132 §3.14
inline constexpr std::uint8_t domain_name = 15;           // RFC 2132 §3.17
inline constexpr std::uint8_t broadcast_address = 28;     // RFC 2132 §5.3
inline constexpr std::uint8_t ntp_servers = 42;           // RFC 2132 §8.3
inline constexpr std::uint8_t vendor_encapsulated = 43;   // RFC 2132 §8.4
inline constexpr std::uint8_t requested_address = 50;     // RFC 2132 §9.1
inline constexpr std::uint8_t lease_time = 51;            // RFC 2132 §9.2
inline constexpr std::uint8_t overload = 52;              // RFC 2132 §9.3
inline constexpr std::uint8_t message_type = 53;          // RFC 2132 §9.6
inline constexpr std::uint8_t server_identifier = 54;     // RFC 2132 §9.7
inline constexpr std::uint8_t parameter_request_list = 55;  // RFC 2132 §9.8
inline constexpr std::uint8_t message = 56;               // RFC 2132 §9.9
inline constexpr std::uint8_t max_message_size = 57;      // RFC 2132 §9.10
inline constexpr std::uint8_t renewal_time = 58;          // RFC 2132 §9.11
inline constexpr std::uint8_t rebinding_time = 59;        // RFC 2132 §9.12
inline constexpr std::uint8_t vendor_class_identifier = 60;  // RFC 2132 §9.13
inline constexpr std::uint8_t client_identifier = 61;     // RFC 2132 §9.14
inline constexpr std::uint8_t tftp_server_name = 66;      // RFC 2132 §9.4
inline constexpr std::uint8_t boot_file_name = 67;        // RFC 2132 §9.5
inline constexpr std::uint8_t relay_agent_information = 82;  // RFC 3046
inline constexpr std::uint8_t vivso = 125;                // RFC 3925 §4
inline constexpr std::uint8_t tftp_server_address = 150;  // Cisco, RFC 5859
inline constexpr std::uint8_t provisioning_url = 160;     // Polycom/AudioCodes use
inline constexpr std::uint8_t end = 255;                  // RFC 2132 §3.2
}  // namespace option_code

enum class option_type : std::uint8_t {
    ipv4,       // 4 bytes
    ipv4_list,  // 4n bytes, n >= 1
    u8,
    u16,        // network byte order, as all integers here
    u32,
    i32,
    string,     // >= 1 byte, no NUL terminator on the wire (RFC 2132 §2)
    bytes,      // opaque; text form is hex only
    boolean,    // 1 byte, 0 or 1
    u8_list,    // >= 1 byte
};

struct option_definition {
    std::uint8_t code;
    std::string_view name;  // Kea/dnsmasq style: "tftp-server-name"
    option_type type;
    // Sent in a reply even when the client's parameter request list does not
    // ask for it: what a phone needs to boot and provision.
    bool send_unrequested;
};

std::span<const option_definition> option_definitions();
const option_definition* find_definition(std::uint8_t code);
const option_definition* find_definition(std::string_view name);

// Whether size bytes are a well-formed value of type (see option_type).
bool valid_size(option_type type, std::size_t size);

// Typed encoders: the option data, without code and length.
std::vector<std::uint8_t> from_ipv4(ipv4_address address);
std::vector<std::uint8_t> from_ipv4_list(std::span<const ipv4_address> addresses);
std::vector<std::uint8_t> from_u8(std::uint8_t value);
std::vector<std::uint8_t> from_u16(std::uint16_t value);
std::vector<std::uint8_t> from_u32(std::uint32_t value);
std::vector<std::uint8_t> from_i32(std::int32_t value);
std::vector<std::uint8_t> from_string(std::string_view text);
std::vector<std::uint8_t> from_bool(bool value);

// Typed readers: nullopt when the data is not a well-formed value.
std::optional<ipv4_address> as_ipv4(std::span<const std::uint8_t> data);
std::optional<std::vector<ipv4_address>> as_ipv4_list(std::span<const std::uint8_t> data);
std::optional<std::uint8_t> as_u8(std::span<const std::uint8_t> data);
std::optional<std::uint16_t> as_u16(std::span<const std::uint8_t> data);
std::optional<std::uint32_t> as_u32(std::span<const std::uint8_t> data);
std::optional<std::int32_t> as_i32(std::span<const std::uint8_t> data);
// Trailing NULs are dropped: some clients terminate strings anyway.
std::optional<std::string> as_string(std::span<const std::uint8_t> data);
std::optional<bool> as_bool(std::span<const std::uint8_t> data);

// An operator's textual value for an option (the YAML config).
struct option_value {
    std::uint8_t code = 0;
    std::vector<std::uint8_t> data;
    std::string error;  // empty on success; says what is wrong otherwise
    explicit operator bool() const { return error.empty(); }
};
// name: a table name, or a decimal code 1..254 (unknown codes are bytes).
// text: per the type ("10.0.0.1", "10.0.0.1, 10.0.0.2", "3600", "true",
// "1,3,6"), or "0x..." hex for any type, checked against the type's size.
option_value parse_option_value(std::string_view name, std::string_view text);

// RFC 2132 §9.10: the smallest maximum message size a client may state.
inline constexpr std::size_t min_max_message_size = 576;

// The options of a reply, in order: 53, 54, those the client requested (55)
// in its order, those it did not request but needs (send_unrequested, in
// the order of available), and 82 last (RFC 3046 §2.2). Options neither
// requested nor needed are left out, as are 0, 52 and 255; a code counts
// once. The encoded reply, IP and UDP headers included, stays within
// max_message_size (raised to 576): 53, 54, 51 and 82 are always kept, then
// the others are taken in the order above while they fit, so one that does
// not fit is dropped and a smaller one after it may still go in.
std::vector<option> order_reply_options(std::span<const option> available,
                                        std::span<const std::uint8_t> requested,
                                        std::size_t max_message_size = min_max_message_size);

}  // namespace provbox::dhcp
