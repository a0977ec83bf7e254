#include "server/serve.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "certs/authority.hpp"
#include "certs/tls_context.hpp"
#include "dhcp/durable_leases.hpp"
#include "dhcp/server.hpp"
#include "http/server.hpp"
#include "tftp/server.hpp"
#include "server/provisioning/file_pattern.hpp"
#include "server/provisioning/json_text.hpp"
#include "server/provisioning/service.hpp"
#include "server/system.hpp"
#include "store/certificates.hpp"
#include "store/inventory.hpp"

namespace provbox::server {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// In JSON mode every log line is one JSON object; a message that is already
// an object (the access log) is embedded as is, any other text is quoted.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (text.starts_with("{")) {
      dest.append(text.data(), text.data() + text.size());
      return;
    }
    const auto quoted = provisioning::json_string(text);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

// stdout written through stdio's buffer and flushed by the logger's policy
// (below). spdlog's stdout sink calls fflush after every line: one write(2)
// per request.
class buffered_stdout_sink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), stdout);
  }
  void flush_() override { std::fflush(stdout); }
};

void set_up_logging(const config& c) {
  // A terminal gets every line at once; a file, pipe or journal gets them
  // in batches.
  spdlog::sink_ptr sink;
  if (::isatty(STDOUT_FILENO)) sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  else sink = std::make_shared<buffered_stdout_sink>();
  auto logger = std::make_shared<spdlog::logger>("provbox", std::move(sink));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(c.log.level));
  // Not a write per access line: request lines are flushed with the device
  // events a few ms after they are logged (serve() below), warnings and
  // errors at once, anything else within a second.
  spdlog::flush_on(spdlog::level::warn);
  spdlog::flush_every(std::chrono::seconds(1));
  if (c.log.format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<json_message_flag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":%*})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
}

std::unique_ptr<tcp::acceptor> open_acceptor(net::io_context& io, const listen_address& where, const char* name) {
  if (!where.enabled) return nullptr;
  const tcp::endpoint endpoint(net::ip::make_address(where.host), where.port);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  boost::system::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(std::string("cannot listen for ") + name + " on " + where.to_string() + ": " +
                                   ec.message());
  return acceptor;
}

std::unique_ptr<net::ip::udp::socket> open_udp(net::io_context& io, const listen_address& where, const char* name) {
  if (!where.enabled) return nullptr;
  const net::ip::udp::endpoint endpoint(net::ip::make_address(where.host), where.port);
  auto socket = std::make_unique<net::ip::udp::socket>(io);
  boost::system::error_code ec;
  socket->open(endpoint.protocol(), ec);
  if (!ec) socket->bind(endpoint, ec);
  if (ec) throw std::runtime_error(std::string("cannot listen for ") + name + " on " + where.to_string() + ": " +
                                   ec.message());
  // A building powering on sends its read requests in a burst; the default
  // receive buffer (rmem_default, often 208 KB) holds a few hundred of them
  // and the kernel drops the rest, which then wait out a client timeout.
  // Ask for 4 MiB: past rmem_max only with CAP_NET_ADMIN (root, or the
  // systemd unit), else the kernel caps it; either way nothing fails.
  constexpr int wanted_receive_buffer = 4 << 20;
  if (::setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &wanted_receive_buffer,
                   sizeof wanted_receive_buffer) != 0)
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVBUF, &wanted_receive_buffer, sizeof wanted_receive_buffer);
  return socket;
}

// Every HTTP connection and every TFTP transfer holds a descriptor. The
// default limits (max_connections 2048 on each of HTTP and HTTPS, 64 on
// admin, max_transfers 512) are above the
// usual soft limit of 1024 open files, past which accept() fails and a
// building of devices powering on at once would see refusals the operator
// never configured. Raise the soft limit to the hard one (what the operator
// or systemd's LimitNOFILE allows); an infinite hard limit is capped, since
// the kernel refuses more than its nr_open.
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return;
  const auto before = limit.rlim_cur;
  limit.rlim_cur = wanted;
  if (::setrlimit(RLIMIT_NOFILE, &limit) == 0)
    spdlog::info("open files limit raised from {} to {}", before, wanted);
  else
    spdlog::warn("open files limit stays at {} (cannot raise it to {}): connections beyond it are refused", before,
                 wanted);
}

