#include "server/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include "dhcp/options.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace provbox::server {
namespace {


class reader {
public:
  explicit reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    const auto mark = node.Mark();
    const std::string where = mark.line >= 0 ? ":" + std::to_string(mark.line + 1) : "";
    throw config_error(name_ + where + ": " + message);
  }

  // Calls the handler of every key of a mapping; keys without a handler are
  // refused, so a typo never silently falls back to a default.
  void mapping(const YAML::Node& node, const std::string& section,
               const std::map<std::string, std::function<void(const YAML::Node&)>>& handlers) const {
    if (node.IsNull()) return;
    if (!node.IsMap()) fail(node, section + " must be a mapping");
    for (const auto& item : node) {
      // A complex key (`? [a, b]`) would make as<string> throw a bare YAML
      // exception, without the file and line.
      if (!item.first.IsScalar() && !item.first.IsNull()) fail(item.first, "keys in " + section + " are names");
      const auto key = item.first.as<std::string>();
      auto handler = handlers.find(key);
      if (handler == handlers.end()) {
        std::string known;
        for (const auto& [name, _] : handlers) known += (known.empty() ? "" : ", ") + name;
        fail(item.first, "unknown key '" + key + "' in " + section + " (known: " + known + ")");
      }
      handler->second(item.second);
    }
  }

  std::string text(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key + " must be a string");
    return node.as<std::string>();
  }

  bool flag(const YAML::Node& node, const std::string& key) const {
    const auto value = text(node, key);
    if (value == "true" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "no" || value == "off") return false;
    fail(node, key + " must be true or false");
  }

  unsigned number(const YAML::Node& node, const std::string& key, unsigned min, unsigned max) const {
    const auto value = text(node, key);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < min || n > max)
      fail(node, key + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return n;
  }

  std::vector<std::string> list(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence()) fail(node, key + " must be a list");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(text(item, key));
    return out;
  }

  listen_address address(const YAML::Node& node, const std::string& key) const {
    auto parsed = parse_listen_address(text(node, key));
    if (!parsed) fail(node, key + " must be HOST:PORT, [IPV6]:PORT or off");
    return *parsed;
  }

private:
  std::string name_;
};

bool is_ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

bool is_ipv4(const std::string& text) {
  in_addr v4{};
  return inet_pton(AF_INET, text.c_str(), &v4) == 1;
}

// "10.0.0.100-10.0.0.200" with first <= last.
bool is_range(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return false;
  in_addr first{}, last{};
  if (inet_pton(AF_INET, text.substr(0, dash).c_str(), &first) != 1 ||
      inet_pton(AF_INET, text.substr(dash + 1).c_str(), &last) != 1)
    return false;
  return ntohl(first.s_addr) <= ntohl(last.s_addr);
}

