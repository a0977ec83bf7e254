// `provbox serve` configuration: defaults in one struct, YAML over them,
// every unknown key and bad value refused at start with FILE:LINE.
#include "server/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace provbox::server {
namespace {

// Parses `yaml` and returns the config_error's message, or "" if it parsed.
std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "provbox.yaml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

::testing::AssertionResult refused_at(const std::string& yaml, int line, const std::string& words) {
  const auto message = error_of(yaml);
  if (message.empty()) return ::testing::AssertionFailure() << "accepted";
  const auto where = "provbox.yaml:" + std::to_string(line) + ":";
  if (!message.starts_with(where))
    return ::testing::AssertionFailure() << "expected '" << where << "' at the start of: " << message;
  if (message.find(words) == std::string::npos)
    return ::testing::AssertionFailure() << "expected '" << words << "' in: " << message;
  return ::testing::AssertionSuccess() << message;
}

// ---- defaults ----------------------------------------------------------------------

TEST(config_defaults, listeners_are_on_loopback_and_unprivileged_ports) {
  const config c;
  EXPECT_EQ(c.listen.http.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(c.listen.https.to_string(), "127.0.0.1:8443");
  EXPECT_EQ(c.listen.admin.to_string(), "127.0.0.1:9090");
}

TEST(config_defaults, the_database_lives_in_the_data_dir) {
  const config c;
  EXPECT_EQ(c.data_dir, "provbox-data");
  EXPECT_EQ(c.database_path(), "provbox-data/provbox.db");
}

TEST(config_defaults, tls_is_modern_with_a_localhost_certificate) {
  const config c;
  EXPECT_FALSE(c.tls.legacy);
  EXPECT_EQ(c.tls.session_cache_size, 2048u);
  EXPECT_EQ(c.tls.max_handshakes, 256u);
  EXPECT_TRUE(c.tls.server_certificate.empty());  // provbox's own CA issues one
  EXPECT_TRUE(c.tls.server_key.empty());
  EXPECT_EQ(c.tls.server_names, std::vector<std::string>{"localhost"});
  EXPECT_EQ(c.tls.server_addresses, std::vector<std::string>{"127.0.0.1"});
}

TEST(config_defaults, http_limits_log_and_shutdown) {
  const config c;
  EXPECT_EQ(c.http.read_timeout_s, 10u);
  EXPECT_EQ(c.http.write_timeout_s, 60u);
  EXPECT_EQ(c.http.idle_timeout_s, 30u);
  EXPECT_EQ(c.http.header_limit, 8192u);
  EXPECT_EQ(c.http.header_count, 64u);
  EXPECT_EQ(c.http.max_connections, 2048u);
  EXPECT_EQ(c.http.max_connections_per_address, 128u);
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.shutdown_grace_s, 10u);
  EXPECT_EQ(c.events_per_device, 200u);
}

TEST(parse_config, empty_text_gives_the_defaults) {
  const auto c = parse_config("", "provbox.yaml");
  const config defaults;
  EXPECT_EQ(c.data_dir, defaults.data_dir);
  EXPECT_EQ(c.listen.https.to_string(), defaults.listen.https.to_string());
  EXPECT_EQ(c.http.header_limit, defaults.http.header_limit);
}

TEST(parse_config, a_partial_section_keeps_the_other_defaults) {
  const auto c = parse_config("http:\n  read_timeout: 5\n", "provbox.yaml");
  EXPECT_EQ(c.http.read_timeout_s, 5u);
  EXPECT_EQ(c.http.write_timeout_s, 60u);
  EXPECT_EQ(c.listen.http.to_string(), "127.0.0.1:8080");
}

// ---- a full file, every key ---------------------------------------------------------

constexpr const char* full_yaml = R"(# provbox.yaml: every key
data_dir: /var/lib/provbox
database: /var/lib/provbox/inventory.db
listen:
  http: 0.0.0.0:80
  https: "[::]:443"
  admin: off
tls:
  legacy: yes
  session_cache_size: 10000
  max_handshakes: 32
  server_names: [prov.example.net, prov]
  server_addresses: [192.0.2.1, "2001:db8::1"]
  server_certificate: /etc/provbox/server.pem
  server_key: /etc/provbox/server.key
http:
  read_timeout: 5
  write_timeout: 120
  idle_timeout: 15
  header_limit: 16384
  header_count: 100
  max_connections: 500
  max_connections_per_address: 16
log:
  format: json
  level: debug
shutdown_grace: 0
events_per_device: 50
)";

