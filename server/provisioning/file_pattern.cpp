#include "server/provisioning/file_pattern.hpp"

#include <variant>

#include "server/profile/macro.hpp"
#include "server/profile/render.hpp"

namespace provbox::provisioning {
namespace {

bool is_hex(char c, bool upper) {
  if (c >= '0' && c <= '9') return true;
  return upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f');
}

// Consumes the MAC in the form `name` expands to; returns its length or 0.
std::size_t match_mac(std::string_view name, std::string_view text) {
  if (name == "MA" || name == "MAU") {
    const bool upper = name == "MAU";
    if (text.size() < 12) return 0;
    for (std::size_t i = 0; i < 12; ++i)
      if (!is_hex(text[i], upper)) return 0;
    return 12;
  }
  if (name == "MAC") {
    if (text.size() < 17) return 0;
    for (std::size_t i = 0; i < 17; ++i) {
      if (i % 3 == 2 ? text[i] != ':' : !is_hex(text[i], false)) return 0;
    }
    return 17;
  }
  return 0;
}

}  // namespace

std::optional<profile::mac_address> match_file_pattern(std::string_view pattern, std::string_view path,
                                                       std::string_view product_name) {
  return match_file_pattern(profile::tokenize_macros(pattern), path, product_name);
}

std::optional<profile::mac_address> match_file_pattern(const std::vector<profile::macro_token>& pattern,
                                                       std::string_view path, std::string_view product_name) {
  std::optional<profile::mac_address> mac;
  std::string_view rest = path;
  for (const auto& token : pattern) {
    if (const auto* literal = std::get_if<profile::macro_literal>(&token)) {
      if (!rest.starts_with(literal->text)) return std::nullopt;
      rest.remove_prefix(literal->text.size());
      continue;
    }
    const auto& ref = std::get<profile::macro_reference>(token);
    if (ref.name == "PN") {
      if (!rest.starts_with(product_name)) return std::nullopt;
      rest.remove_prefix(product_name.size());
      continue;
    }
    const auto length = match_mac(ref.name, rest);
    if (length == 0) return std::nullopt;
    mac = profile::mac_address::parse(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  if (!rest.empty() || !mac) return std::nullopt;
  return mac;
}

std::string example_file_name(std::string_view pattern, const profile::mac_address& mac,
                              std::string_view product_name) {
  auto names = profile::builtin_macros({mac, std::string(product_name), "", "", "", ""});
  return profile::expand_macros(pattern, names);
}

}  // namespace provbox::provisioning
