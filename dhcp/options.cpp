#include "dhcp/options.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace provbox::dhcp {

namespace {

using enum option_type;
namespace oc = option_code;

// The one table. send_unrequested marks what a phone needs whether or not
// its parameter request list names it: address, route and lease (RFC 2131
// §4.3.1 makes 51 a MUST in OFFER/ACK) and where to fetch its boot file.
constexpr std::array definitions{
    option_definition{oc::subnet_mask, "subnet-mask", ipv4, true},
    option_definition{2, "time-offset", i32, false},  // RFC 2132 §3.4
    option_definition{oc::routers, "routers", ipv4_list, true},
    option_definition{oc::domain_name_servers, "domain-name-servers", ipv4_list, true},
    option_definition{7, "log-servers", ipv4_list, false},  // RFC 2132 §3.9
    option_definition{oc::host_name, "host-name", string, false},
    option_definition{oc::domain_name, "domain-name", string, false},
    option_definition{19, "ip-forwarding", boolean, false},  // RFC 2132 §4.1
    option_definition{26, "interface-mtu", u16, false},      // RFC 2132 §5.1
    option_definition{oc::broadcast_address, "broadcast-address", ipv4, false},
    option_definition{oc::ntp_servers, "ntp-servers", ipv4_list, false},
    option_definition{oc::vendor_encapsulated, "vendor-encapsulated-options", bytes, false},
    option_definition{oc::requested_address, "requested-address", ipv4, false},
    option_definition{oc::lease_time, "lease-time", u32, true},
    option_definition{oc::overload, "overload", u8, false},
    option_definition{oc::message_type, "message-type", u8, true},
    option_definition{oc::server_identifier, "server-identifier", ipv4, true},
    option_definition{oc::parameter_request_list, "parameter-request-list", u8_list, false},
    option_definition{oc::message, "message", string, true},  // NAK's reason
    option_definition{oc::max_message_size, "max-message-size", u16, false},
    option_definition{oc::renewal_time, "renewal-time", u32, true},
    option_definition{oc::rebinding_time, "rebinding-time", u32, true},
    option_definition{oc::vendor_class_identifier, "vendor-class-identifier", string, false},
    option_definition{oc::client_identifier, "client-identifier", bytes, false},
    option_definition{oc::tftp_server_name, "tftp-server-name", string, true},
    option_definition{oc::boot_file_name, "boot-file-name", string, true},
    option_definition{oc::relay_agent_information, "relay-agent-information", bytes, true},
    option_definition{oc::vivso, "vivso", bytes, false},
    option_definition{oc::tftp_server_address, "tftp-server-address", ipv4_list, false},
    option_definition{oc::provisioning_url, "provisioning-url", string, false},
};

std::vector<std::uint8_t> big_endian(std::uint32_t value, std::size_t size) {
    std::vector<std::uint8_t> out(size);
    for (std::size_t i = 0; i < size; ++i) {
        out[size - 1 - i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
    return out;
}

std::uint32_t from_big_endian(std::span<const std::uint8_t> data) {
    std::uint32_t value = 0;
    for (const std::uint8_t b : data) value = value << 8 | b;
    return value;
}

std::string_view trim(std::string_view text) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = text.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(space);
    return text.substr(first, last - first + 1);
}

// Splits on commas, trimming each item; an empty item stays empty so that
// "1,,2" is reported rather than read as "1,2".
std::vector<std::string_view> split_list(std::string_view text) {
    std::vector<std::string_view> items;
    while (true) {
        const auto comma = text.find(',');
        items.push_back(trim(text.substr(0, comma)));
        if (comma == std::string_view::npos) return items;
        text.remove_prefix(comma + 1);
    }
}

// A whole-string decimal number within [min, max].
template <typename T>
std::optional<T> parse_integer(std::string_view text, T min, T max) {
    if (text.empty() || text.front() == '+') return std::nullopt;
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (value < static_cast<std::int64_t>(min) || value > static_cast<std::int64_t>(max)) {
        return std::nullopt;
    }
    return static_cast<T>(value);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view digits) {
    if (digits.size() % 2 != 0) return std::nullopt;
    std::vector<std::uint8_t> out;
    out.reserve(digits.size() / 2);
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        const int hi = hex_digit(digits[i]);
        const int lo = hex_digit(digits[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return out;
}

std::string_view type_name(option_type type) {
    switch (type) {
        case ipv4: return "an IPv4 address";
        case ipv4_list: return "a comma-separated list of IPv4 addresses";
        case u8: return "an integer 0..255";
        case u16: return "an integer 0..65535";
        case u32: return "an integer 0..4294967295";
        case i32: return "an integer -2147483648..2147483647";
        case string: return "a non-empty string";
        case bytes: return "hex bytes (0x...)";
        case boolean: return "true or false";
        case u8_list: return "a comma-separated list of integers 0..255";
    }
    return "a value";
}

// The text form of each type; nullopt when text is not one.
std::optional<std::vector<std::uint8_t>> parse_typed(option_type type, std::string_view raw) {
    const std::string_view text = trim(raw);
    switch (type) {
        case ipv4:
            if (auto a = ipv4_address::parse(text)) return from_ipv4(*a);
            return std::nullopt;
        case ipv4_list: {
            std::vector<ipv4_address> addresses;
            for (const std::string_view item : split_list(text)) {
                auto a = ipv4_address::parse(item);
                if (!a) return std::nullopt;
                addresses.push_back(*a);
            }
            return from_ipv4_list(addresses);
        }
        case u8:
            if (auto v = parse_integer<std::uint8_t>(text, 0, 255)) return from_u8(*v);
            return std::nullopt;
        case u16:
            if (auto v = parse_integer<std::uint16_t>(text, 0, 65535)) return from_u16(*v);
            return std::nullopt;
        case u32:
            if (auto v = parse_integer<std::uint32_t>(text, 0, std::numeric_limits<std::uint32_t>::max())) {
                return from_u32(*v);
            }
            return std::nullopt;
        case i32:
            if (auto v = parse_integer<std::int32_t>(text, std::numeric_limits<std::int32_t>::min(),
                                                     std::numeric_limits<std::int32_t>::max())) {
                return from_i32(*v);
            }
            return std::nullopt;
        case string:
            // Not trimmed: the config layer has already unquoted it, and a
            // boot file name is the operator's exact text.
            if (raw.empty()) return std::nullopt;
            return from_string(raw);
        case bytes:
            return std::nullopt;  // hex only, handled by the caller
        case boolean:
            if (text == "true" || text == "1") return from_bool(true);
            if (text == "false" || text == "0") return from_bool(false);
            return std::nullopt;
        case u8_list: {
            std::vector<std::uint8_t> out;
            for (const std::string_view item : split_list(text)) {
                auto v = parse_integer<std::uint8_t>(item, 0, 255);
                if (!v) return std::nullopt;
                out.push_back(*v);
            }
            return out;
        }
    }
    return std::nullopt;
}

}  // namespace

std::span<const option_definition> option_definitions() { return definitions; }

const option_definition* find_definition(std::uint8_t code) {
    auto it = std::find_if(definitions.begin(), definitions.end(),
                           [code](const option_definition& d) { return d.code == code; });
    return it == definitions.end() ? nullptr : &*it;
}

const option_definition* find_definition(std::string_view name) {
    auto it = std::find_if(definitions.begin(), definitions.end(),
                           [name](const option_definition& d) { return d.name == name; });
    return it == definitions.end() ? nullptr : &*it;
}

bool valid_size(option_type type, std::size_t size) {
    switch (type) {
        case ipv4:
        case u32:
        case i32: return size == 4;
        case ipv4_list: return size > 0 && size % 4 == 0;
        case u8:
        case boolean: return size == 1;
        case u16: return size == 2;
        case string:
        case u8_list: return size > 0;
        case bytes: return true;
    }
    return false;
}

std::vector<std::uint8_t> from_ipv4(ipv4_address address) { return big_endian(address.to_uint(), 4); }

std::vector<std::uint8_t> from_ipv4_list(std::span<const ipv4_address> addresses) {
    std::vector<std::uint8_t> out;
    out.reserve(addresses.size() * 4);
    for (const ipv4_address a : addresses) {
        const auto bytes = from_ipv4(a);
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    return out;
}

std::vector<std::uint8_t> from_u8(std::uint8_t value) { return {value}; }
std::vector<std::uint8_t> from_u16(std::uint16_t value) { return big_endian(value, 2); }
std::vector<std::uint8_t> from_u32(std::uint32_t value) { return big_endian(value, 4); }
std::vector<std::uint8_t> from_i32(std::int32_t value) {
    return big_endian(static_cast<std::uint32_t>(value), 4);  // two's complement
}
std::vector<std::uint8_t> from_string(std::string_view text) { return {text.begin(), text.end()}; }
std::vector<std::uint8_t> from_bool(bool value) { return {static_cast<std::uint8_t>(value ? 1 : 0)}; }

std::optional<ipv4_address> as_ipv4(std::span<const std::uint8_t> data) {
    if (!valid_size(ipv4, data.size())) return std::nullopt;
    return ipv4_address(from_big_endian(data));
}

std::optional<std::vector<ipv4_address>> as_ipv4_list(std::span<const std::uint8_t> data) {
    if (!valid_size(ipv4_list, data.size())) return std::nullopt;
    std::vector<ipv4_address> out;
    for (std::size_t at = 0; at < data.size(); at += 4) {
        out.emplace_back(from_big_endian(data.subspan(at, 4)));
    }
    return out;
}

std::optional<std::uint8_t> as_u8(std::span<const std::uint8_t> data) {
    if (!valid_size(u8, data.size())) return std::nullopt;
    return data[0];
}

std::optional<std::uint16_t> as_u16(std::span<const std::uint8_t> data) {
    if (!valid_size(u16, data.size())) return std::nullopt;
    return static_cast<std::uint16_t>(from_big_endian(data));
}

std::optional<std::uint32_t> as_u32(std::span<const std::uint8_t> data) {
    if (!valid_size(u32, data.size())) return std::nullopt;
    return from_big_endian(data);
}

std::optional<std::int32_t> as_i32(std::span<const std::uint8_t> data) {
    if (!valid_size(i32, data.size())) return std::nullopt;
    return static_cast<std::int32_t>(from_big_endian(data));  // C++20: modular
}

std::optional<std::string> as_string(std::span<const std::uint8_t> data) {
    std::size_t size = data.size();
    while (size > 0 && data[size - 1] == 0) --size;
    if (size == 0) return std::nullopt;
    return std::string(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(size));
}

std::optional<bool> as_bool(std::span<const std::uint8_t> data) {
    if (!valid_size(boolean, data.size()) || data[0] > 1) return std::nullopt;
    return data[0] == 1;
}

option_value parse_option_value(std::string_view name, std::string_view text) {
    option_value result;
    const option_definition* definition = find_definition(name);
    option_type type = bytes;
    if (definition != nullptr) {
        result.code = definition->code;
        type = definition->type;
    } else if (auto code = parse_integer<std::uint8_t>(name, 1, 254)) {
        // A bare code names an option outside the table; its data is opaque.
        result.code = *code;
        if (const option_definition* d = find_definition(*code)) type = d->type;
    } else {
        result.error = "unknown option '" + std::string(name) + "'";
        return result;
    }
    const std::string label = definition != nullptr ? std::string(name)
                                                    : "option " + std::to_string(result.code);

    // RFC 2132 §9.3: the encoder owns overload; a configured one would lie.
    if (result.code == option_code::overload) {
        result.error = label + " is managed by the encoder and cannot be configured";
        return result;
    }

    const std::string_view trimmed = trim(text);
    if (trimmed.starts_with("0x") || trimmed.starts_with("0X")) {
        auto data = parse_hex(trimmed.substr(2));
        if (!data) {
            result.error = label + ": '" + std::string(text) + "' is not an even number of hex digits";
        } else if (!valid_size(type, data->size())) {
            result.error = label + ": " + std::to_string(data->size()) + " hex bytes do not make " +
                           std::string(type_name(type));
        } else {
            result.data = std::move(*data);
        }
        return result;
    }
    if (auto data = parse_typed(type, text)) {
        result.data = std::move(*data);
    } else {
        result.error = label + ": '" + std::string(text) + "' is not " + std::string(type_name(type));
    }
    return result;
}

std::vector<option> order_reply_options(std::span<const option> available,
                                        std::span<const std::uint8_t> requested,
                                        std::size_t max_message_size) {
    // Only the first entry of a code counts; 0, 52 and 255 are framing.
    auto lookup = [&](std::uint8_t code) -> const option* {
        if (code == option_code::pad || code == option_code::overload || code == option_code::end) {
            return nullptr;
        }
        auto it = std::find_if(available.begin(), available.end(),
                               [code](const option& o) { return o.code == code; });
        return it == available.end() ? nullptr : &*it;
    };

    // Position order, each code once. 82 is held back for the end.
    std::vector<const option*> order;
    auto take = [&](std::uint8_t code) {
        if (code == option_code::relay_agent_information) return;
        const option* o = lookup(code);
        if (o == nullptr || std::find(order.begin(), order.end(), o) != order.end()) return;
        order.push_back(o);
    };
    take(option_code::message_type);
    take(option_code::server_identifier);
    for (const std::uint8_t code : requested) take(code);
    for (const option& o : available) {
        const option_definition* d = find_definition(o.code);
        if (d != nullptr && d->send_unrequested) take(o.code);
    }
    if (const option* relay = lookup(option_code::relay_agent_information)) order.push_back(relay);

    // RFC 2132 §9.10: the size counts the IP (20) and UDP (8) headers. The
    // fixed header, cookie and end option are always there; never overloaded.
    constexpr std::size_t ip_udp_headers = 28;
    constexpr std::size_t framing = ip_udp_headers + fixed_header_size + magic_cookie.size() + 1;
    const std::size_t limit = std::max(max_message_size, min_max_message_size);
    std::size_t budget = limit - framing;

    auto kept_always = [](std::uint8_t code) {
        return code == option_code::message_type || code == option_code::server_identifier ||
               code == option_code::lease_time || code == option_code::relay_agent_information;
    };
    std::vector<bool> keep(order.size(), false);
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (!kept_always(order[i]->code)) continue;
        keep[i] = true;
        budget -= std::min(budget, encoded_option_size(order[i]->data.size()));
    }
    // The rest in position order, which is priority order: one that does not
    // fit is dropped, and a smaller one after it may still go in.
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (keep[i]) continue;
        const std::size_t size = encoded_option_size(order[i]->data.size());
        if (size <= budget) {
            keep[i] = true;
            budget -= size;
        }
    }

    std::vector<option> out;
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (keep[i]) out.push_back(*order[i]);
    }
    return out;
}

}  // namespace provbox::dhcp
