#pragma once
// Helpers for writing DHCP packets out byte by byte in tests.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace provbox::dhcp::test {

using bytes = std::vector<std::uint8_t>;

// Joins runs of bytes, so a packet reads as one field per line.
inline bytes concat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

inline bytes zeros(std::size_t n) { return bytes(n, 0); }

inline bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

// A hex dump with any whitespace in it, as a capture is pasted.
inline bytes from_hex(std::string_view hex) {
    auto nibble = [](char c) {
        return static_cast<std::uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    };
    bytes out;
    int pending = -1;
    for (const char c : hex) {
        if (c == ' ' || c == '\n' || c == '\t') continue;
        if (pending < 0) {
            pending = nibble(c);
        } else {
            out.push_back(static_cast<std::uint8_t>(pending << 4 | nibble(c)));
            pending = -1;
        }
    }
    return out;
}

// The first 240 bytes of a BOOTREQUEST from 00:21:f2:01:1b:19, xid
// 0x3903f326, every address zero, ending with the magic cookie.
inline bytes request_head() {
    return concat({
        {1, 1, 6, 0},                       // op BOOTREQUEST, htype Ethernet, hlen 6, hops
        {0x39, 0x03, 0xf3, 0x26},           // xid
        {0, 0, 0, 0},                       // secs, flags
        zeros(16),                          // ciaddr, yiaddr, siaddr, giaddr
        {0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19}, zeros(10),  // chaddr
        zeros(64),                          // sname
        zeros(128),                         // file
        {99, 130, 83, 99},                  // magic cookie
    });
}

// Byte offsets of the fields that tests write into (RFC 2131 §2).
inline constexpr std::size_t sname_offset = 44;
inline constexpr std::size_t file_offset = 108;

}  // namespace provbox::dhcp::test
