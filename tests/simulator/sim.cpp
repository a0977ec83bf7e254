// provbox-sim: simulated Flying Voice devices (seed sections 2.1, 2.2, 3, 4)
// against a real provisioning server. One process, one thread, one coroutine
// per device, each with its own MAC, settings and timers.
//
// What a device does (the seed's Provision page):
//   power on -> wait a random 0..Resync Random Delay (when Resync On Reset)
//   resync:   Option 66 on and an option 66 server known -> TFTP Config File Name
//             from it; else the Profile Rule: `[--key K]` prefix, macros
//             (MA MAU MAC PN SN IP SWVER HWVER) expanded by the device itself,
//             then tftp://, http:// or https:// (mutual TLS with the device's
//             cacert.pem / sslclientcert.pem / sslclientkey.pem)
//   the file: decrypted when the rule has --key; KEY=VALUE lines; applied ONLY
//             when DBID_DBASE_VERSION differs from the applied one
//   the file may change the device's own provisioning settings:
//             DBID_PRV_OPTION66_ENABLED, DBID_PRV_PROFILE_RULE,
//             DBID_PRV_CONFIG_FILE_NAME, DBID_PRV_RESYNC_PERIODIC,
//             DBID_PRV_RESYNC_ERROR_RETRY_DELAY (names chosen by the simulator;
//             the vendor's real names for all but the first are not public)
//   then:     next resync after Resync Periodic (success) or Resync Error Retry
//             Delay (failure); Resync Periodic 0 stops after the first success.
// Not simulated yet: DHCP acquisition, the Upgrade Rule (firmware), Forced
// Resync Delay.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "server/provisioning/json_text.hpp"
#include "server/profile/cipher.hpp"
#include "server/profile/macro.hpp"
#include "tftp/packet.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

namespace {

struct settings {
  bool provision_enable = true;
  bool resync_on_reset = true;
  int random_delay_s = 40;
  int periodic_s = 3600;
  int error_retry_s = 3600;
  bool option66 = true;
  std::string config_file;   // default <model>.conf
  std::string profile_rule;  // empty by default
  bool upgrade_enable = true;
  std::string upgrade_rule;  // not acted on yet
};

struct device {
  std::string mac;  // 00:21:f2:01:1b:19
  std::string ma;   // 0021f2011b19
  std::string mau;  // 0021F2011B19
  std::string model, serial, sw, hw, ip;
  settings s;
  std::string cert_mau;  // whose certificate bundle it holds (normally its own)
  std::shared_ptr<ssl::context> tls;
  // state and counters
  std::optional<std::string> applied_version;
  std::map<std::string, std::string> params;
  std::map<std::string, unsigned> fetches_by_scheme;
  unsigned resyncs = 0, fetches = 0, applies = 0, unchanged = 0, failures = 0, retries = 0;
  bool last_failed = false;
  std::string last_url, last_error, last_scheme;
};

struct options {
  int devices = 1;
  std::string mac_base = "00:21:f2:01:1b:19";
  std::string model = "IP542N";
  std::string serial_prefix = "SIM";
  std::string sw = "v3.3.8", hw = "v1.0.1", ip = "127.0.0.1";
  settings s;
  bool option66_set = false;
  std::string option66_server;  // host:port, as DHCP option 66 would give it
  std::string cert_dir;
  std::string cert_mac;  // use this MAC's bundle instead of the device's own
  double duration_s = 0;
  std::string report;
  unsigned seed = 0;
  bool seed_set = false;
  bool verbose = false;
};

options opt;
std::mt19937 rng;
bool stopping = false;
int running = 0;
std::function<void()> all_done;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::uint64_t> parse_mac(std::string_view text) {
  std::uint64_t v = 0;
  int digits = 0;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') continue;
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = v << 4 | static_cast<unsigned>(d);
    ++digits;
  }
  if (digits != 12) return std::nullopt;
  return v;
}

std::string hex12(std::uint64_t v) {
  char b[13];
  std::snprintf(b, sizeof b, "%012llx", static_cast<unsigned long long>(v & 0xffffffffffffULL));
  return b;
}