void tftp_metrics(std::ostringstream& out, const tftp::server_stats& t) {
  const std::pair<const char*, std::uint64_t> counters[] = {
      {"started", t.started}, {"completed", t.completed}, {"failed", t.failed},
      {"evicted", t.evicted}, {"refused", t.refused}, {"address_busy", t.address_busy},
      {"malformed", t.malformed}, {"stray", t.stray}};
  out << "# HELP provbox_tftp_transfers_total TFTP requests by outcome (evicted is part of failed, address_busy of "
         "refused; malformed and stray are datagrams).\n"
         "# TYPE provbox_tftp_transfers_total counter\n";
  for (const auto& [name, value] : counters)
    out << "provbox_tftp_transfers_total{outcome=\"" << name << "\"} " << value << '\n';
  out << "# HELP provbox_tftp_active_transfers TFTP transfers running now.\n"
         "# TYPE provbox_tftp_active_transfers gauge\n"
      << "provbox_tftp_active_transfers " << t.active << '\n';
  out << "# HELP provbox_tftp_polled_acks_total ACKs a lockstep transfer read by busy-polling, without a reactor wake-up.\n"
         "# TYPE provbox_tftp_polled_acks_total counter\n"
      << "provbox_tftp_polled_acks_total " << t.polled << '\n';
}

std::string metrics_text(const provisioning::service_metrics& m, const http::server_state& state,
                         const tftp::server_stats& tftp_stats, std::uint64_t revision) {
  std::ostringstream out;
  tftp_metrics(out, tftp_stats);
  out << "# HELP provbox_requests_total Requests answered, by transport and status.\n"
         "# TYPE provbox_requests_total counter\n";
  for (const auto& [key, count] : m.requests)
    out << "provbox_requests_total{transport=\"" << key.first << "\",status=\"" << key.second << "\"} " << count
        << '\n';
  out << "# HELP provbox_sent_bytes_total Body bytes sent, by transport.\n"
         "# TYPE provbox_sent_bytes_total counter\n";
  for (const auto& [transport, bytes] : m.bytes)
    out << "provbox_sent_bytes_total{transport=\"" << transport << "\"} " << bytes << '\n';
  out << "# HELP provbox_profile_cache_hits_total Profiles served from the render cache.\n"
         "# TYPE provbox_profile_cache_hits_total counter\n"
      << "provbox_profile_cache_hits_total " << m.cache_hits << '\n'
      << "# HELP provbox_profile_renders_total Profiles rendered (cache misses).\n"
         "# TYPE provbox_profile_renders_total counter\n"
      << "provbox_profile_renders_total " << m.renders << '\n';
  state.write_metrics(out);
  out << "# HELP provbox_inventory_revision The inventory's change counter.\n"
         "# TYPE provbox_inventory_revision gauge\n"
      << "provbox_inventory_revision " << revision << '\n';
  return out.str();
}

// The shortest time between two writes of device events: a few ms, so
// `provbox device show` is barely behind, and under load one commit carries
// many requests.
constexpr auto event_flush_delay = std::chrono::milliseconds(5);

void event_metrics(std::ostringstream& out, const store::event_buffer_stats& e) {
  out << "# HELP provbox_device_events_dropped_total Device events lost because the queue was full "
         "(the database refused writes for a while).\n"
         "# TYPE provbox_device_events_dropped_total counter\n"
      << "provbox_device_events_dropped_total " << e.dropped << '\n'
      << "# HELP provbox_device_events_written_total Device events written to the event log.\n"
         "# TYPE provbox_device_events_written_total counter\n"
      << "provbox_device_events_written_total " << e.written << '\n'
      << "# HELP provbox_device_events_queued Device events waiting to be written.\n"
         "# TYPE provbox_device_events_queued gauge\n"
      << "provbox_device_events_queued " << e.pending << '\n';
}