void parse_dhcp(const reader& r, const YAML::Node& node, config::dhcp_settings& d) {
  auto ipv4_list = [&](const YAML::Node& v, const std::string& key) {
    auto list = r.list(v, key);
    std::size_t i = 0;
    for (const auto& item : v) {
      if (!is_ipv4(list[i++])) r.fail(item, key + " holds IPv4 addresses only");
    }
    return list;
  };
  r.mapping(node, "dhcp",
            {
                {"enabled", [&](const YAML::Node& v) { d.enabled = r.flag(v, "dhcp.enabled"); }},
                {"interface", [&](const YAML::Node& v) { d.interface = r.text(v, "dhcp.interface"); }},
                {"ranges",
                 [&](const YAML::Node& v) {
                   d.ranges = r.list(v, "dhcp.ranges");
                   std::size_t i = 0;
                   for (const auto& item : v)
                     if (!is_range(d.ranges[i++])) r.fail(item, "dhcp.ranges holds FIRST-LAST IPv4 ranges");
                 }},
                {"known_only", [&](const YAML::Node& v) { d.known_only = r.flag(v, "dhcp.known_only"); }},
                {"routers", [&](const YAML::Node& v) { d.routers = ipv4_list(v, "dhcp.routers"); }},
                {"dns_servers", [&](const YAML::Node& v) { d.dns_servers = ipv4_list(v, "dhcp.dns_servers"); }},
                {"domain", [&](const YAML::Node& v) { d.domain = r.text(v, "dhcp.domain"); }},
                {"lease_time", [&](const YAML::Node& v) { d.lease_time = r.number(v, "dhcp.lease_time", 60, 31536000); }},
                {"renewal_time", [&](const YAML::Node& v) { d.renewal_time = r.number(v, "dhcp.renewal_time", 0, 31536000); }},
                {"rebinding_time", [&](const YAML::Node& v) { d.rebinding_time = r.number(v, "dhcp.rebinding_time", 0, 31536000); }},
                {"offer_hold", [&](const YAML::Node& v) { d.offer_hold = r.number(v, "dhcp.offer_hold", 1, 3600); }},
                {"decline_hold", [&](const YAML::Node& v) { d.decline_hold = r.number(v, "dhcp.decline_hold", 1, 604800); }},
                {"unknown_lease_time", [&](const YAML::Node& v) { d.unknown_lease_time = r.number(v, "dhcp.unknown_lease_time", 60, 31536000); }},
                {"unknown_offer_hold", [&](const YAML::Node& v) { d.unknown_offer_hold = r.number(v, "dhcp.unknown_offer_hold", 1, 3600); }},
                {"known_reserve", [&](const YAML::Node& v) { d.known_reserve = r.number(v, "dhcp.known_reserve", 0, 65536); }},
                {"tftp_server", [&](const YAML::Node& v) { d.tftp_server = r.text(v, "dhcp.tftp_server"); }},
                {"boot_file", [&](const YAML::Node& v) { d.boot_file = r.text(v, "dhcp.boot_file"); }},
                {"options",
                 [&](const YAML::Node& v) {
                   if (!v.IsMap()) r.fail(v, "dhcp.options maps option names or codes to values");
                   for (const auto& item : v) {
                     const auto name = r.text(item.first, "dhcp.options name");
                     const auto value = r.text(item.second, "dhcp.options." + name);
                     const auto parsed = dhcp::parse_option_value(name, value);
                     if (!parsed.error.empty()) r.fail(item.second, "dhcp.options." + name + ": " + parsed.error);
                     d.options.emplace_back(name, value);
                   }
                 }},
                {"model_rules",
                 [&](const YAML::Node& v) {
                   if (!v.IsSequence()) r.fail(v, "dhcp.model_rules must be a list");
                   for (const auto& item : v) {
                     config::dhcp_settings::model_rule rule;
                     r.mapping(item, "a dhcp.model_rules entry",
                               {
                                   {"vendor_class", [&](const YAML::Node& x) { rule.vendor_class = r.text(x, "vendor_class"); }},
                                   {"oui", [&](const YAML::Node& x) { rule.oui = r.text(x, "oui"); }},
                                   {"model", [&](const YAML::Node& x) { rule.model = r.text(x, "model"); }},
                               });
                     if (rule.model.empty()) r.fail(item, "a dhcp.model_rules entry needs a model");
                     if (!rule.oui.empty() && !parse_oui(rule.oui)) r.fail(item, "oui must be three bytes, e.g. 00:21:f2");
                     d.model_rules.push_back(rule);
                   }
                 }},
            });
  if (d.enabled && d.interface.empty()) r.fail(node, "dhcp.enabled needs dhcp.interface");
}

}  // namespace

std::optional<std::array<std::uint8_t, 3>> parse_oui(const std::string& text) {
  // 00:21:f2, 00-21-f2 or 0021f2.
  std::string hex;
  for (char ch : text)
    if (ch != ':' && ch != '-') hex += ch;
  if (hex.size() != 6) return std::nullopt;
  std::array<std::uint8_t, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + 2 * i + 2) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(value);
  }
  return out;
}

std::string listen_address::to_string() const {
  if (!enabled) return "off";
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string config::database_path() const {
  return database.empty() ? (std::filesystem::path(data_dir) / "provbox.db").string() : database;
}

std::optional<listen_address> parse_listen_address(const std::string& text) {
  if (text == "off") return listen_address{false, "", 0};
  std::string host;
  std::string port;
  if (text.starts_with("[")) {
    const auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!is_ip_literal(host)) return std::nullopt;
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535) return std::nullopt;
  return listen_address{true, host, static_cast<std::uint16_t>(n)};
}

