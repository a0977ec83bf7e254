// provbox-sim: simulated Flying Voice devices (seed sections 2.1, 2.2, 3, 4)
// against a real provisioning server. One process, one thread, one coroutine
// per device, each with its own MAC, settings and timers.
//
// What a device does (the seed's Provision page):
//   power on  -> with --dhcp, DISCOVER/OFFER/REQUEST/ACK for its address and
//                options 66/67 (dhcp_client.hpp)
//             -> wait a random 0..Resync Random Delay (when Resync On Reset)
//   resync:   Option 66 on and an option 66 server known -> TFTP Config File
//             Name from it; else the Profile Rule: `[--key K]` prefix, macros
//             expanded by the device itself, then tftp, http or https
//   the file: decrypted when the rule has --key; KEY=VALUE lines; applied ONLY
//             when DBID_DBASE_VERSION differs from the applied one; it may
//             change the device's own settings (device.hpp, setting_key)
//   upgrade:  when Upgrade Enable and the expanded Upgrade Rule differs from
//             the one it last upgraded from: download, check, new software
//             version; Upgrade Error Retry Delay on failure; Resync After
//             Upgrade resyncs after every attempt
//   then:     next resync after Resync Periodic (success) or Resync Error
//             Retry Delay (failure); Resync Periodic 0 stops after the first
//             success.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "server/profile/cipher.hpp"
#include "tests/simulator/device.hpp"
#include "tests/simulator/dhcp_client.hpp"
#include "tests/simulator/fetch.hpp"
#include "tests/simulator/interface_addresses.hpp"
#include "tests/simulator/report.hpp"
#include "tests/simulator/state.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;
using namespace provbox::sim;
using clock_type = std::chrono::steady_clock;