std::string colon_mac(const std::string& ma) {
  std::string out;
  for (std::size_t i = 0; i < 12; i += 2) {
    if (i) out += ':';
    out += ma.substr(i, 2);
  }
  return out;
}

// The escaped text without its quotes (the report writes its own).
std::string json_escape(std::string_view s) {
  const auto quoted = provbox::provisioning::json_string(s);
  return quoted.substr(1, quoted.size() - 2);
}

void log(const device& d, const std::string& what) {
  if (opt.verbose) std::cerr << "provbox-sim " << d.mac << ": " << what << "\n";
}

// ---- rule and URL -----------------------------------------------------------

struct rule {
  std::optional<std::string> key;
  std::string url;  // as written, before expansion
};

// `[--key K] URL`. Unknown options in the brackets are ignored, as the device
// would ignore what it does not know.
rule parse_rule(std::string_view text) {
  rule r;
  auto trim = [](std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return v;
  };
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

struct url {
  std::string scheme;  // tftp, http, https
  std::string host;
  std::uint16_t port = 0;
  std::string path;    // starts with '/'
};

bool split_host_port(const std::string& hp, std::string& host, std::uint16_t& port) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos || hp.find(']') != std::string::npos) {
    host = hp;
    return true;
  }
  host = hp.substr(0, colon);
  try {
    auto p = std::stoul(hp.substr(colon + 1));
    if (p == 0 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

// `[scheme://][server[:port]]/path` (seed 2.2); tftp by default; no server
// means the option 66 server.
std::optional<url> parse_url(const std::string& text, std::string& why) {
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
    if (opt.option66_server.empty()) {
      why = "the rule names no server and there is no option 66 server";
      return std::nullopt;
    }
    hostport = opt.option66_server;
  }
  if (!split_host_port(hostport, u.host, u.port)) {
    why = "bad port in '" + hostport + "'";
    return std::nullopt;
  }
  if (u.port == 0) u.port = u.scheme == "tftp" ? 69 : u.scheme == "http" ? 80 : 443;
  return u;
}

std::string expand(const device& d, std::string_view text) {
  provbox::profile::macro_table t;
  t.set("MA", d.ma);
  t.set("MAU", d.mau);
  t.set("MAC", d.mac);
  t.set("PN", d.model);
  t.set("SN", d.serial);
  t.set("IP", d.ip);
  t.set("SWVER", d.sw);
  t.set("HWVER", d.hw);
  return provbox::profile::expand_macros(text, t);
}

// ---- fetching ---------------------------------------------------------------

struct fetch_result {
  bool ok = false;
  std::string body;
  std::string error;
};

awaitable<fetch_result> tftp_get(const url& u) {
  namespace tftp = provbox::tftp;
  auto ex = co_await asio::this_coro::executor;
  fetch_result res;
  asio::ip::udp::resolver resolver(ex);
  auto eps = co_await resolver.async_resolve(asio::ip::udp::v4(), u.host, std::to_string(u.port),
                                             use_awaitable);
  if (eps.empty()) {
    res.error = "cannot resolve " + u.host;
    co_return res;
  }
  asio::ip::udp::endpoint server = *eps.begin();
  asio::ip::udp::socket sock(ex, asio::ip::udp::endpoint(server.protocol(), 0));
  std::vector<std::uint8_t> out;
  tftp::request rq;
  rq.op = tftp::opcode::rrq;
  rq.filename = u.path.size() > 1 && u.path[0] == '/' ? u.path.substr(1) : u.path;
  rq.mode = tftp::transfer_mode::octet;
  tftp::encode_request(rq, out);
  co_await sock.async_send_to(asio::buffer(out), server, use_awaitable);

  std::optional<asio::ip::udp::endpoint> peer;  // the server's transfer port
  std::uint16_t expected = 1;
  int timeouts = 0;
  std::vector<std::uint8_t> in(65536);
  asio::steady_timer timer(ex);
  bool timed_out = false;
  for (;;) {
    timed_out = false;
    timer.expires_after(1s);
    timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) {
        timed_out = true;
        sock.cancel();
      }
    });
    asio::ip::udp::endpoint from;
    auto [ec, n] = co_await sock.async_receive_from(asio::buffer(in), from,
                                                    asio::as_tuple(use_awaitable));
    timer.cancel();
    if (ec && !timed_out) {
      res.error = "TFTP receive: " + ec.message();
      co_return res;
    }
    if (timed_out) {
      if (++timeouts > 5) {
        res.error = "TFTP timeout";
        co_return res;
      }
      co_await sock.async_send_to(asio::buffer(out), peer ? *peer : server, use_awaitable);
      continue;
    }
    if (peer && from != *peer) {
      auto e = tftp::error_packet(tftp::error_code::unknown_transfer_id);
      co_await sock.async_send_to(asio::buffer(e), from, use_awaitable);
      continue;
    }
    auto dec = tftp::decode(std::span<const std::uint8_t>(in.data(), n));
    if (!dec) continue;
    if (auto* e = std::get_if<tftp::error>(&dec.value())) {
      res.error = "TFTP error " + std::to_string(static_cast<unsigned>(e->code)) + ": " + e->message;
      co_return res;
    }
    auto* dt = std::get_if<tftp::data>(&dec.value());
    if (!dt) continue;
    if (!peer) peer = from;
    if (dt->block == expected) {
      res.body.append(dt->payload.begin(), dt->payload.end());
      tftp::encode_ack(dt->block, out);
      ++expected;
      timeouts = 0;
      co_await sock.async_send_to(asio::buffer(out), *peer, use_awaitable);
      if (dt->payload.size() < tftp::default_blksize) {
        res.ok = true;
        co_return res;
      }
    } else if (static_cast<std::uint16_t>(dt->block + 1) == expected) {
      // Our ACK was lost: acknowledge again (the server resends on timeout only).
      co_await sock.async_send_to(asio::buffer(out), *peer, use_awaitable);
    }
  }
}

