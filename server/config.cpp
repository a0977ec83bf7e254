#include "server/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

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

}  // namespace

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
                             });
                 }},
                {"tls",
                 [&](const YAML::Node& n) {
                   r.mapping(n, "tls",
                             {
                                 {"legacy", [&](const YAML::Node& v) { c.tls.legacy = r.flag(v, "tls.legacy"); }},
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