namespace {

enum class report_devices { every, final_only, never };

struct options {
  int devices = 1;
  std::string mac_base = "00:21:f2:01:1b:19";
  std::string model = "IP542N";
  std::string serial_prefix = "SIM";
  std::string sw = "v3.3.8", hw = "v1.0.1", ip = "127.0.0.1";
  settings s;
  std::string option66_server;  // host:port, as DHCP option 66 would give it
  std::string cert_dir;
  std::string cert_mac;  // use this MAC's bundle instead of the device's own
  std::string dhcp_interface;
  bool dhcp_own_address = false;
  bool use_option67 = false;
  unsigned dhcp_attempts = 4;
  std::string upgrade_expect_sha256;
  std::size_t upgrade_tftp_blksize = 0;
  std::size_t max_sockets = 0;  // 0: from the open-files limit
  double duration_s = 0;
  std::string report;
  std::optional<report_devices> report_mode;
  unsigned seed = 0;
  bool seed_set = false;
  bool verbose = false;
};

options opt;
std::mt19937 rng;
bool stopping = false;
int running = 0;
std::function<void()> all_done;
const clock_type::time_point started = clock_type::now();
std::unique_ptr<dhcp_port> dhcp;
std::unique_ptr<interface_addresses> own_addresses;
bool own_route_added = false;

double since_start() {
  return std::chrono::duration<double>(clock_type::now() - started).count();
}

void log(const device_state& d, const std::string& what) {
  if (opt.verbose) std::cerr << "provbox-sim " << d.who.mac << ": " << what << "\n";
}

// At most `max_sockets` downloads at once: with 10,000 devices a burst must
// not run out of file descriptors. A waiting device gets the slot handed
// over when one is released (FIFO).
class socket_slots {
public:
  void set_capacity(std::size_t n) { free_ = n; }
  awaitable<void> acquire() {
    if (free_ > 0) {
      --free_;
      co_return;
    }
    asio::steady_timer wake(co_await asio::this_coro::executor, clock_type::time_point::max());
    waiting_.push_back(&wake);
    co_await wake.async_wait(asio::as_tuple(use_awaitable));  // cancelled = handed a slot
  }
  void release() {
    if (waiting_.empty()) {
      ++free_;
      return;
    }
    auto* next = waiting_.front();
    waiting_.pop_front();
    next->cancel();
  }

private:
  std::size_t free_ = 0;
  std::deque<asio::steady_timer*> waiting_;
};
socket_slots slots;

struct slot_guard {
  ~slot_guard() { slots.release(); }
};

std::string user_agent(const device_state& d) {
  return "FLYINGVOICE " + d.who.model + " " + d.who.sw + " " + d.who.mau + " (provbox-sim)";
}

std::string option66_server_of(const device_state& d) {
  return d.option66_server.empty() ? opt.option66_server : d.option66_server;
}

fetch_options fetch_options_for(const device_state& d) {
  fetch_options how;
  how.user_agent = user_agent(d);
  if (opt.dhcp_own_address && !d.dhcp_address.empty())
    how.source = asio::ip::make_address_v4(d.dhcp_address);
  return how;
}

// One download, whatever the scheme; exceptions (refused, reset, TLS) become
// the result's error.
awaitable<fetch_result> download(device_state& d, const url& u, fetch_options how) {
  co_await slots.acquire();
  slot_guard release;
  fetch_result got;
  try {
    if (u.scheme == "tftp") {
      got = co_await tftp_get(u, how);
    } else {
      std::shared_ptr<asio::ssl::context> tls;
      if (u.scheme == "https") {
        if (!d.tls) {
          if (opt.cert_dir.empty()) {
            got.error = "https needs --cert-dir";
            co_return got;
          }
          d.tls = load_client_bundle(opt.cert_dir + "/" + d.cert_mau + "-certs", got.error);
          if (!d.tls) co_return got;
        }
        tls = d.tls;
      }
      got = co_await http_get(u, how, tls);
    }
  } catch (const boost::system::system_error& e) {
    got.ok = false;
    got.error = e.code().message();  // what() also names Boost's source file
  } catch (const std::exception& e) {
    got.ok = false;
    got.error = e.what();
  }
  co_return got;
}

// ---- one resync -------------------------------------------------------------

awaitable<bool> resync(device_state& d) {
  ++d.resyncs;
  std::string target;
  std::optional<std::string> key;
  const auto server66 = option66_server_of(d);
  if (d.s.option66 && !server66.empty()) {
    target = "tftp://" + server66 + "/" + d.s.config_file;
  } else if (!d.s.profile_rule.empty()) {
    auto r = parse_rule(d.s.profile_rule);
    key = r.key;
    target = expand(d.who, r.url);
  } else {
    d.last_error = "nothing to fetch: option 66 has no server and the Profile Rule is empty";
    co_return false;
  }
  std::string why;
  auto u = parse_url(target, server66, why);
  d.last_url = target;
  if (!u) {
    d.last_error = why;
    co_return false;
  }
  d.last_scheme = u->scheme;
  ++d.fetches;
  ++d.fetches_by_scheme[u->scheme];
  auto got = co_await download(d, *u, fetch_options_for(d));
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
  auto kv = parse_key_values(text);
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
  if (d.first_apply_s < 0) d.first_apply_s = since_start();
  apply_own_settings(d.s, d.params);
  log(d, "applied version " + ver->second + " from " + target + " (option66=" +
             (d.s.option66 ? "1" : "0") + ", rule=" + d.s.profile_rule + ")");
  co_return true;
}

// ---- one upgrade --------------------------------------------------------------

// The Upgrade Rule expanded, or empty when there is nothing to upgrade.
std::string pending_upgrade(const device_state& d) {
  if (!d.s.upgrade_enable || d.s.upgrade_rule.empty()) return {};
  auto expanded = expand(d.who, parse_rule(d.s.upgrade_rule).url);
  return expanded == d.upgraded_from ? std::string{} : expanded;
}

awaitable<bool> upgrade(device_state& d, const std::string& target) {
  ++d.upgrade_attempts;
  d.last_upgrade_attempt_s = since_start();
  if (d.first_upgrade_attempt_s < 0) d.first_upgrade_attempt_s = d.last_upgrade_attempt_s;
  d.upgrade_url = target;
  auto fail = [&](std::string why) {
    d.upgrade_error = std::move(why);
    ++d.upgrade_failures;
    log(d, "upgrade failed: " + d.upgrade_error);
    return false;
  };
  std::string why;
  auto u = parse_url(target, option66_server_of(d), why);
  if (!u) co_return fail(why);
  auto how = fetch_options_for(d);
  how.tftp_blksize = opt.upgrade_tftp_blksize;
  auto got = co_await download(d, *u, how);
  if (!got.ok) co_return fail(u->scheme + " " + target + ": " + got.error);
  if (got.body.empty()) co_return fail("empty image from " + target);
  auto sha = sha256_hex(got.body);
  if (!opt.upgrade_expect_sha256.empty() && sha != opt.upgrade_expect_sha256)
    co_return fail("image SHA-256 " + sha + ", expected " + opt.upgrade_expect_sha256);
  d.firmware_sha256 = sha;
  d.firmware_size = got.body.size();
  if (auto version = firmware_version_of(u->path)) d.who.sw = *version;
  d.upgraded_from = target;
  d.upgrade_error.clear();
  ++d.upgrades;
  log(d, "upgraded from " + target + " (" + std::to_string(got.body.size()) + " bytes, sha256 " +
             sha + "), software version " + d.who.sw);
  co_return true;
}

// ---- a device's life ------------------------------------------------------------

awaitable<void> sleep_until(clock_type::time_point t) {
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(asio::as_tuple(use_awaitable));
}

awaitable<void> sleep_s(double s) {
  co_await sleep_until(clock_type::now() + std::chrono::milliseconds(static_cast<long long>(s * 1000)));
}

clock_type::time_point after_s(int s) { return clock_type::now() + std::chrono::seconds(s); }

// DHCP until a lease (or the run stops): Resync Error Retry Delay between
// rounds of `--dhcp-attempts` transmissions.
awaitable<void> acquire_address(device_state& d) {
  auto mac_bytes = parse_mac(d.who.mac).value();
  provbox::dhcp::mac_address mac{};
  for (int i = 5; i >= 0; --i, mac_bytes >>= 8) mac[static_cast<std::size_t>(i)] = mac_bytes & 0xff;
  while (!stopping) {
    const auto xid = static_cast<std::uint32_t>(rng());
    auto r = co_await dhcp->acquire(mac, xid, opt.dhcp_attempts);
    d.dhcp_transmissions += r.transmissions;
    if (r.lease) {
      d.dhcp_failed = false;
      d.dhcp_address = r.lease->address.to_string();
      d.who.ip = d.dhcp_address;
      // Option 66 is the server's name or address; TFTP's port 69 is implied.
      d.option66_server = r.lease->tftp_server;
      d.option67_boot_file = r.lease->boot_file;
      if (opt.use_option67 && !r.lease->boot_file.empty()) d.s.config_file = r.lease->boot_file;
      log(d, "DHCP lease " + d.dhcp_address + " option 66 '" + d.option66_server +
                 "' option 67 '" + d.option67_boot_file + "'");
      if (own_addresses) {
        if (!own_route_added && r.lease->subnet_mask) {
          auto mask = r.lease->subnet_mask->to_uint();
          unsigned prefix = 0;
          while (prefix < 32 && (mask & (0x80000000u >> prefix))) ++prefix;
          auto error = own_addresses->add_link_route(r.lease->address.to_uint() & mask, prefix);
          if (!error.empty()) std::cerr << "provbox-sim: route to the subnet: " << error << "\n";
          own_route_added = true;
        }
        auto error = own_addresses->add(r.lease->address.to_uint());
        if (!error.empty()) {
          d.last_error = "adding " + d.dhcp_address + " to " + opt.dhcp_interface + ": " + error;
          log(d, d.last_error);
        }
      }
      co_return;
    }
    d.dhcp_failed = true;
    d.last_error = "DHCP: " + r.error;
    log(d, d.last_error);
    ++d.failures;
    ++d.retries;
    co_await sleep_s(d.s.error_retry_s > 0 ? d.s.error_retry_s : 1);
  }
}

awaitable<void> run_device(device_state& d) {
  if (dhcp) co_await acquire_address(d);
  if (stopping) co_return;
  if (d.s.resync_on_reset && d.s.random_delay_s > 0) {
    std::uniform_real_distribution<double> dist(0, d.s.random_delay_s);
    co_await sleep_s(dist(rng));
  }
  constexpr auto never = clock_type::time_point::max();
  auto next_resync = d.s.provision_enable ? clock_type::now() : never;
  auto next_upgrade = clock_type::now();
  while (!stopping) {
    if (clock_type::now() >= next_resync) {
      if (co_await resync(d)) {
        next_resync = d.s.periodic_s > 0 ? after_s(d.s.periodic_s) : never;
      } else {
        ++d.failures;
        ++d.retries;
        next_resync = after_s(d.s.error_retry_s > 0 ? d.s.error_retry_s : 1);
      }
      if (stopping) break;
    }
    // The Upgrade Rule may have come with the file just applied.
    auto target = pending_upgrade(d);
    if (!target.empty() && clock_type::now() >= next_upgrade) {
      bool ok = co_await upgrade(d, target);
      if (stopping) break;
      next_upgrade = ok ? clock_type::now()
                        : after_s(d.s.upgrade_error_retry_s > 0 ? d.s.upgrade_error_retry_s : 1);
      if (d.s.resync_after_upgrade && d.s.provision_enable) next_resync = clock_type::now();
      target = pending_upgrade(d);
    }
    auto wake = std::min(next_resync, target.empty() ? never : next_upgrade);
    if (wake == never) break;
    co_await sleep_until(wake);
  }
}

awaitable<void> run_and_count(device_state& d) {
  co_await run_device(d);
  if (--running == 0 && all_done) all_done();
}

// ---- command line ------------------------------------------------------------

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) std::cerr << "provbox-sim: " << why << "\n";
  std::cerr
      << "usage: provbox-sim [--devices N] [--mac-base MAC] [--model M] [--serial-prefix S]\n"
         "  [--sw V] [--hw V] [--ip A] [--profile-rule 'RULE'] [--option66 on|off]\n"
         "  [--option66-server ADDR:PORT] [--config-file NAME] [--cert-dir DIR] [--cert-mac MAC]\n"
         "  [--random-delay S] [--periodic S] [--error-retry S] [--forced-resync-delay S]\n"
         "  [--no-resync-on-reset] [--provision off]\n"
         "  [--upgrade-rule RULE] [--upgrade-enable on|off] [--upgrade-error-retry S]\n"
         "  [--resync-after-upgrade on|off] [--upgrade-expect-sha256 HEX] [--upgrade-tftp-blksize N]\n"
         "  [--dhcp IFACE [--dhcp-own-address] [--dhcp-attempts N] [--use-option67]]\n"
         "  [--max-sockets N] [--duration S] [--report FILE] [--report-devices every|final|never]\n"
         "  [--seed N] [-v]\n";
  std::exit(2);
}