// What the provisioning service did about faults and hostile requesters.
void service_fault_metrics(std::ostringstream& out, const provisioning::service& service) {
  const auto& m = service.metrics();
  out << "# HELP provbox_internal_errors_total Requests answered 500 because the store or the renderer failed.\n"
         "# TYPE provbox_internal_errors_total counter\n"
      << "provbox_internal_errors_total " << m.internal_errors << '\n'
      << "# HELP provbox_access_lines_held_back_total Access-log lines counted instead of written (over a "
         "requester's lines per minute).\n"
         "# TYPE provbox_access_lines_held_back_total counter\n"
      << "provbox_access_lines_held_back_total " << m.log_lines_held_back << '\n'
      << "# HELP provbox_device_events_folded_total Events of requests for no known device counted on a summary "
         "row.\n"
         "# TYPE provbox_device_events_folded_total counter\n"
      << "provbox_device_events_folded_total " << m.events_folded << '\n'
      << "# HELP provbox_device_events_trimmed_total Event rows removed to keep the table within its bounds.\n"
         "# TYPE provbox_device_events_trimmed_total counter\n"
      << "provbox_device_events_trimmed_total " << m.events_trimmed << '\n'
      << "# HELP provbox_version_floor_raises_total Times the inventory was behind a version already served.\n"
         "# TYPE provbox_version_floor_raises_total counter\n"
      << "provbox_version_floor_raises_total " << m.version_floor_raises << '\n'
      << "# HELP provbox_profile_cache_entries Rendered files held (one per device at most).\n"
         "# TYPE provbox_profile_cache_entries gauge\n"
      << "provbox_profile_cache_entries " << service.cached_files() << '\n';
}

void log_session_error(const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} stopped by an error: {}", what, ex.what());
  }
}

void apply_http_limits(const config& c, http::server_state& state) {
  http::limits limit;
  limit.read_timeout = std::chrono::seconds(c.http.read_timeout_s);
  limit.write_timeout = std::chrono::seconds(c.http.write_timeout_s);
  limit.idle_timeout = std::chrono::seconds(c.http.idle_timeout_s);
  limit.header_limit = c.http.header_limit;
  limit.header_count = c.http.header_count;
  limit.max_connections = c.http.max_connections;
  limit.max_connections_per_address = c.http.max_connections_per_address;
  limit.max_handshakes = c.tls.max_handshakes;
  state.set_limits(limit);
}

void apply_tftp_limits(const config& c, tftp::server_options& options) {
  options.limits.max_blksize = c.tftp.max_blksize;
  options.limits.max_windowsize = c.tftp.max_windowsize;
  options.limits.default_timeout = std::chrono::milliseconds(c.tftp.timeout_ms);
  options.limits.max_retries = c.tftp.max_retries;
  options.table.max_transfers = c.tftp.max_transfers;
  options.table.max_transfers_per_address = c.tftp.max_transfers_per_address;
}

