#include "dhcp/packet.hpp"

#include "dhcp/options.hpp"

#include <algorithm>
#include <charconv>

namespace provbox::dhcp {

namespace {

// RFC 2131 §2 field offsets.
constexpr std::size_t off_op = 0;
constexpr std::size_t off_htype = 1;
constexpr std::size_t off_hlen = 2;
constexpr std::size_t off_hops = 3;
constexpr std::size_t off_xid = 4;
constexpr std::size_t off_secs = 8;
constexpr std::size_t off_flags = 10;
constexpr std::size_t off_ciaddr = 12;
constexpr std::size_t off_yiaddr = 16;
constexpr std::size_t off_siaddr = 20;
constexpr std::size_t off_giaddr = 24;
constexpr std::size_t off_chaddr = 28;
constexpr std::size_t off_sname = 44;
constexpr std::size_t off_file = 108;
static_assert(off_file + 128 == fixed_header_size);

constexpr std::uint16_t broadcast_bit = 0x8000;  // RFC 2131 §2 figure 2
constexpr std::size_t max_option_data = 255;      // one length byte

// RFC 2132 §9.3: which fields an overload option hands over to options.
constexpr std::uint8_t overload_file = 1;
constexpr std::uint8_t overload_sname = 2;

std::uint16_t read_u16(std::span<const std::uint8_t> in, std::size_t at) {
    return static_cast<std::uint16_t>(in[at] << 8 | in[at + 1]);
}

std::uint32_t read_u32(std::span<const std::uint8_t> in, std::size_t at) {
    return std::uint32_t{in[at]} << 24 | std::uint32_t{in[at + 1]} << 16 |
           std::uint32_t{in[at + 2]} << 8 | std::uint32_t{in[at + 3]};
}

void write_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void write_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 24));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

// RFC 3396: every instance of a code joins the first one's entry, in the
// order met, across the options, file and sname areas alike.
void append_joined(std::vector<option>& options, std::uint8_t code,
                   std::span<const std::uint8_t> data) {
    auto it = std::find_if(options.begin(), options.end(),
                           [code](const option& o) { return o.code == code; });
    if (it == options.end()) {
        options.push_back(option{code, {data.begin(), data.end()}});
    } else {
        it->data.insert(it->data.end(), data.begin(), data.end());
    }
}

// Walks one option area. Returns false when an option ran past the area's
// end (the lenient case: what came before it is kept).
bool parse_area(std::span<const std::uint8_t> area, std::vector<option>& options,
                bool allow_overload) {
    std::size_t at = 0;
    while (at < area.size()) {
        const std::uint8_t code = area[at];
        if (code == option_code::pad) {
            ++at;
            continue;
        }
        if (code == option_code::end) return true;
        if (at + 1 >= area.size()) return false;
        const std::size_t length = area[at + 1];
        if (at + 2 + length > area.size()) return false;
        // RFC 2132 §9.3: overload is meaningful only in the options field.
        if (code != option_code::overload || allow_overload) {
            append_joined(options, code, area.subspan(at + 2, length));
        }
        at += 2 + length;
    }
    return true;  // no end option: tolerated, nothing was cut
}

template <std::size_t N>
std::string field_text(const std::array<std::uint8_t, N>& field) {
    const auto nul = std::find(field.begin(), field.end(), std::uint8_t{0});
    return std::string(field.begin(), nul);
}

template <std::size_t N>
bool set_field_text(std::array<std::uint8_t, N>& field, std::string_view text) {
    if (text.size() >= N) return false;  // keep room for the NUL
    field.fill(0);
    std::copy(text.begin(), text.end(), field.begin());
    return true;
}

class decode_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "provbox.dhcp.decode"; }
    std::string message(int value) const override {
        return std::string(describe(static_cast<decode_error>(value)));
    }
};

}  // namespace

std::string ipv4_address::to_string() const {
    std::string out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        if (!out.empty()) out += '.';
        out += std::to_string((value_ >> shift) & 0xff);
    }
    return out;
}