void parse_arguments(int argc, char** argv) {
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
        if (used != v.size() || d < 0 || d > 1e9) throw 0;
        return d;
      } catch (...) {
        usage(a + ": not a non-negative number: '" + v + "'");
      }
    };
    auto on_off = [&]() -> bool {
      auto v = next();
      if (v != "on" && v != "off") usage(a + " is on or off");
      return v == "on";
    };
    if (a == "--devices") opt.devices = static_cast<int>(number());
    else if (a == "--mac-base") opt.mac_base = next();
    else if (a == "--model") opt.model = next();
    else if (a == "--serial-prefix") opt.serial_prefix = next();
    else if (a == "--sw") opt.sw = next();
    else if (a == "--hw") opt.hw = next();
    else if (a == "--ip") opt.ip = next();
    else if (a == "--profile-rule") opt.s.profile_rule = next();
    else if (a == "--option66") opt.s.option66 = on_off();
    else if (a == "--option66-server") opt.option66_server = next();
    else if (a == "--config-file") opt.s.config_file = next();
    else if (a == "--cert-dir") opt.cert_dir = next();
    else if (a == "--cert-mac") opt.cert_mac = next();
    else if (a == "--random-delay") opt.s.random_delay_s = static_cast<int>(number());
    else if (a == "--periodic") opt.s.periodic_s = static_cast<int>(number());
    else if (a == "--error-retry") opt.s.error_retry_s = static_cast<int>(number());
    else if (a == "--forced-resync-delay") opt.s.forced_resync_delay_s = static_cast<int>(number());
    else if (a == "--no-resync-on-reset") opt.s.resync_on_reset = false;
    else if (a == "--provision") opt.s.provision_enable = next() != "off";
    else if (a == "--upgrade-rule") opt.s.upgrade_rule = next();
    else if (a == "--upgrade-enable") opt.s.upgrade_enable = on_off();
    else if (a == "--upgrade-error-retry") opt.s.upgrade_error_retry_s = static_cast<int>(number());
    else if (a == "--resync-after-upgrade") opt.s.resync_after_upgrade = on_off();
    else if (a == "--upgrade-expect-sha256") opt.upgrade_expect_sha256 = next();
    else if (a == "--upgrade-tftp-blksize") opt.upgrade_tftp_blksize = static_cast<std::size_t>(number());
    else if (a == "--dhcp") opt.dhcp_interface = next();
    else if (a == "--dhcp-own-address") opt.dhcp_own_address = true;
    else if (a == "--dhcp-attempts") opt.dhcp_attempts = static_cast<unsigned>(number());
    else if (a == "--use-option67") opt.use_option67 = true;
    else if (a == "--max-sockets") opt.max_sockets = static_cast<std::size_t>(number());
    else if (a == "--duration") opt.duration_s = number();
    else if (a == "--report") opt.report = next();
    else if (a == "--report-devices") {
      auto v = next();
      if (v == "every") opt.report_mode = report_devices::every;
      else if (v == "final") opt.report_mode = report_devices::final_only;
      else if (v == "never") opt.report_mode = report_devices::never;
      else usage("--report-devices is every, final or never");
    } else if (a == "--seed") {
      opt.seed = static_cast<unsigned>(number());
      opt.seed_set = true;
    } else if (a == "-v" || a == "--verbose") opt.verbose = true;
    else if (a == "-h" || a == "--help") usage("");
    else usage("unknown argument '" + a + "'");
  }
  if (opt.devices < 1) usage("--devices must be at least 1");
  if (opt.devices > 1000000) usage("--devices: at most 1000000");
  if (opt.dhcp_attempts < 1) usage("--dhcp-attempts must be at least 1");
  if (opt.dhcp_own_address && opt.dhcp_interface.empty()) usage("--dhcp-own-address needs --dhcp IFACE");
  if (opt.upgrade_tftp_blksize &&
      (opt.upgrade_tftp_blksize < 8 || opt.upgrade_tftp_blksize > 65464))
    usage("--upgrade-tftp-blksize is 8..65464 (0: none)");
  for (auto& c : opt.upgrade_expect_sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (opt.s.config_file.empty()) opt.s.config_file = opt.model + ".conf";
}

