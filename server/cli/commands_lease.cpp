// provbox lease list|release: the DHCP server's leases, read and changed
// through the same database (the daemon notices through PRAGMA data_version).
#include <chrono>

#include "server/cli/context.hpp"
#include "server/cli/output.hpp"
#include "store/leases.hpp"

namespace provbox::cli {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// A bound lease past its end is shown as expired even before the daemon
// has reclaimed it.
std::string effective_state(const store::lease_row& row, std::int64_t now) {
  if (row.state == "bound" && row.expires_at < now) return "expired";
  return row.state;
}

int lease_list(context& ctx, const std::vector<std::string>& raw) {
  arguments args("lease list", raw, {{"all", false}}, 0, 0);
  const bool all = args.flag("all");
  const auto now = unix_now();
  std::vector<store::lease_row> rows;
  for (auto& row : store::list_leases(ctx.inventory().db())) {
    if (all || effective_state(row, now) == "bound" || row.state == "declined") rows.push_back(std::move(row));
  }
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& r : rows) {
      json.begin_object()
          .field("address", store::format_ipv4(r.address))
          .field("mac", r.mac)
          .field("state", effective_state(r, now))
          .field("expires_at", iso_time(r.expires_at))
          .field("expires_in", r.expires_at - now)
          .field("hostname", r.hostname)
          .field("client_key", r.client_key)
          .end_object();
    }
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows)
    table.push_back({store::format_ipv4(r.address), r.mac.empty() ? "-" : r.mac, effective_state(r, now),
                     iso_time(r.expires_at), r.hostname.empty() ? "-" : r.hostname});
  print_table(ctx.out, {"ADDRESS", "MAC", "STATE", "EXPIRES", "HOSTNAME"}, table);
  return 0;
}

int lease_release(context& ctx, const std::vector<std::string>& raw) {
  arguments args("lease release", raw, {}, 1, 1);
  const auto address = store::parse_ipv4(args.positional(0));
  if (!address) args.fail("'" + args.positional(0) + "' is not an IPv4 address");
  if (!store::release_lease(ctx.inventory().db(), *address, unix_now()))
    throw operation_error("no bound lease for " + args.positional(0));
  ctx.out << "lease of " << args.positional(0)
          << " released (the device keeps using it until it renews; it gets it back if it asks first)\n";
  return 0;
}

}  // namespace

std::vector<command> lease_commands() {
  return {
      {"lease list", "lease list [--all]   (DHCP leases: bound and declined; --all adds released and expired)",
       lease_list},
      {"lease release", "lease release ADDRESS", lease_release},
  };
}

}  // namespace provbox::cli