std::optional<ipv4_address> ipv4_address::parse(std::string_view text) {
    std::uint32_t value = 0;
    std::size_t at = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (at >= text.size() || text[at] != '.') return std::nullopt;
            ++at;
        }
        const std::size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - start < 3) ++at;
        const std::size_t digits = at - start;
        if (digits == 0 || (digits > 1 && text[start] == '0')) return std::nullopt;
        unsigned octet = 0;
        std::from_chars(text.data() + start, text.data() + at, octet);
        if (octet > 255) return std::nullopt;
        value = value << 8 | octet;
    }
    if (at != text.size()) return std::nullopt;
    return ipv4_address(value);
}

std::string to_string(const mac_address& mac) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t b : mac) {
        if (!out.empty()) out += ':';
        out += hex[b >> 4];
        out += hex[b & 0xf];
    }
    return out;
}

std::string_view to_string(message_type type) {
    switch (type) {
        case message_type::discover: return "DHCPDISCOVER";
        case message_type::offer: return "DHCPOFFER";
        case message_type::request: return "DHCPREQUEST";
        case message_type::decline: return "DHCPDECLINE";
        case message_type::ack: return "DHCPACK";
        case message_type::nak: return "DHCPNAK";
        case message_type::release: return "DHCPRELEASE";
        case message_type::inform: return "DHCPINFORM";
    }
    return "DHCP?";
}

void message::set_broadcast(bool on) {
    flags = on ? static_cast<std::uint16_t>(flags | broadcast_bit)
               : static_cast<std::uint16_t>(flags & ~broadcast_bit);
}

std::optional<mac_address> message::mac() const {
    if (htype != 1 || hlen != 6) return std::nullopt;
    mac_address out;
    std::copy_n(chaddr.begin(), out.size(), out.begin());
    return out;
}

void message::set_mac(const mac_address& mac) {
    htype = 1;
    hlen = 6;
    chaddr.fill(0);
    std::copy(mac.begin(), mac.end(), chaddr.begin());
}

std::string message::server_name() const { return field_text(sname); }
std::string message::boot_file() const { return field_text(file); }
bool message::set_server_name(std::string_view name) { return set_field_text(sname, name); }
bool message::set_boot_file(std::string_view name) { return set_field_text(file, name); }

const option* message::find(std::uint8_t code) const {
    auto it = std::find_if(options.begin(), options.end(),
                           [code](const option& o) { return o.code == code; });
    return it == options.end() ? nullptr : &*it;
}

void message::set_option(std::uint8_t code, std::vector<std::uint8_t> data) {
    auto it = std::find_if(options.begin(), options.end(),
                           [code](const option& o) { return o.code == code; });
    if (it == options.end()) {
        options.push_back(option{code, std::move(data)});
    } else {
        it->data = std::move(data);
    }
}

bool message::remove_option(std::uint8_t code) {
    return std::erase_if(options, [code](const option& o) { return o.code == code; }) > 0;
}

std::optional<message_type> message::type() const {
    const option* o = find(option_code::message_type);
    if (o == nullptr || o->data.size() != 1) return std::nullopt;
    const std::uint8_t v = o->data[0];
    if (v < static_cast<std::uint8_t>(message_type::discover) ||
        v > static_cast<std::uint8_t>(message_type::inform)) {
        return std::nullopt;
    }
    return static_cast<message_type>(v);
}

void message::set_type(message_type type) {
    set_option(option_code::message_type, {static_cast<std::uint8_t>(type)});
}

std::string_view describe(decode_error error) {
    switch (error) {
        case decode_error::ok: return "ok";
        case decode_error::too_short: return "shorter than the 236-byte BOOTP header";
        case decode_error::bad_op: return "op is neither BOOTREQUEST nor BOOTREPLY";
        case decode_error::bad_hlen: return "hlen exceeds the 16-byte chaddr field";
        case decode_error::no_magic_cookie: return "no DHCP magic cookie (plain BOOTP)";
    }
    return "unknown decode error";
}

const std::error_category& decode_category() {
    static const decode_category_impl category;
    return category;
}

std::error_code make_error_code(decode_error error) {
    return {static_cast<int>(error), decode_category()};
}

