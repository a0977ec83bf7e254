#include "server/profile/mac_address.hpp"

namespace provbox::profile {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads 12 hex digits, allowing `separator` after every `group` digits (and
// nowhere else). group == 0 means no separators at all.
std::optional<mac_address> parse_grouped(std::string_view text, char separator, std::size_t group) {
  mac_address::bytes_type bytes{};
  std::size_t digits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (group != 0 && digits > 0 && digits % group == 0 && digits < 12 && c == separator) {
      // A separator is only valid right after a full group and must be
      // followed by a digit, not by another separator.
      if (i + 1 >= text.size() || hex_value(text[i + 1]) < 0) return std::nullopt;
      continue;
    }
    const int v = hex_value(c);
    if (v < 0 || digits >= 12) return std::nullopt;
    // Exactly one separator between groups: the digit count tells whether
    // one was required before this digit.
    if (group != 0 && digits > 0 && digits % group == 0 && text[i - 1] != separator) return std::nullopt;
    bytes[digits / 2] = static_cast<std::uint8_t>((bytes[digits / 2] << 4) | v);
    ++digits;
  }
  if (digits != 12) return std::nullopt;
  return mac_address{bytes};
}

std::string to_hex(const mac_address::bytes_type& bytes, const char* digits, bool colons) {
  std::string out;
  out.reserve(17);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (colons && i > 0) out.push_back(':');
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0x0f]);
  }
  return out;
}

}  // namespace

std::optional<mac_address> mac_address::parse(std::string_view text) {
  switch (text.size()) {
    case 12: return parse_grouped(text, 0, 0);
    case 14: return parse_grouped(text, '.', 4);
    case 17:
      if (text[2] == ':' || text[2] == '-') return parse_grouped(text, text[2], 2);
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::optional<mac_address> mac_address::parse_device(std::string_view text, std::string& error) {
  auto mac = parse(text);
  if (!mac) {
    error = "invalid MAC address '" + std::string(text) +
            "' (expected 00:21:F2:01:1B:19, 00-21-f2-01-1b-19, 0021f2011b19 or 0021.f201.1b19)";
    return std::nullopt;
  }
  if (*mac == mac_address{}) {
    error = "MAC address 00:00:00:00:00:00 is not a device address";
    return std::nullopt;
  }
  // The I/G bit of the first octet marks group (multicast and broadcast)
  // addresses, which no network interface owns.
  if (mac->bytes()[0] & 0x01) {
    error = "MAC address " + mac->colon_lower() + " is a multicast or broadcast address";
    return std::nullopt;
  }
  return mac;
}

std::string mac_address::lower_hex() const { return to_hex(bytes_, "0123456789abcdef", false); }
std::string mac_address::upper_hex() const { return to_hex(bytes_, "0123456789ABCDEF", false); }
std::string mac_address::colon_lower() const { return to_hex(bytes_, "0123456789abcdef", true); }

}  // namespace provbox::profile
