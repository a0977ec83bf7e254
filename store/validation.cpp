#include "store/validation.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "server/profile/macro.hpp"

namespace provbox::store {
namespace {

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF):
// what the inventory stores is printed in tables and JSON.
bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    static constexpr std::uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
    if (cp < minimum[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

bool is_valid_model_name(std::string_view name) {
  // Not "." or "..": the name is $PN, which a file pattern may use as a
  // path segment (prov/$PN/$MAU.conf).
  return !name.empty() && name.size() <= 64 && all_of(name, is_name_char) && name != "." && name != "..";
}

bool is_valid_group_name(std::string_view name) { return is_valid_model_name(name); }

bool is_valid_config_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (char c : name)
    if (c == '/' || c == '\\' || is_control(c)) return false;
  return true;
}

bool is_valid_file_pattern(std::string_view pattern, std::string* why) {
  auto refuse = [&](const char* reason) {
    if (why) *why = reason;
    return false;
  };
  if (pattern.empty() || pattern.size() > 256) return refuse("a pattern has 1 to 256 characters");
  if (pattern.front() == '/') return refuse("a pattern is relative to the server's root (no leading '/')");
  for (char c : pattern)
    if (c == '\\' || is_control(c) || c == '?' || c == '#' || c == '%')
      return refuse("a pattern cannot contain '\\', '?', '#', '%' or control characters");
  int mac_references = 0;
  // The pattern with every macro as one 'x' (no macro a pattern may use
  // expands to a '/'), so path segments are checked whole, however literals
  // and macros make them up.
  std::string shape;
  for (const auto& token : profile::tokenize_macros(pattern)) {
    if (const auto* literal = std::get_if<profile::macro_literal>(&token)) {
      if (literal->text.find('$') != std::string::npos) return refuse("a pattern cannot contain a literal '$'");
      shape += literal->text;
      continue;
    }
    shape += 'x';
    const auto& ref = std::get<profile::macro_reference>(token);
    const bool whole = ref.offset == 0 && !ref.length;
    if (ref.name == "MA" || ref.name == "MAU" || ref.name == "MAC") {
      if (!whole) return refuse("the MAC macro in a pattern cannot take a substring");
      ++mac_references;
    } else if (ref.name != "PN") {
      return refuse("a pattern may use only $MA, $MAU, $MAC and $PN");
    }
  }
  for (std::size_t start = 0; start <= shape.size();) {
    const std::size_t slash = std::min(shape.find('/', start), shape.size());
    const std::string_view segment = std::string_view(shape).substr(start, slash - start);
    if (segment.empty() || segment == "." || segment == "..")
      return refuse("a pattern cannot contain '.', '..' or empty path segments");
    start = slash + 1;
  }
  if (mac_references != 1) return refuse("a pattern names the device by exactly one $MA, $MAU or $MAC");
  return true;
}

bool is_valid_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return false;
  // inet_pton reads a C string: a NUL would hide whatever follows it.
  if (text.find('\0') != std::string_view::npos) return false;
  in_addr addr{};
  return inet_pton(AF_INET, std::string(text).c_str(), &addr) == 1;
}

bool is_valid_encryption_key(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key)
    if (is_control(c) || c == ' ' || c == '[' || c == ']' || static_cast<unsigned char>(c) >= 0x80)
      return false;
  return true;
}

bool is_valid_variable_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || profile::is_builtin_macro(name)) return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

bool is_valid_value(std::string_view value) {
  if (value.size() > 4096 || !is_utf8(value)) return false;
  for (char c : value)
    if (c == '\n' || c == '\r' || c == '\0') return false;
  return true;
}

bool is_valid_text_field(std::string_view text) {
  if (text.size() > 256 || !is_utf8(text)) return false;
  for (char c : text)
    if (is_control(c)) return false;
  return true;
}

}  // namespace provbox::store