// The DHCP server's settings from the configuration: the interface's subnet
// and pools, then the options and rules the operator set.
dhcp::server_options make_dhcp_options(const config& c, store::inventory& inventory) {
  std::vector<dhcp::address_range> pools;
  for (const auto& range : c.dhcp.ranges) pools.push_back(*dhcp::address_range::parse(range));
  if (pools.empty()) throw std::runtime_error("DHCP needs at least one range (--dhcp-range FIRST-LAST or dhcp.ranges)");
  auto options = dhcp::options_for_interface(c.dhcp.interface, std::move(pools));
  auto& subnet = options.engine.subnets.front();
  for (const auto& router : c.dhcp.routers) subnet.routers.push_back(*dhcp::ipv4_address::parse(router));
  for (const auto& dns : c.dhcp.dns_servers) subnet.dns_servers.push_back(*dhcp::ipv4_address::parse(dns));
  subnet.domain_name = c.dhcp.domain;
  subnet.tftp_server = c.dhcp.tftp_server;
  subnet.boot_file = c.dhcp.boot_file;
  for (const auto& [name, text] : c.dhcp.options) {
    auto value = dhcp::parse_option_value(name, text);
    if (!value) throw std::runtime_error("dhcp.options." + name + ": " + value.error);
    subnet.options.push_back({value.code, std::move(value.data)});
  }
  auto& engine = options.engine;
  engine.lease_time = c.dhcp.lease_time;
  engine.renewal_time = c.dhcp.renewal_time;
  engine.rebinding_time = c.dhcp.rebinding_time;
  engine.offer_hold = c.dhcp.offer_hold;
  engine.decline_hold = c.dhcp.decline_hold;
  engine.known_only = c.dhcp.known_only;
  engine.unknown_lease_time = c.dhcp.unknown_lease_time;
  engine.unknown_offer_hold = c.dhcp.unknown_offer_hold;
  engine.known_reserve = c.dhcp.known_reserve;
  for (const auto& rule : c.dhcp.model_rules) {
    auto model = inventory.find_model(rule.model);
    if (!model) throw std::runtime_error("dhcp.model_rules names unknown model '" + rule.model + "'");
    dhcp::model_rule engine_rule;
    engine_rule.vendor_class_prefix = rule.vendor_class;
    if (!rule.oui.empty()) engine_rule.oui = parse_oui(rule.oui);
    engine_rule.boot_file = model->config_file;
    engine.model_rules.push_back(std::move(engine_rule));
  }
  return options;
}

void dhcp_metrics(std::ostringstream& out, const dhcp::server_stats& d, std::size_t leases) {
  const std::pair<const char*, std::uint64_t> counters[] = {
      {"received", d.received}, {"malformed", d.malformed}, {"silent", d.silent},
      {"unknown_client", d.unknown_clients}, {"reserved_for_known", d.reserved_for_known},
      {"offer", d.offers}, {"ack", d.acks}, {"nak", d.naks}, {"inform", d.informs}, {"release", d.releases},
      {"decline", d.declines}, {"send_error", d.send_errors},
      {"arp_failure", d.arp_failures}, {"commit", d.commits}, {"commit_failure", d.commit_failures}};
  out << "# HELP provbox_dhcp_events_total DHCP datagrams and replies by kind.\n"
         "# TYPE provbox_dhcp_events_total counter\n";
  for (const auto& [name, value] : counters)
    out << "provbox_dhcp_events_total{kind=\"" << name << "\"} " << value << '\n';
  out << "# HELP provbox_dhcp_leases Leases held (bound, released or declined).\n"
         "# TYPE provbox_dhcp_leases gauge\n"
      << "provbox_dhcp_leases " << leases << '\n';
}

std::unique_ptr<net::ssl::context> make_tls_context(const config& c, store::inventory& inventory,
                                                   provisioning::service& service) {
  auto authority = certs::authority::load_or_create(c.data_dir);
  if (authority.created()) spdlog::info("created the device CA in {}", authority.certificate_file().string());
  certs::server_certificate_files server_files;
  if (!c.tls.server_certificate.empty()) {
    server_files.certificate_file = c.tls.server_certificate;
    server_files.key_file = c.tls.server_key;
  } else {
    server_files = certs::ensure_server_certificate(authority, c.data_dir, c.tls.server_names, c.tls.server_addresses);
  }
  if (server_files.issued) {
    spdlog::info("issued the HTTPS server certificate ({})", server_files.reason);
    store::certificates(inventory.db())
        .record({server_files.issued->serial_hex, "provbox server", store::certificate_kind::server,
                 server_files.issued->not_before, server_files.issued->not_after});
  }
  auto tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  certs::configure_server_tls(
      tls->native_handle(),
      {server_files.certificate_file, server_files.key_file, authority.certificate_file(), c.tls.legacy,
       c.tls.session_cache_size},
      // From the service's in-memory snapshot, which reloads when the
      // revision moves: a revocation still counts from the next handshake.
      [&service](std::string_view serial) { return service.certificate_acceptable(serial); });
  return tls;
}