std::shared_ptr<ssl::context> tls_context_for(device& d, std::string& why) {
  if (d.tls) return d.tls;
  if (opt.cert_dir.empty()) {
    why = "https needs --cert-dir";
    return nullptr;
  }
  auto dir = std::filesystem::path(opt.cert_dir) / (d.cert_mau + "-certs");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->load_verify_file((dir / "cacert.pem").string(), ec);
  if (!ec) ctx->use_certificate_chain_file((dir / "sslclientcert.pem").string(), ec);
  if (!ec) ctx->use_private_key_file((dir / "sslclientkey.pem").string(), ssl::context::pem, ec);
  if (ec) {
    why = "certificate bundle " + dir.string() + ": " + ec.message();
    return nullptr;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  d.tls = ctx;
  return ctx;
}

awaitable<fetch_result> http_get(const url& u, device& d) {
  auto ex = co_await asio::this_coro::executor;
  fetch_result res;
  asio::ip::tcp::resolver resolver(ex);
  auto eps = co_await resolver.async_resolve(u.host, std::to_string(u.port), use_awaitable);
  http::request<http::empty_body> req{http::verb::get, u.path, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "FLYINGVOICE " + d.model + " " + d.sw + " " + d.mau + " (provbox-sim)");
  req.set(http::field::connection, "close");
  http::response<http::string_body> resp;
  beast::flat_buffer buf;
  if (u.scheme == "http") {
    beast::tcp_stream s(ex);
    s.expires_after(10s);
    co_await s.async_connect(eps, use_awaitable);
    co_await http::async_write(s, req, use_awaitable);
    co_await http::async_read(s, buf, resp, use_awaitable);
  } else {
    auto ctx = tls_context_for(d, res.error);
    if (!ctx) co_return res;
    beast::ssl_stream<beast::tcp_stream> s(ex, *ctx);
    boost::system::error_code ec;
    asio::ip::make_address(u.host, ec);
    if (ec) SSL_set_tlsext_host_name(s.native_handle(), u.host.c_str());
    s.set_verify_callback(ssl::host_name_verification(u.host));
    beast::get_lowest_layer(s).expires_after(10s);
    co_await beast::get_lowest_layer(s).async_connect(eps, use_awaitable);
    co_await s.async_handshake(ssl::stream_base::client, use_awaitable);
    co_await http::async_write(s, req, use_awaitable);
    co_await http::async_read(s, buf, resp, use_awaitable);
  }
  if (resp.result_int() != 200) {
    res.error = "HTTP " + std::to_string(resp.result_int());
    co_return res;
  }
  res.body = std::move(resp.body());
  res.ok = true;
  co_return res;
}

// ---- one resync -------------------------------------------------------------

bool truthy(const std::string& v) { return v == "1" || lower(v) == "yes" || lower(v) == "enable"; }

void apply_own_settings(device& d) {
  auto get = [&](const char* k) -> const std::string* {
    auto it = d.params.find(k);
    return it == d.params.end() ? nullptr : &it->second;
  };
  if (auto* v = get("DBID_PRV_OPTION66_ENABLED")) d.s.option66 = truthy(*v);
  if (auto* v = get("DBID_PRV_PROFILE_RULE")) d.s.profile_rule = *v;
  if (auto* v = get("DBID_PRV_CONFIG_FILE_NAME")) d.s.config_file = *v;
  try {
    if (auto* v = get("DBID_PRV_RESYNC_PERIODIC")) d.s.periodic_s = std::stoi(*v);
    if (auto* v = get("DBID_PRV_RESYNC_ERROR_RETRY_DELAY")) d.s.error_retry_s = std::stoi(*v);
  } catch (...) {
  }
}

awaitable<bool> resync(device& d) {
  ++d.resyncs;
  std::string target;
  std::optional<std::string> key;
  if (d.s.option66 && !opt.option66_server.empty()) {
    target = "tftp://" + opt.option66_server + "/" + d.s.config_file;
  } else if (!d.s.profile_rule.empty()) {
    auto r = parse_rule(d.s.profile_rule);
    key = r.key;
    target = expand(d, r.url);
  } else {
    d.last_error = "nothing to fetch: option 66 has no server and the Profile Rule is empty";
    co_return false;
  }
  std::string why;
  auto u = parse_url(target, why);
  d.last_url = target;
  if (!u) {
    d.last_error = why;
    co_return false;
  }
  d.last_scheme = u->scheme;
  ++d.fetches;
  ++d.fetches_by_scheme[u->scheme];
  fetch_result got;
  try {
    if (u->scheme == "tftp") {
      got = co_await tftp_get(*u);
    } else {
      got = co_await http_get(*u, d);
    }
  } catch (const std::exception& e) {
    got.ok = false;
    got.error = e.what();
  }
  if (!got.ok) {
    d.last_error = u->scheme + " " + target + ": " + got.error;
    log(d, "fetch failed: " + d.last_error);
    co_return false;
  }
  std::string text = std::move(got.body);
  if (key) {
    auto plain = provbox::profile::decrypt_profile(text, *key);
    if (!plain.plain) {
      d.last_error = "decrypt: " + std::string(provbox::profile::describe(plain.error));
      log(d, d.last_error);
      co_return false;
    }
    text = std::move(*plain.plain);
  }
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto ver = kv.find("DBID_DBASE_VERSION");
  if (ver == kv.end()) {
    d.last_error = "the file has no DBID_DBASE_VERSION (" + std::to_string(text.size()) + " bytes)";
    log(d, d.last_error);
    co_return false;
  }
  d.last_error.clear();
  if (d.applied_version && *d.applied_version == ver->second) {
    ++d.unchanged;
    log(d, "version " + ver->second + " already applied, nothing to do (" + target + ")");
    co_return true;
  }
  d.applied_version = ver->second;
  for (auto& [k, v] : kv) d.params[k] = v;
  ++d.applies;
  apply_own_settings(d);
  log(d, "applied version " + ver->second + " from " + target + " (option66=" +
             (d.s.option66 ? "1" : "0") + ", rule=" + d.s.profile_rule + ")");
  co_return true;
}

awaitable<void> sleep_s(double s) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(std::chrono::milliseconds(static_cast<long long>(s * 1000)));
  co_await t.async_wait(use_awaitable);
}

