#include "tests/simulator/device.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "server/profile/mac_address.hpp"
#include "server/profile/macro.hpp"

namespace provbox::sim {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  return v;
}

bool split_host_port(const std::string& hp, std::string& host, std::uint16_t& port) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos || hp.find(']') != std::string::npos) {
    host = hp;
    return true;
  }
  host = hp.substr(0, colon);
  unsigned p = 0;
  auto digits = std::string_view(hp).substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (ec != std::errc{} || end != digits.data() + digits.size() || p == 0 || p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

std::optional<int> to_int(const std::string& v) {
  int n = 0;
  auto t = trim(v);
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc{} || end != t.data() + t.size() || n < 0) return std::nullopt;
  return n;
}

}  // namespace

std::optional<std::uint64_t> parse_mac(std::string_view text) {
  auto m = profile::mac_address::parse(text);
  if (!m) return std::nullopt;
  std::uint64_t v = 0;
  for (auto b : m->bytes()) v = v << 8 | b;
  return v;
}

identity make_identity(std::uint64_t mac, const std::string& model,
                       const std::string& serial_prefix) {
  profile::mac_address::bytes_type bytes{};
  for (int i = 5; i >= 0; --i, mac >>= 8) bytes[static_cast<std::size_t>(i)] = mac & 0xff;
  profile::mac_address m(bytes);
  identity who;
  who.mac = m.colon_lower();
  who.ma = m.lower_hex();
  who.mau = m.upper_hex();
  who.model = model;
  who.serial = serial_prefix + who.mau;
  return who;
}

rule parse_rule(std::string_view text) {
  rule r;
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close != std::string_view::npos) {
      std::istringstream in(std::string(text.substr(1, close - 1)));
      std::string word;
      while (in >> word) {
        if (word == "--key") {
          std::string k;
          if (in >> k) r.key = k;
        }
      }
      text = trim(text.substr(close + 1));
    }
  }
  r.url = std::string(text);
  return r;
}

std::optional<url> parse_url(const std::string& text, const std::string& option66_server,
                             std::string& why) {
  url u;
  std::string rest = text;
  auto sep = rest.find("://");
  if (sep != std::string::npos) {
    u.scheme = lower(rest.substr(0, sep));
    rest = rest.substr(sep + 3);
  } else {
    u.scheme = "tftp";
  }
  if (u.scheme != "tftp" && u.scheme != "http" && u.scheme != "https") {
    why = "unknown scheme '" + u.scheme + "'";
    return std::nullopt;
  }
  auto slash = rest.find('/');
  std::string hostport = slash == std::string::npos ? rest : rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (hostport.empty()) {
    if (option66_server.empty()) {
      why = "the rule names no server and there is no option 66 server";
      return std::nullopt;
    }
    hostport = option66_server;
  }
  if (!split_host_port(hostport, u.host, u.port) || u.host.empty()) {
    why = "bad server in '" + hostport + "'";
    return std::nullopt;
  }
  if (u.port == 0) u.port = u.scheme == "tftp" ? 69 : u.scheme == "http" ? 80 : 443;
  return u;
}

std::string expand(const identity& who, std::string_view text) {
  profile::macro_table t;
  t.set("MA", who.ma);
  t.set("MAU", who.mau);
  t.set("MAC", who.mac);
  t.set("PN", who.model);
  t.set("SN", who.serial);
  t.set("IP", who.ip);
  t.set("SWVER", who.sw);
  t.set("HWVER", who.hw);
  return profile::expand_macros(text, t);
}

std::map<std::string, std::string> parse_key_values(std::string_view text) {
  std::map<std::string, std::string> kv;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return kv;
}

bool truthy(std::string_view value) {
  auto v = lower(std::string(trim(value)));
  return v == "1" || v == "yes" || v == "enable" || v == "on";
}

void apply_own_settings(settings& s, const std::map<std::string, std::string>& params) {
  auto get = [&](std::string_view k) -> const std::string* {
    auto it = params.find(std::string(k));
    return it == params.end() ? nullptr : &it->second;
  };
  auto number = [&](std::string_view k, int& into) {
    if (auto* v = get(k))
      if (auto n = to_int(*v)) into = *n;
  };
  if (auto* v = get(setting_key::option66)) s.option66 = truthy(*v);
  if (auto* v = get(setting_key::profile_rule)) s.profile_rule = *v;
  if (auto* v = get(setting_key::config_file)) s.config_file = *v;
  number(setting_key::periodic, s.periodic_s);
  number(setting_key::error_retry, s.error_retry_s);
  if (auto* v = get(setting_key::upgrade_enable)) s.upgrade_enable = truthy(*v);
  if (auto* v = get(setting_key::upgrade_rule)) s.upgrade_rule = *v;
  number(setting_key::upgrade_error_retry, s.upgrade_error_retry_s);
  if (auto* v = get(setting_key::resync_after_upgrade)) s.resync_after_upgrade = truthy(*v);
}

std::optional<std::string> firmware_version_of(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  constexpr std::string_view prefix = "firmware/";
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  path.remove_prefix(prefix.size());
  // MODEL/VERSION/FILE: exactly three non-empty parts.
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    auto slash = path.find('/');
    if ((slash == std::string_view::npos) != (i == 2)) return std::nullopt;
    parts[i] = path.substr(0, slash);
    if (parts[i].empty()) return std::nullopt;
    path = i == 2 ? std::string_view{} : path.substr(slash + 1);
  }
  return std::string(parts[1]);
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  char two[3];
  for (unsigned i = 0; i < size; ++i) {
    std::snprintf(two, sizeof two, "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

}  // namespace provbox::sim