// Many devices, one process: as many descriptors as the hard limit allows,
// and at most that many (less a margin) downloads at once.
std::size_t raise_open_files_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return static_cast<std::size_t>(lim.rlim_cur);
}

}  // namespace

int main(int argc, char** argv) {
  parse_arguments(argc, argv);
  auto base = parse_mac(opt.mac_base);
  if (!base) usage("--mac-base: not a MAC: '" + opt.mac_base + "'");
  std::optional<std::uint64_t> cert_mac;
  if (!opt.cert_mac.empty()) {
    cert_mac = parse_mac(opt.cert_mac);
    if (!cert_mac) usage("--cert-mac: not a MAC: '" + opt.cert_mac + "'");
  }
  rng.seed(opt.seed_set ? opt.seed : std::random_device{}());
  const auto fd_limit = raise_open_files_limit();
  // Keep room for the report, the DHCP and netlink sockets, stdio.
  const std::size_t by_limit = fd_limit > 128 ? fd_limit - 64 : 64;
  slots.set_capacity(opt.max_sockets ? std::min(opt.max_sockets, by_limit) : by_limit);

  std::vector<std::unique_ptr<device_state>> devs;
  devs.reserve(static_cast<std::size_t>(opt.devices));
  for (int i = 0; i < opt.devices; ++i) {
    auto d = std::make_unique<device_state>();
    d->who = make_identity(*base + static_cast<std::uint64_t>(i), opt.model, opt.serial_prefix);
    d->who.sw = opt.sw;
    d->who.hw = opt.hw;
    d->who.ip = opt.ip;
    d->s = opt.s;
    d->cert_mau = cert_mac ? make_identity(*cert_mac, "", "").mau : d->who.mau;
    devs.push_back(std::move(d));
  }

  asio::io_context io(1);
  if (!opt.dhcp_interface.empty()) {
    try {
      dhcp = std::make_unique<dhcp_port>(io.get_executor(), opt.dhcp_interface);
      if (opt.dhcp_own_address) own_addresses = std::make_unique<interface_addresses>(opt.dhcp_interface);
    } catch (const std::exception& e) {
      std::cerr << "provbox-sim: --dhcp " << opt.dhcp_interface << ": " << e.what()
                << " (needs root, or CAP_NET_BIND_SERVICE and CAP_NET_RAW/ADMIN)\n";
      return 1;
    }
    dhcp->start();
  }

  const auto mode = opt.report_mode.value_or(devs.size() <= 1000 ? report_devices::every
                                                                  : report_devices::final_only);
  running = static_cast<int>(devs.size());
  for (auto& d : devs) asio::co_spawn(io, run_and_count(*d), asio::detached);

  asio::steady_timer report_timer(io);
  std::function<void()> tick = [&] {
    report_timer.expires_after(1s);
    report_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (!opt.report.empty())
        write_report(opt.report, report_json(devs, false, mode == report_devices::every, since_start()));
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
  if (dhcp) dhcp->stop();
  if (!opt.report.empty())
    write_report(opt.report, report_json(devs, true, mode != report_devices::never, since_start()));
  auto t = sum(devs);
  std::cerr << "provbox-sim: " << t.provisioned << "/" << devs.size() << " devices provisioned, "
            << t.failures << " failures, " << t.retries << " retries, " << t.upgrades << " upgrades, "
            << t.upgrade_failures << " upgrade failures\n";
  own_addresses.reset();  // removes the addresses it added
  // The devices' coroutines are still suspended inside io and refer to the
  // DHCP port and to each other; tearing all that down in order buys nothing
  // for a process that ends here.
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(0);
}