awaitable<void> run_device(device& d) {
  if (!d.s.provision_enable) co_return;
  if (d.s.resync_on_reset && d.s.random_delay_s > 0) {
    std::uniform_real_distribution<double> dist(0, d.s.random_delay_s);
    co_await sleep_s(dist(rng));
  }
  while (!stopping) {
    bool ok = co_await resync(d);
    if (stopping) break;
    if (!ok) {
      ++d.failures;
      d.last_failed = true;
      ++d.retries;
      co_await sleep_s(d.s.error_retry_s > 0 ? d.s.error_retry_s : 1);
      continue;
    }
    d.last_failed = false;
    if (d.s.periodic_s <= 0) break;
    co_await sleep_s(d.s.periodic_s);
  }
}

awaitable<void> run_and_count(device& d) {
  co_await run_device(d);
  if (--running == 0 && all_done) all_done();
}

void write_report(const std::vector<std::unique_ptr<device>>& devs, bool final_report) {
  if (opt.report.empty()) return;
  std::ostringstream o;
  unsigned fetches = 0, applies = 0, unchanged = 0, failures = 0, retries = 0, provisioned = 0;
  o << "{\n  \"final\": " << (final_report ? "true" : "false") << ",\n  \"devices\": [\n";
  for (std::size_t i = 0; i < devs.size(); ++i) {
    auto& d = *devs[i];
    fetches += d.fetches;
    applies += d.applies;
    unchanged += d.unchanged;
    failures += d.failures;
    retries += d.retries;
    if (d.applied_version) ++provisioned;
    o << "    {\"mac\": \"" << d.mac << "\", \"model\": \"" << json_escape(d.model)
      << "\", \"applied_version\": "
      << (d.applied_version ? "\"" + json_escape(*d.applied_version) + "\"" : std::string("null"))
      << ", \"resyncs\": " << d.resyncs << ", \"fetches\": " << d.fetches
      << ", \"applies\": " << d.applies << ", \"unchanged\": " << d.unchanged
      << ", \"failures\": " << d.failures << ", \"retries\": " << d.retries
      << ", \"option66\": " << (d.s.option66 ? "true" : "false") << ", \"profile_rule\": \""
      << json_escape(d.s.profile_rule) << "\", \"last_url\": \"" << json_escape(d.last_url)
      << "\", \"last_scheme\": \"" << json_escape(d.last_scheme) << "\", \"last_error\": \""
      << json_escape(d.last_error) << "\", \"fetches_by_scheme\": {";
    bool first_scheme = true;
    for (auto& [k, v] : d.fetches_by_scheme) {
      o << (first_scheme ? "" : ", ") << "\"" << k << "\": " << v;
      first_scheme = false;
    }
    o << "}, \"params\": {";
    bool first = true;
    for (auto& [k, v] : d.params) {
      o << (first ? "" : ", ") << "\"" << json_escape(k) << "\": \"" << json_escape(v) << "\"";
      first = false;
    }
    o << "}}" << (i + 1 < devs.size() ? "," : "") << "\n";
  }
  o << "  ],\n  \"totals\": {\"devices\": " << devs.size() << ", \"provisioned\": " << provisioned
    << ", \"fetches\": " << fetches << ", \"applies\": " << applies
    << ", \"unchanged\": " << unchanged << ", \"failures\": " << failures
    << ", \"retries\": " << retries << "}\n}\n";
  auto tmp = opt.report + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << o.str();
  }
  std::filesystem::rename(tmp, opt.report);
}

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) std::cerr << "provbox-sim: " << why << "\n";
  std::cerr
      << "usage: provbox-sim [--devices N] [--mac-base MAC] [--model M] [--serial-prefix S]\n"
         "  [--sw V] [--hw V] [--ip A] [--profile-rule 'RULE'] [--option66 on|off]\n"
         "  [--option66-server ADDR:PORT] [--config-file NAME] [--cert-dir DIR] [--cert-mac MAC]\n"
         "  [--random-delay S] [--periodic S] [--error-retry S] [--no-resync-on-reset]\n"
         "  [--provision off] [--upgrade-rule RULE] [--duration S] [--report FILE] [--seed N] [-v]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      return args[++i];
    };
    auto number = [&]() -> double {
      auto v = next();
      try {
        std::size_t used = 0;
        double d = std::stod(v, &used);
        if (used != v.size() || d < 0) throw 0;
        return d;
      } catch (...) {
        usage(a + ": not a non-negative number: '" + v + "'");
      }
    };
    if (a == "--devices") opt.devices = static_cast<int>(number());
    else if (a == "--mac-base") opt.mac_base = next();
    else if (a == "--model") opt.model = next();
    else if (a == "--serial-prefix") opt.serial_prefix = next();
    else if (a == "--sw") opt.sw = next();
    else if (a == "--hw") opt.hw = next();
    else if (a == "--ip") opt.ip = next();
    else if (a == "--profile-rule") opt.s.profile_rule = next();
    else if (a == "--option66") {
      auto v = next();
      if (v != "on" && v != "off") usage("--option66 is on or off");
      opt.s.option66 = v == "on";
    } else if (a == "--option66-server") opt.option66_server = next();
    else if (a == "--config-file") opt.s.config_file = next();
    else if (a == "--cert-dir") opt.cert_dir = next();
    else if (a == "--cert-mac") opt.cert_mac = next();
    else if (a == "--random-delay") opt.s.random_delay_s = static_cast<int>(number());
    else if (a == "--periodic") opt.s.periodic_s = static_cast<int>(number());
    else if (a == "--error-retry") opt.s.error_retry_s = static_cast<int>(number());
    else if (a == "--no-resync-on-reset") opt.s.resync_on_reset = false;
    else if (a == "--provision") opt.s.provision_enable = next() != "off";
    else if (a == "--upgrade-rule") opt.s.upgrade_rule = next();
    else if (a == "--duration") opt.duration_s = number();
    else if (a == "--report") opt.report = next();
    else if (a == "--seed") { opt.seed = static_cast<unsigned>(number()); opt.seed_set = true; }
    else if (a == "-v" || a == "--verbose") opt.verbose = true;
    else if (a == "-h" || a == "--help") usage("");
    else usage("unknown argument '" + a + "'");
  }
  if (opt.devices < 1) usage("--devices must be at least 1");
  auto base = parse_mac(opt.mac_base);
  if (!base) usage("--mac-base: not a MAC: '" + opt.mac_base + "'");
  std::optional<std::uint64_t> cert_mac;
  if (!opt.cert_mac.empty()) {
    cert_mac = parse_mac(opt.cert_mac);
    if (!cert_mac) usage("--cert-mac: not a MAC: '" + opt.cert_mac + "'");
  }
  if (opt.s.config_file.empty()) opt.s.config_file = opt.model + ".conf";
  rng.seed(opt.seed_set ? opt.seed : std::random_device{}());

  std::vector<std::unique_ptr<device>> devs;
  for (int i = 0; i < opt.devices; ++i) {
    auto d = std::make_unique<device>();
    d->ma = hex12(*base + static_cast<std::uint64_t>(i));
    d->mau = upper(d->ma);
    d->mac = colon_mac(d->ma);
    d->model = opt.model;
    d->serial = opt.serial_prefix + d->mau;
    d->sw = opt.sw;
    d->hw = opt.hw;
    d->ip = opt.ip;
    d->s = opt.s;
    d->cert_mau = cert_mac ? upper(hex12(*cert_mac)) : d->mau;
    devs.push_back(std::move(d));
  }

  asio::io_context io(1);
  running = static_cast<int>(devs.size());
  for (auto& d : devs) asio::co_spawn(io, run_and_count(*d), asio::detached);

  asio::steady_timer report_timer(io);
  std::function<void()> tick = [&] {
    report_timer.expires_after(1s);
    report_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      write_report(devs, false);
      tick();
    });
  };
  tick();
  asio::steady_timer end_timer(io);
  auto finish = [&] {
    stopping = true;
    io.stop();
  };
  all_done = finish;  // every device is done (Resync Periodic 0): --duration is only a bound
  if (opt.duration_s > 0) {
    end_timer.expires_after(std::chrono::milliseconds(static_cast<long long>(opt.duration_s * 1000)));
    end_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) finish();
    });
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) finish();
  });
  io.run();
  write_report(devs, true);
  unsigned provisioned = 0, failures = 0;
  for (auto& d : devs) {
    provisioned += d->applied_version ? 1 : 0;
    failures += d->failures;
  }
  std::cerr << "provbox-sim: " << provisioned << "/" << devs.size() << " devices provisioned, "
            << failures << " failures\n";
  return 0;
}