// The parts of a new configuration that apply without a restart: logging,
// HTTP limits, TFTP limits for new transfers. Listener addresses, the data
// folder and TLS settings need one; a change there is reported, not applied.
void apply_reload(const config& old_config, const config& fresh, http::server_state& state,
                  tftp::server_options& tftp_options, provisioning::service& service) {
  const auto& a = fresh.dhcp;
  const auto& b = old_config.dhcp;
  if (a.enabled != b.enabled || a.interface != b.interface || a.ranges != b.ranges || a.known_only != b.known_only ||
      a.routers != b.routers || a.dns_servers != b.dns_servers || a.domain != b.domain ||
      a.lease_time != b.lease_time || a.renewal_time != b.renewal_time || a.rebinding_time != b.rebinding_time ||
      a.offer_hold != b.offer_hold || a.decline_hold != b.decline_hold || a.tftp_server != b.tftp_server ||
      a.unknown_lease_time != b.unknown_lease_time || a.unknown_offer_hold != b.unknown_offer_hold ||
      a.known_reserve != b.known_reserve ||
      a.boot_file != b.boot_file || a.options != b.options || a.model_rules.size() != b.model_rules.size())
    spdlog::warn("reload: dhcp changes take effect at the next restart");
  if (fresh.listen.http.to_string() != old_config.listen.http.to_string() ||
      fresh.listen.https.to_string() != old_config.listen.https.to_string() ||
      fresh.listen.admin.to_string() != old_config.listen.admin.to_string() ||
      fresh.listen.tftp.to_string() != old_config.listen.tftp.to_string() ||
      fresh.data_dir != old_config.data_dir || fresh.database_path() != old_config.database_path() ||
      fresh.tls.legacy != old_config.tls.legacy || fresh.tls.session_cache_size != old_config.tls.session_cache_size ||
      fresh.tls.server_names != old_config.tls.server_names ||
      fresh.tls.server_addresses != old_config.tls.server_addresses ||
      fresh.tls.server_certificate != old_config.tls.server_certificate || fresh.user != old_config.user)
    spdlog::warn("reload: listen, data_dir, database, tls and user changes take effect at the next restart");
  set_up_logging(fresh);
  apply_http_limits(fresh, state);
  apply_tftp_limits(fresh, tftp_options);
  service.set_json_log(fresh.log.format == "json");
}

// The daemon: everything `serve` runs, owned by one object. Members are
// destroyed in the reverse order of their declaration, and that order is the
// point: first the I/O objects (acceptors, sockets, timers), while the
// io_context's services still exist; then the io_context, whose destructor
// destroys the handlers still suspended in it (a session or a transfer cut off
// when the grace period ended) and so runs their destructors, which touch the
// connection pools, the counters, the service; and only then that state.
class daemon {
public:
  daemon(const config& initial, std::function<config()> reload);
  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;
  // Serves until SIGINT or SIGTERM and the grace period; 0 then.
  int run();

private:
  void open_state();
  void start();
  void schedule_event_flush();
  void write_events_and_log();
  void wait_for_hangup();
  void pet_watchdog();
  void keep_house(std::chrono::milliseconds after);
  void stop(int signal);
  bool busy() const;
  std::string metrics() const;
  void say_hello() const;

  // ---- state the handlers reference: destroyed last ----
  config config_;
  std::function<config()> reload_;
  std::unique_ptr<store::inventory> inventory_;
  std::unique_ptr<provisioning::service> service_;
  tftp::server_stats tftp_stats_;
  tftp::server_options tftp_options_;
  std::unique_ptr<dhcp::durable_leases> dhcp_leases_;
  dhcp::server_options dhcp_options_;
  dhcp::server_stats dhcp_stats_;
  std::unique_ptr<net::ssl::context> tls_;
  std::unique_ptr<http::server_state> http_;
  bool event_flush_armed_ = false;
  std::chrono::steady_clock::time_point last_event_flush_{};

