// provbox serve, provbox config check
#include "server/cli/context.hpp"
#include "dhcp/lease_engine.hpp"
#include "server/config.hpp"
#include "server/serve.hpp"

namespace provbox::cli {
namespace {

const std::vector<option_spec> serve_options = {
    {"config"}, {"http"}, {"https"}, {"admin"}, {"tftp"}, {"log-format"}, {"log-level"}, {"user"},
    {"dhcp"}, {"dhcp-range", true, true}, {"dhcp-known-only", false}};

// The config file, then the flags over it, so scripts and tests need no YAML.
server::config config_from(const arguments& args, const context& ctx) {
  server::config c;
  if (auto path = args.value("config")) {
    try {
      c = server::load_config(*path);
    } catch (const server::config_error& e) {
      throw operation_error(e.what());
    }
  }
  // --data-dir and --db (global options) win over the file; without them the
  // file's values (or the embedded defaults) stand.
  // Without a file, the same defaults as every other command (the data
  // folder is the database's folder), so `serve` and `cert issue` share a CA.
  const bool from_file = args.value("config").has_value();
  if (ctx.data_dir_given || !from_file) c.data_dir = ctx.data_dir;
  if (ctx.db_given || !from_file) c.database = ctx.db_path;
  auto listener = [&](const char* name, server::listen_address& target) {
    if (auto text = args.value(name)) {
      auto parsed = server::parse_listen_address(*text);
      if (!parsed) args.fail(std::string("--") + name + " takes ADDR:PORT, [V6]:PORT or off");
      target = *parsed;
    }
  };
  listener("http", c.listen.http);
  listener("https", c.listen.https);
  listener("admin", c.listen.admin);
  listener("tftp", c.listen.tftp);
  if (auto f = args.value("log-format")) {
    if (*f != "text" && *f != "json") args.fail("--log-format takes text or json");
    c.log.format = *f;
  }
  if (auto l = args.value("log-level")) {
    if (*l != "trace" && *l != "debug" && *l != "info" && *l != "warn" && *l != "error" && *l != "off")
      args.fail("--log-level takes trace, debug, info, warn, error or off");
    c.log.level = *l;
  }
  if (auto u = args.value("user")) c.user = *u;
  // The simple DHCP case needs no YAML, as with dnsmasq.
  // `--dhcp off` turns it off, like the other listeners.
  if (auto iface = args.value("dhcp")) {
    c.dhcp.enabled = *iface != "off";
    c.dhcp.interface = c.dhcp.enabled ? *iface : std::string();
  }
  if (args.flag("dhcp-range")) {
    c.dhcp.ranges.clear();
    for (const auto& range : args.values("dhcp-range")) {
      auto parsed = dhcp::address_range::parse(range);
      if (!parsed) args.fail("--dhcp-range takes FIRST-LAST, e.g. 10.0.0.100-10.0.0.200");
      c.dhcp.ranges.push_back(range);
    }
  }
  if (args.flag("dhcp-known-only")) c.dhcp.known_only = true;
  if ((args.flag("dhcp-range") || args.flag("dhcp-known-only")) && !c.dhcp.enabled)
    args.fail("--dhcp-range and --dhcp-known-only go with --dhcp IFACE");
  return c;
}

int serve(context& ctx, const std::vector<std::string>& raw) {
  arguments args("serve", raw, serve_options, 0, 0);
  // SIGHUP reads the file again, with the same flags laid over it.
  return server::serve(config_from(args, ctx), [&] {
    try {
      return config_from(args, ctx);
    } catch (const operation_error& e) {
      throw std::runtime_error(e.what());
    }
  });
}

int config_check(context& ctx, const std::vector<std::string>& raw) {
  arguments args("config check", raw, {}, 1, 1);
  try {
    const auto c = server::load_config(args.positional(0));
    ctx.out << args.positional(0) << ": ok (data " << c.data_dir << ", http " << c.listen.http.to_string()
            << ", https " << c.listen.https.to_string() << ", admin " << c.listen.admin.to_string()
            << ", tftp " << c.listen.tftp.to_string() << ")\n";
  } catch (const server::config_error& e) {
    throw operation_error(e.what());
  }
  return 0;
}

}  // namespace

std::vector<command> serve_commands() {
  return {
      {"serve",
       "serve [--config FILE] [--http ADDR:PORT|off] [--https ADDR:PORT|off] [--admin ADDR:PORT|off] "
       "[--tftp ADDR:PORT|off] [--dhcp IFACE|off --dhcp-range FIRST-LAST [--dhcp-known-only]] [--user NAME] "
       "[--log-format text|json] [--log-level L]",
       serve},
      {"config check", "config check FILE   (validate a configuration without starting)", config_check},
  };
}

}  // namespace provbox::cli