config parse_config(const std::string& yaml_text, const std::string& name) {
  config c;
  reader r(name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw config_error(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  r.mapping(root, "the configuration",
            {
                {"data_dir", [&](const YAML::Node& n) { c.data_dir = r.text(n, "data_dir"); }},
                {"database", [&](const YAML::Node& n) { c.database = r.text(n, "database"); }},
                {"listen",
                 [&](const YAML::Node& n) {
                   r.mapping(n, "listen",
                             {
                                 {"http", [&](const YAML::Node& v) { c.listen.http = r.address(v, "listen.http"); }},
                                 {"https",
                                  [&](const YAML::Node& v) { c.listen.https = r.address(v, "listen.https"); }},
                                 {"admin",
                                  [&](const YAML::Node& v) { c.listen.admin = r.address(v, "listen.admin"); }},
                                 {"tftp", [&](const YAML::Node& v) { c.listen.tftp = r.address(v, "listen.tftp"); }},
                             });
                 }},
                {"dhcp", [&](const YAML::Node& n) { parse_dhcp(r, n, c.dhcp); }},
                {"tftp",
                 [&](const YAML::Node& n) {
                   auto& t = c.tftp;
                   r.mapping(n, "tftp",
                             {
                                 {"max_blksize", [&](const YAML::Node& v) { t.max_blksize = r.number(v, "tftp.max_blksize", 512, 65464); }},
                                 {"max_windowsize", [&](const YAML::Node& v) { t.max_windowsize = r.number(v, "tftp.max_windowsize", 1, 65535); }},
                                 {"timeout_ms", [&](const YAML::Node& v) { t.timeout_ms = r.number(v, "tftp.timeout_ms", 10, 255000); }},
                                 {"max_retries", [&](const YAML::Node& v) { t.max_retries = r.number(v, "tftp.max_retries", 1, 100); }},
                                 {"max_transfers", [&](const YAML::Node& v) { t.max_transfers = r.number(v, "tftp.max_transfers", 1, 100000); }},
                                 {"max_transfers_per_address", [&](const YAML::Node& v) { t.max_transfers_per_address = r.number(v, "tftp.max_transfers_per_address", 1, 100000); }},
                             });
                 }},
                {"tls",
                 [&](const YAML::Node& n) {
                   r.mapping(n, "tls",
                             {
                                 {"legacy", [&](const YAML::Node& v) { c.tls.legacy = r.flag(v, "tls.legacy"); }},
                                 {"session_cache_size",
                                  [&](const YAML::Node& v) {
                                    c.tls.session_cache_size = r.number(v, "tls.session_cache_size", 0, 1000000);
                                  }},
                                 {"max_handshakes",
                                  [&](const YAML::Node& v) {
                                    c.tls.max_handshakes = r.number(v, "tls.max_handshakes", 1, 100000);
                                  }},
                                 {"server_names",
                                  [&](const YAML::Node& v) { c.tls.server_names = r.list(v, "tls.server_names"); }},
                                 {"server_certificate",
                                  [&](const YAML::Node& v) { c.tls.server_certificate = r.text(v, "tls.server_certificate"); }},
                                 {"server_key",
                                  [&](const YAML::Node& v) { c.tls.server_key = r.text(v, "tls.server_key"); }},
                                 {"server_addresses",
                                  [&](const YAML::Node& v) {
                                    c.tls.server_addresses = r.list(v, "tls.server_addresses");
                                    for (const auto& item : v)
                                      if (!is_ip_literal(item.as<std::string>()))
                                        r.fail(item, "tls.server_addresses holds IP addresses only");
                                  }},
                             });
                 }},
                {"http",
                 [&](const YAML::Node& n) {
                   auto& h = c.http;
                   r.mapping(n, "http",
                             {
                                 {"read_timeout", [&](const YAML::Node& v) { h.read_timeout_s = r.number(v, "http.read_timeout", 1, 3600); }},
                                 {"write_timeout", [&](const YAML::Node& v) { h.write_timeout_s = r.number(v, "http.write_timeout", 1, 86400); }},
                                 {"idle_timeout", [&](const YAML::Node& v) { h.idle_timeout_s = r.number(v, "http.idle_timeout", 1, 3600); }},
                                 {"header_limit", [&](const YAML::Node& v) { h.header_limit = r.number(v, "http.header_limit", 1024, 1 << 20); }},
                                 {"header_count", [&](const YAML::Node& v) { h.header_count = r.number(v, "http.header_count", 8, 1000); }},
                                 {"max_connections", [&](const YAML::Node& v) { h.max_connections = r.number(v, "http.max_connections", 1, 100000); }},
                                 {"max_connections_per_address", [&](const YAML::Node& v) { h.max_connections_per_address = r.number(v, "http.max_connections_per_address", 1, 100000); }},
                             });
                 }},
                {"log",
                 [&](const YAML::Node& n) {
                   r.mapping(n, "log",
                             {
                                 {"format",
                                  [&](const YAML::Node& v) {
                                    c.log.format = r.text(v, "log.format");
                                    if (c.log.format != "text" && c.log.format != "json")
                                      r.fail(v, "log.format must be text or json");
                                  }},
                                 {"level",
                                  [&](const YAML::Node& v) {
                                    c.log.level = r.text(v, "log.level");
                                    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "off"};
                                    if (std::find(std::begin(levels), std::end(levels), c.log.level) == std::end(levels))
                                      r.fail(v, "log.level must be trace, debug, info, warn, error or off");
                                  }},
                             });
                 }},
                {"user", [&](const YAML::Node& n) { c.user = r.text(n, "user"); }},
                {"shutdown_grace", [&](const YAML::Node& n) { c.shutdown_grace_s = r.number(n, "shutdown_grace", 0, 3600); }},
                {"events_per_device", [&](const YAML::Node& n) { c.events_per_device = r.number(n, "events_per_device", 1, 100000); }},
                {"events_max_rows", [&](const YAML::Node& n) { c.events_max_rows = r.number(n, "events_max_rows", 1000, 100000000); }},
                {"events_max_days", [&](const YAML::Node& n) { c.events_max_days = r.number(n, "events_max_days", 1, 3650); }},
            });
  if (c.tls.server_certificate.empty() != c.tls.server_key.empty()) {
    const auto node = root["tls"];
    r.fail(node, "tls.server_certificate and tls.server_key go together");
  }
  return c;
}

config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error(path + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace provbox::server