  // ---- the loop. One thread runs it; only the DHCP lease writer (its own
  // thread) posts completions to it, which needs the scheduler's lock but
  // never touches a socket: so sockets go without their per-descriptor
  // locks. ----
  net::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};

  // ---- I/O objects on the loop: destroyed first ----
  std::unique_ptr<tcp::acceptor> http_acceptor_;
  std::unique_ptr<tcp::acceptor> https_acceptor_;
  std::unique_ptr<tcp::acceptor> admin_acceptor_;
  std::unique_ptr<net::ip::udp::socket> tftp_socket_;
  std::optional<net::ip::udp::socket> dhcp_socket_;
  net::steady_timer event_flush_timer_{io_};
  net::steady_timer watchdog_{io_};
  net::steady_timer housekeeping_{io_};
  net::steady_timer grace_{io_};
  net::signal_set stop_signals_{io_, SIGINT, SIGTERM};
  net::signal_set hangup_{io_, SIGHUP};
};

daemon::daemon(const config& initial, std::function<config()> reload)
    : config_(initial), reload_(std::move(reload)) {
  auto& c = config_;
  std::filesystem::create_directories(c.data_dir);
  // The data folder holds the CA's key and the database: its owner's only
  // (an older provbox left it 0755).
  {
    namespace fs = std::filesystem;
    const auto perms = fs::status(c.data_dir).permissions();
    if ((perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
      std::error_code ec;
      fs::permissions(c.data_dir, fs::perms::group_all | fs::perms::others_all, fs::perm_options::remove, ec);
      if (!ec) spdlog::info("data folder {} made private (mode 0700)", c.data_dir);
    }
  }
  // Bind first: the privileged ports (67, 69, 80, 443) need root, and
  // nothing else does.
  http_acceptor_ = open_acceptor(io_, c.listen.http, "http");
  https_acceptor_ = open_acceptor(io_, c.listen.https, "https");
  admin_acceptor_ = open_acceptor(io_, c.listen.admin, "admin");
  tftp_socket_ = open_udp(io_, c.listen.tftp, "tftp");
  if (c.dhcp.enabled) dhcp_socket_.emplace(dhcp::open_server_socket(io_.get_executor(), c.dhcp.interface));

  if (::geteuid() == 0) {
    if (!c.user.empty()) {
      spdlog::info("{}", drop_privileges(c.user, c.data_dir));
    } else if (!started_by_systemd()) {
      if (::getpwnam("provbox")) spdlog::info("{}", drop_privileges("provbox", c.data_dir));
      else spdlog::warn("running as root: create a 'provbox' user or set 'user' in the configuration");
    }
  }
  open_state();
}

// What the listeners serve, opened as the user the daemon runs as.
void daemon::open_state() {
  const auto& c = config_;
  inventory_ = std::make_unique<store::inventory>(c.database_path());
  provisioning::service_options options;
  options.data_dir = c.data_dir;
  options.events_per_device = c.events_per_device;
  options.json_log = c.log.format == "json";
  options.events_max_rows = c.events_max_rows;
  options.events_max_age = std::chrono::hours(24) * c.events_max_days;
  service_ = std::make_unique<provisioning::service>(*inventory_, options);
  service_->set_event_flush_scheduler([this] { schedule_event_flush(); });
  apply_tftp_limits(c, tftp_options_);
  if (dhcp_socket_) {
    dhcp_options_ = make_dhcp_options(c, *inventory_);
    dhcp_leases_ = std::make_unique<dhcp::durable_leases>(c.database_path());
  }
  // TLS: the device CA signs the server's certificate and is the only
  // anchor client certificates may chain to.
  if (https_acceptor_) tls_ = make_tls_context(c, *inventory_, *service_);
  http_ = std::make_unique<http::server_state>(*service_);
  apply_http_limits(c, *http_);
  http_->metrics_text = [this] { return metrics(); };
}

// Device events (and access log lines) are written in batches, at most one
// transaction per event_flush_delay: a commit per request cost as much as
// the rest of the request. An event after a quiet spell is written at once,
// so a lone request is in `device show` as soon as it was answered. The stop
// writes what is left.
void daemon::schedule_event_flush() {
  if (event_flush_armed_) return;
  if (std::chrono::steady_clock::now() - last_event_flush_ >= event_flush_delay) {
    write_events_and_log();
    return;
  }
  event_flush_armed_ = true;
  event_flush_timer_.expires_at(last_event_flush_ + event_flush_delay);
  event_flush_timer_.async_wait([this](const boost::system::error_code& ec) {
    event_flush_armed_ = false;
    if (!ec) write_events_and_log();
  });
}

void daemon::write_events_and_log() {
  last_event_flush_ = std::chrono::steady_clock::now();
  service_->flush_events();
  spdlog::default_logger()->flush();
}

std::string daemon::metrics() const {
  std::ostringstream dhcp_part;
  if (dhcp_leases_) dhcp_metrics(dhcp_part, dhcp_stats_, dhcp_leases_->size());
  std::ostringstream events_part;
  event_metrics(events_part, service_->event_stats());
  service_fault_metrics(events_part, *service_);
  if (tls_)
    events_part << "# HELP provbox_tls_cached_sessions Sessions held for TLS 1.2 session-ID resumption.\n"
                   "# TYPE provbox_tls_cached_sessions gauge\n"
                   "provbox_tls_cached_sessions "
                << certs::cached_sessions(tls_->native_handle()) << '\n';
  return metrics_text(service_->metrics(), *http_, tftp_stats_, inventory_->revision()) + events_part.str() +
         dhcp_part.str();
}

void daemon::start() {
  const auto log_end = [](const char* what) { return [what](std::exception_ptr e) { log_session_error(what, e); }; };
  if (http_acceptor_) net::co_spawn(io_, http::run_device_listener(*http_acceptor_, *http_, nullptr), log_end("http listener"));
  if (https_acceptor_)
    net::co_spawn(io_, http::run_device_listener(*https_acceptor_, *http_, tls_.get()), log_end("https listener"));
  if (admin_acceptor_) net::co_spawn(io_, http::run_admin_listener(*admin_acceptor_, *http_), log_end("admin listener"));
  if (http_acceptor_ || https_acceptor_ || admin_acceptor_)
    net::co_spawn(io_, http::run_connection_upkeep(*http_), log_end("connection upkeep"));
  if (tftp_socket_)
    net::co_spawn(io_, tftp::run_server(*tftp_socket_, *service_, tftp_options_, tftp_stats_), log_end("tftp server"));
  if (dhcp_socket_)
    net::co_spawn(io_, dhcp::run_server(*dhcp_socket_, *dhcp_leases_, inventory_.get(), dhcp_options_, dhcp_stats_),
                  log_end("dhcp server"));

  stop_signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (!ec) stop(signal);
  });
  wait_for_hangup();
  pet_watchdog();
  keep_house(std::chrono::milliseconds(1000));
}

