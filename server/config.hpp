#pragma once
// `provbox serve` configuration: plain structs with every default in one
// place. yaml-cpp is used in config.cpp only; the rest of the code takes a
// `const config&`.
#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace provbox::server {

// "127.0.0.1:8080", "[::1]:8443", or off.
struct listen_address {
  bool enabled = true;
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};

struct config {
  std::string data_dir = "provbox-data";
  std::string database;  // "" means DATA_DIR/provbox.db

  // The embedded default: loopback and unprivileged ports, so a first start
  // needs no root and touches no LAN. Production configs set 0.0.0.0:80 etc.
  struct listeners {
    listen_address http{true, "127.0.0.1", 8080};
    listen_address https{true, "127.0.0.1", 8443};
    listen_address admin{true, "127.0.0.1", 9090};
    listen_address tftp{true, "127.0.0.1", 6969};
  } listen;

  struct tftp_settings {
    unsigned max_blksize = 65464;    // RFC 2348 allows 8..65464; 1468 suits embedded clients behind a 1500 MTU
    unsigned max_windowsize = 64;    // RFC 7440
    unsigned timeout_ms = 1000;      // retransmission timeout when the client asks for none
    unsigned max_retries = 5;        // timeouts in a row before a transfer is given up
    unsigned max_transfers = 512;    // concurrent transfers; when full, the oldest unanswered one gives way, else "server busy"
    unsigned max_transfers_per_address = 64;  // concurrent transfers per client address (NAT'd sites share one); more get "server busy"
  } tftp;

  struct tls_settings {
    bool legacy = false;                     // TLS 1.0/1.1 and SECLEVEL=0 for old phones
    unsigned session_cache_size = 2048;      // sessions kept for resumption, ~11 KB each
    unsigned max_handshakes = 256;           // handshakes in flight, up to ~100 KB each; more wait their turn
    std::vector<std::string> server_names{"localhost"};       // DNS names in the server certificate
    std::vector<std::string> server_addresses{"127.0.0.1"};  // IP addresses in it
    // The operator's own server certificate and key (PEM), instead of one
    // issued by the device CA. Both or neither.
    std::string server_certificate;
    std::string server_key;
  } tls;

  // DHCPv4 with option 66. Off by default: a rogue DHCP server breaks a LAN.
  struct dhcp_settings {
    bool enabled = false;
    std::string interface;              // required when enabled
    std::vector<std::string> ranges;    // "FIRST-LAST", inside the interface's subnet
    bool known_only = false;            // answer only inventory devices
    std::vector<std::string> routers;   // option 3
    std::vector<std::string> dns_servers;  // option 6
    std::string domain;                 // option 15
    unsigned lease_time = 3600;         // seconds (option 51)
    unsigned renewal_time = 0;          // T1; 0: half the lease
    unsigned rebinding_time = 0;        // T2; 0: 7/8 of the lease
    unsigned offer_hold = 30;           // seconds an offer waits for its request
    unsigned decline_hold = 3600;       // seconds a declined address is set aside
    // Clients outside the inventory: short leases and holds, so a scan's
    // addresses come back within minutes (capped at lease_time, offer_hold).
    unsigned unknown_lease_time = 600;  // seconds (option 51)
    unsigned unknown_offer_hold = 10;   // seconds
    unsigned known_reserve = 2;         // free pool addresses they never take; more while devices wait
    std::string tftp_server;            // option 66; "" = this server's address on the interface
    std::string boot_file;              // option 67 for clients of unknown model; "" = none
    std::vector<std::pair<std::string, std::string>> options;  // name or code -> value (150, 160, 43, 60...)
    struct model_rule {
      std::string vendor_class;  // prefix of option 60; "" matches any
      std::string oui;           // 00:21:f2; "" matches any
      std::string model;         // its Config File Name becomes option 67
    };
    std::vector<model_rule> model_rules;
  } dhcp;

  struct http_settings {
    unsigned read_timeout_s = 10;   // to read one request, headers included
    unsigned write_timeout_s = 60;  // to write one response
    unsigned idle_timeout_s = 30;   // keep-alive between requests
    unsigned header_limit = 8192;   // bytes of request line and headers
    unsigned header_count = 64;     // header fields per request
    unsigned max_connections = 2048;              // per device listener (HTTP, HTTPS); admin has its own 64
    unsigned max_connections_per_address = 128;   // per device listener and client address (NAT'd sites share one)
  } http;

  struct log_settings {
    std::string format = "text";  // text or json
    std::string level = "info";   // trace debug info warn error off
  } log;

  // Started as root outside systemd, become this user once the ports are
  // bound ("" means the 'provbox' user if it exists).
  std::string user;
  unsigned shutdown_grace_s = 10;  // transfers in flight may finish within this
  unsigned events_per_device = 200;
  // The event table as a whole, whatever the number of devices or requesters
  // (a row is about 150 bytes with its index): the newest rows up to this
  // many, none older than events_max_days.
  unsigned events_max_rows = 500000;
  unsigned events_max_days = 90;

  std::string database_path() const;
};

class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// "00:21:f2", "00-21-f2" or "0021f2": a MAC prefix in dhcp.model_rules.
std::optional<std::array<std::uint8_t, 3>> parse_oui(const std::string& text);

// Parses "HOST:PORT", "[V6]:PORT" or "off"; nullopt when malformed.
std::optional<listen_address> parse_listen_address(const std::string& text);

// Reads a YAML file over the defaults. Unknown keys and bad values are
// refused with FILE:LINE: what is wrong.
config load_config(const std::string& path);
// The same from text (tests, `config check`); `name` is used in messages.
config parse_config(const std::string& yaml_text, const std::string& name);

}  // namespace provbox::server