class full_config : public ::testing::Test {
protected:
  config c = parse_config(full_yaml, "provbox.yaml");
};

TEST_F(full_config, paths) {
  EXPECT_EQ(c.data_dir, "/var/lib/provbox");
  EXPECT_EQ(c.database, "/var/lib/provbox/inventory.db");
  EXPECT_EQ(c.database_path(), "/var/lib/provbox/inventory.db");
}

TEST_F(full_config, listeners) {
  EXPECT_TRUE(c.listen.http.enabled);
  EXPECT_EQ(c.listen.http.host, "0.0.0.0");
  EXPECT_EQ(c.listen.http.port, 80);
  EXPECT_TRUE(c.listen.https.enabled);
  EXPECT_EQ(c.listen.https.host, "::");
  EXPECT_EQ(c.listen.https.port, 443);
  EXPECT_FALSE(c.listen.admin.enabled);
}

TEST_F(full_config, tls) {
  EXPECT_TRUE(c.tls.legacy);
  EXPECT_EQ(c.tls.session_cache_size, 10000u);
  EXPECT_EQ(c.tls.max_handshakes, 32u);
  EXPECT_EQ(c.tls.server_names, (std::vector<std::string>{"prov.example.net", "prov"}));
  EXPECT_EQ(c.tls.server_addresses, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
  EXPECT_EQ(c.tls.server_certificate, "/etc/provbox/server.pem");
  EXPECT_EQ(c.tls.server_key, "/etc/provbox/server.key");
}

TEST_F(full_config, http) {
  EXPECT_EQ(c.http.read_timeout_s, 5u);
  EXPECT_EQ(c.http.write_timeout_s, 120u);
  EXPECT_EQ(c.http.idle_timeout_s, 15u);
  EXPECT_EQ(c.http.header_limit, 16384u);
  EXPECT_EQ(c.http.header_count, 100u);
  EXPECT_EQ(c.http.max_connections, 500u);
  EXPECT_EQ(c.http.max_connections_per_address, 16u);
}

TEST_F(full_config, log_shutdown_and_events) {
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.shutdown_grace_s, 0u);
  EXPECT_EQ(c.events_per_device, 50u);
}

TEST(parse_config, booleans_take_true_false_yes_no_on_off) {
  for (const char* word : {"true", "yes", "on"})
    EXPECT_TRUE(parse_config(std::string("tls:\n  legacy: ") + word + "\n", "x").tls.legacy) << word;
  for (const char* word : {"false", "no", "off"})
    EXPECT_FALSE(parse_config(std::string("tls:\n  legacy: ") + word + "\n", "x").tls.legacy) << word;
}

// A file of its own per test, removed afterwards.
class config_file : public ::testing::Test {
protected:
  void TearDown() override { std::filesystem::remove(path_); }
  std::string write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_.string();
  }
  std::filesystem::path path_ = std::filesystem::path(::testing::TempDir()) /
                                ("provbox-config-" + std::to_string(::getpid()) + "-" +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml");
};

TEST_F(config_file, load_config_reads_the_file) {
  EXPECT_EQ(load_config(write("log:\n  format: json\n")).log.format, "json");
}

TEST_F(config_file, load_config_names_the_file_and_line_in_errors) {
  const auto path = write("log:\n  format: xml\n");
  try {
    load_config(path);
    ADD_FAILURE() << "accepted log.format xml";
  } catch (const config_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(path + ":2:")) << e.what();
  }
}

TEST(load_config, a_missing_file_is_a_config_error) {
  EXPECT_THROW(load_config("/nonexistent/provbox.yaml"), config_error);
}

// ---- unknown keys --------------------------------------------------------------------

TEST(parse_config, an_unknown_top_level_key_is_refused_with_its_line) {
  EXPECT_TRUE(refused_at("data_dir: /srv\n"
                         "\n"
                         "lisen:\n"
                         "  http: 0.0.0.0:80\n",
                         3, "unknown key 'lisen'"));
}