// SIGHUP: re-read the configuration; a broken one is reported and the
// running one stays.
void daemon::wait_for_hangup() {
  hangup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    notify_systemd("RELOADING=1");
    try {
      config fresh = reload_ ? reload_() : config_;
      apply_reload(config_, fresh, *http_, tftp_options_, *service_);
      config_ = std::move(fresh);
      spdlog::info("configuration reloaded");
    } catch (const std::exception& e) {
      spdlog::error("reload refused, the running configuration stays: {}", e.what());
    }
    notify_systemd("READY=1");
    wait_for_hangup();
  });
}

// The systemd watchdog, when the unit asks for one.
void daemon::pet_watchdog() {
  const auto interval = watchdog_interval_ms();
  if (!interval) return;
  notify_systemd("WATCHDOG=1");
  watchdog_.expires_after(std::chrono::milliseconds(*interval));
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) pet_watchdog();
  });
}

// Housekeeping: the record budget's summaries and the event table's bounds
// (service::maintain), once a second, sooner while a trim has more to do.
void daemon::keep_house(std::chrono::milliseconds after) {
  housekeeping_.expires_after(after);
  housekeeping_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const bool more = service_->maintain(std::chrono::steady_clock::now());
    keep_house(more ? std::chrono::milliseconds(50) : std::chrono::milliseconds(1000));
  });
}