decode_result decode(std::span<const std::uint8_t> wire) {
    decode_result result;
    if (wire.size() < fixed_header_size) {
        result.error = decode_error::too_short;
        return result;
    }
    message& msg = result.msg;
    const std::uint8_t op = wire[off_op];
    if (op != static_cast<std::uint8_t>(op_code::boot_request) &&
        op != static_cast<std::uint8_t>(op_code::boot_reply)) {
        result.error = decode_error::bad_op;
        return result;
    }
    msg.op = static_cast<op_code>(op);
    msg.htype = wire[off_htype];
    msg.hlen = wire[off_hlen];
    if (msg.hlen > msg.chaddr.size()) {
        result.error = decode_error::bad_hlen;
        return result;
    }
    const std::size_t cookie_end = fixed_header_size + magic_cookie.size();
    if (wire.size() < cookie_end ||
        !std::equal(magic_cookie.begin(), magic_cookie.end(), wire.begin() + fixed_header_size)) {
        result.error = decode_error::no_magic_cookie;
        return result;
    }
    msg.hops = wire[off_hops];
    msg.xid = read_u32(wire, off_xid);
    msg.secs = read_u16(wire, off_secs);
    msg.flags = read_u16(wire, off_flags);
    msg.ciaddr = ipv4_address(read_u32(wire, off_ciaddr));
    msg.yiaddr = ipv4_address(read_u32(wire, off_yiaddr));
    msg.siaddr = ipv4_address(read_u32(wire, off_siaddr));
    msg.giaddr = ipv4_address(read_u32(wire, off_giaddr));
    std::copy_n(wire.begin() + off_chaddr, msg.chaddr.size(), msg.chaddr.begin());
    std::copy_n(wire.begin() + off_sname, msg.sname.size(), msg.sname.begin());
    std::copy_n(wire.begin() + off_file, msg.file.size(), msg.file.begin());

    bool complete = parse_area(wire.subspan(cookie_end), msg.options, true);

    // RFC 2132 §9.3: with overload, file is read next, then sname. A value
    // other than one byte of 1..3 is ignored: the fields keep their names.
    std::uint8_t overload = 0;
    if (const option* o = msg.find(option_code::overload); o != nullptr && o->data.size() == 1 &&
                                                           o->data[0] >= 1 && o->data[0] <= 3) {
        overload = o->data[0];
    }
    msg.remove_option(option_code::overload);
    if (overload & overload_file) {
        complete &= parse_area(msg.file, msg.options, false);
        msg.file.fill(0);
    }
    if (overload & overload_sname) {
        complete &= parse_area(msg.sname, msg.options, false);
        msg.sname.fill(0);
    }
    result.options_truncated = !complete;
    return result;
}

std::size_t encoded_option_size(std::size_t data_size) {
    // RFC 3396: instances of at most 255 bytes each; an empty option still
    // takes its code and length.
    const std::size_t instances = std::max<std::size_t>(1, (data_size + max_option_data - 1) / max_option_data);
    return 2 * instances + data_size;
}

std::vector<std::uint8_t> encode(const message& msg) {
    std::vector<std::uint8_t> out;
    out.reserve(bootp_min_size);
    out.push_back(static_cast<std::uint8_t>(msg.op));
    out.push_back(msg.htype);
    out.push_back(msg.hlen);
    out.push_back(msg.hops);
    write_u32(out, msg.xid);
    write_u16(out, msg.secs);
    write_u16(out, msg.flags);
    write_u32(out, msg.ciaddr.to_uint());
    write_u32(out, msg.yiaddr.to_uint());
    write_u32(out, msg.siaddr.to_uint());
    write_u32(out, msg.giaddr.to_uint());
    out.insert(out.end(), msg.chaddr.begin(), msg.chaddr.end());
    out.insert(out.end(), msg.sname.begin(), msg.sname.end());
    out.insert(out.end(), msg.file.begin(), msg.file.end());
    out.insert(out.end(), magic_cookie.begin(), magic_cookie.end());

    for (const option& o : msg.options) {
        if (o.code == option_code::pad || o.code == option_code::end ||
            o.code == option_code::overload) {
            continue;
        }
        std::size_t at = 0;
        do {
            const std::size_t chunk = std::min(max_option_data, o.data.size() - at);
            out.push_back(o.code);
            out.push_back(static_cast<std::uint8_t>(chunk));
            out.insert(out.end(), o.data.begin() + static_cast<std::ptrdiff_t>(at),
                       o.data.begin() + static_cast<std::ptrdiff_t>(at + chunk));
            at += chunk;
        } while (at < o.data.size());
    }
    out.push_back(option_code::end);
    if (out.size() < bootp_min_size) out.resize(bootp_min_size, option_code::pad);
    return out;
}

}  // namespace provbox::dhcp