TEST(parse_config, an_unknown_nested_key_is_refused_with_its_line) {
  EXPECT_TRUE(refused_at("listen:\n"
                         "  http: 0.0.0.0:80\n"
                         "  htps: 0.0.0.0:443\n",
                         3, "unknown key 'htps' in listen"));
}

TEST(parse_config, an_unknown_key_lists_the_known_ones) {
  EXPECT_TRUE(refused_at("log:\n  colour: yes\n", 2, "known: format, level"));
}

TEST(parse_config, a_section_that_is_not_a_mapping_is_refused) {
  EXPECT_TRUE(refused_at("data_dir: /srv\nhttp: 5\n", 2, "http must be a mapping"));
}

TEST(parse_config, a_document_that_is_not_a_mapping_is_refused) {
  EXPECT_FALSE(error_of("- a\n- b\n").empty());
}

TEST(parse_config, malformed_yaml_is_a_config_error_with_a_line) {
  EXPECT_TRUE(refused_at("data_dir: /srv\nlisten:\n  http: [unclosed\n", 4, ""));
}

TEST(parse_config, a_key_that_is_not_a_name_is_refused_with_its_line) {
  EXPECT_TRUE(refused_at("data_dir: /srv\n? [a, b]\n: 1\n", 2, "key"));
}

TEST(parse_config, a_null_key_is_refused) {
  EXPECT_TRUE(refused_at("listen:\n  ~: 0.0.0.0:80\n", 2, "unknown key"));
}

// ---- bad values ----------------------------------------------------------------------

TEST(parse_config, port_0_is_refused) {
  EXPECT_TRUE(refused_at("listen:\n  http: 0.0.0.0:0\n", 2, "listen.http"));
}

TEST(parse_config, port_70000_is_refused) {
  EXPECT_TRUE(refused_at("listen:\n  admin: 127.0.0.1:70000\n", 2, "listen.admin"));
}

TEST(parse_config, a_host_name_is_not_a_listen_address) {
  EXPECT_TRUE(refused_at("listen:\n  https: localhost:80\n", 2, "listen.https"));
}

TEST(parse_config, a_session_cache_beyond_a_million_is_refused) {
  EXPECT_TRUE(refused_at("tls:\n  session_cache_size: 1000001\n", 2,
                         "tls.session_cache_size must be a whole number from 0 to 1000000"));
  EXPECT_EQ(parse_config("tls:\n  session_cache_size: 0\n", "x").tls.session_cache_size, 0u);
}

TEST(parse_config, a_bad_bool_is_refused) {
  EXPECT_TRUE(refused_at("tls:\n  legacy: maybe\n", 2, "tls.legacy must be true or false"));
}

TEST(parse_config, a_number_below_the_range_is_refused) {
  EXPECT_TRUE(refused_at("http:\n  read_timeout: 0\n", 2, "http.read_timeout must be a whole number from 1 to 3600"));
}

TEST(parse_config, a_number_above_the_range_is_refused) {
  EXPECT_TRUE(refused_at("http:\n  header_count: 1001\n", 2, "http.header_count"));
}

TEST(parse_config, a_negative_number_is_refused) {
  EXPECT_TRUE(refused_at("shutdown_grace: -1\n", 1, "shutdown_grace"));
}

TEST(parse_config, a_fraction_is_refused) {
  EXPECT_TRUE(refused_at("events_per_device: 2.5\n", 1, "events_per_device"));
}

TEST(parse_config, a_number_beyond_unsigned_is_refused) {
  EXPECT_TRUE(refused_at("http:\n  max_connections: 99999999999999999999\n", 2, "http.max_connections"));
}

TEST(parse_config, log_format_xml_is_refused) {
  EXPECT_TRUE(refused_at("log:\n  level: warn\n  format: xml\n", 3, "log.format must be text or json"));
}

TEST(parse_config, an_unknown_log_level_is_refused) {
  EXPECT_TRUE(refused_at("log:\n  level: verbose\n", 2, "log.level"));
}

TEST(parse_config, a_host_name_in_server_addresses_is_refused) {
  EXPECT_TRUE(refused_at("tls:\n  server_addresses:\n    - 192.0.2.1\n    - prov.example.net\n", 4,
                         "tls.server_addresses"));
}