// Work the stop waits for: open connections, TFTP transfers, and the DHCP
// server until its last lease change is on disk.
bool daemon::busy() const {
  return http_->sessions() > 0 || tftp_stats_.active > 0 || dhcp_stats_.running > 0;
}

// SIGINT/SIGTERM: stop accepting, let work in flight finish within the
// grace period, then stop the loop (run() returns; what is still suspended
// is destroyed with the daemon, in the order its members are declared).
void daemon::stop(int signal) {
  notify_systemd("STOPPING=1");
  spdlog::info("signal {}: stopping (grace {} s)", signal, config_.shutdown_grace_s);
  boost::system::error_code ignored;
  for (auto* acceptor : {http_acceptor_.get(), https_acceptor_.get(), admin_acceptor_.get()})
    if (acceptor) acceptor->close(ignored);
  if (tftp_socket_) tftp_socket_->close(ignored);
  if (dhcp_socket_) dhcp_socket_->close(ignored);
  hangup_.cancel();
  watchdog_.cancel();
  http_->begin_stop();
  net::co_spawn(
      io_,
      [this]() -> net::awaitable<void> {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config_.shutdown_grace_s);
        while (busy() && std::chrono::steady_clock::now() < deadline) {
          grace_.expires_after(std::chrono::milliseconds(50));
          co_await grace_.async_wait(net::as_tuple(net::use_awaitable));
        }
        if (busy())
          spdlog::warn("{} connection(s), {} TFTP transfer(s) and {} DHCP task(s) still open after the grace "
                       "period; closing",
                       http_->sessions(), tftp_stats_.active, dhcp_stats_.running);
        io_.stop();
      },
      net::detached);
}

void daemon::say_hello() const {
  const auto& c = config_;
  const auto devices = inventory_->list_devices();
  spdlog::info("provbox serving {} devices from {}: http {}, https {}, tftp {}, admin {}, dhcp {}", devices.size(),
               c.database_path(), c.listen.http.to_string(), c.listen.https.to_string(), c.listen.tftp.to_string(),
               c.listen.admin.to_string(), c.dhcp.enabled ? c.dhcp.interface : std::string("off"));
  if (!c.listen.http.enabled) return;
  // A first start: say how to fetch something, from a device whose file is
  // readable as it comes (not encrypted).
  for (const auto& device : devices) {
    const auto model = inventory_->find_model(device.model);
    if (!device.enabled || !device.encryption_key.empty() || !model || model->patterns.empty()) continue;
    const auto file = provisioning::example_file_name(model->patterns.front(), device.mac, model->name);
    spdlog::info("try: curl http://{}/{}   (device {}; provbox device list shows all)", c.listen.http.to_string(),
                 file, device.mac.colon_lower());
    break;
  }
}

int daemon::run() {
  start();
  say_hello();
  notify_systemd("READY=1");
  spdlog::default_logger()->flush();
  io_.run();
  service_->set_event_flush_scheduler(nullptr);
  service_->flush_events();
  spdlog::info("stopped");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace

int serve(const config& initial, const std::function<config()>& reload) {
  set_up_logging(initial);
  raise_open_files_limit();
  try {
    daemon d(initial, reload);
    return d.run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    std::cerr << "provbox serve: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace provbox::server