TEST(parse_config, a_server_certificate_without_its_key_is_refused) {
  EXPECT_TRUE(refused_at("data_dir: /srv\ntls:\n  server_certificate: /etc/provbox/server.pem\n", 3,
                         "tls.server_certificate and tls.server_key go together"));
}

TEST(parse_config, server_names_must_be_a_list) {
  EXPECT_TRUE(refused_at("tls:\n  server_names: prov.example.net\n", 2, "tls.server_names must be a list"));
}

TEST(parse_config, a_mapping_where_a_string_belongs_is_refused) {
  EXPECT_TRUE(refused_at("data_dir:\n  path: /srv\n", 2, "data_dir must be a string"));
}

// ---- parse_listen_address ---------------------------------------------------------------

TEST(parse_listen_address, ipv4_and_port) {
  const auto a = parse_listen_address("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->enabled);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
}

TEST(parse_listen_address, bracketed_ipv6_and_port) {
  const auto a = parse_listen_address("[::1]:8443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 8443);
  EXPECT_EQ(a->to_string(), "[::1]:8443");
}

TEST(parse_listen_address, off_disables_the_listener) {
  const auto a = parse_listen_address("off");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->enabled);
  EXPECT_EQ(a->to_string(), "off");
}

// ---- dhcp: clients outside the inventory (issue 12, finding 6) ----------------------------

TEST(parse_config, dhcp_short_leases_and_reserve_for_clients_outside_the_inventory) {
  const config defaults;
  EXPECT_EQ(defaults.dhcp.unknown_lease_time, 600u);
  EXPECT_EQ(defaults.dhcp.unknown_offer_hold, 10u);
  EXPECT_EQ(defaults.dhcp.known_reserve, 2u);
  const auto c = parse_config("dhcp:\n  unknown_lease_time: 300\n  unknown_offer_hold: 5\n  known_reserve: 0\n",
                              "provbox.yaml");
  EXPECT_EQ(c.dhcp.unknown_lease_time, 300u);
  EXPECT_EQ(c.dhcp.unknown_offer_hold, 5u);
  EXPECT_EQ(c.dhcp.known_reserve, 0u);
  EXPECT_TRUE(refused_at("dhcp:\n  unknown_lease_time: 59\n", 2, "dhcp.unknown_lease_time must be a whole number from 60"));
  EXPECT_TRUE(refused_at("dhcp:\n  unknown_offer_hold: 0\n", 2, "dhcp.unknown_offer_hold must be a whole number from 1 to 3600"));
  EXPECT_TRUE(refused_at("dhcp:\n  known_reserve: -1\n", 2, "dhcp.known_reserve must be a whole number from 0 to 65536"));
}

// ---- tftp: the per-address limit (issue 12) ----------------------------------------

TEST(parse_config, tftp_max_transfers_per_address_defaults_to_64_and_is_bounded) {
  EXPECT_EQ(config{}.tftp.max_transfers_per_address, 64u);
  const auto c = parse_config("tftp:\n  max_transfers: 1000\n  max_transfers_per_address: 200\n", "x");
  EXPECT_EQ(c.tftp.max_transfers, 1000u);
  EXPECT_EQ(c.tftp.max_transfers_per_address, 200u);
  EXPECT_TRUE(refused_at("tftp:\n  max_transfers_per_address: 0\n", 2,
                         "tftp.max_transfers_per_address must be a whole number from 1 to 100000"));
}

TEST(parse_listen_address, highest_port) {
  const auto a = parse_listen_address("0.0.0.0:65535");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 65535);
}

TEST(parse_listen_address, malformed_addresses_are_refused) {
  for (const char* text : {"1.2.3.4", ":80", "[::1]8080", "[::1]", "::1:80", "localhost:80", "1.2.3.4:",
                           "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:70000", "1.2.3.4:+80", "1.2.3.4:80x",
                           "1.2.3.4: 80", "1.2.3.256:80", "", "OFF"})
    EXPECT_FALSE(parse_listen_address(text)) << '"' << text << '"';
}

}  // namespace
}  // namespace provbox::server
