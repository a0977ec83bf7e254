// provbox status, events, backup, restore: what the fleet does, and keeping
// the inventory safe.
#include <algorithm>
#include <charconv>
#include <filesystem>

#include "server/cli/context.hpp"
#include "server/cli/output.hpp"
#include "store/backup.hpp"
#include "store/events.hpp"

namespace provbox::cli {
namespace {

// One device's standing, from its events.
struct device_status {
  std::string address;     // static, else where it last asked from
  std::string last_seen;   // newest event of any kind
  std::string state;       // in sync, pending, never seen
  std::uint64_t served = 0;
  std::uint64_t current = 0;
  std::string firmware;    // last firmware file fetched whole (served files without a version are firmware)
  std::string last_error;  // newest refusal or failed transfer
};

device_status status_of(store::inventory& inv, const store::device_record& d) {
  device_status s;
  s.current = inv.dbase_version(d);
  const auto mac = d.mac.colon_lower();
  auto& db = inv.db();
  // A row may stand for repeated requests: last_at is the newest of them.
  auto newest = db.prepare("SELECT coalesce(last_at, at), peer FROM events WHERE mac = ?1 ORDER BY id DESC LIMIT 1");
  newest.bind_all(mac);
  if (newest.step()) {
    s.last_seen = newest.text(0);
    s.address = newest.text(1);
  }
  if (!d.static_ip.empty()) s.address = d.static_ip;
  auto fetch = store::event_log(db).last_profile_fetch(mac);
  if (!fetch) {
    s.state = "never seen";
  } else {
    s.served = *fetch->dbase_version;
    s.state = s.served == s.current ? "in sync" : "pending";
  }
  auto firmware = db.prepare(
      "SELECT file FROM events WHERE mac = ?1 AND dbase_version IS NULL AND status = 200 ORDER BY id DESC LIMIT 1");
  firmware.bind_all(mac);
  if (firmware.step()) s.firmware = firmware.text(0);
  auto error = db.prepare(
      "SELECT coalesce(last_at, at), status, file, detail FROM events WHERE mac = ?1 AND status >= 400 "
      "ORDER BY id DESC LIMIT 1");
  error.bind_all(mac);
  if (error.step())
    s.last_error = error.text(0) + " " + std::to_string(error.integer(1)) + " " + error.text(2) +
                   (error.text(3).empty() ? "" : " (" + error.text(3) + ")");
  return s;
}

int status(context& ctx, const std::vector<std::string>& raw) {
  arguments args("status", raw, {{"model"}, {"group"}, {"state"}}, 0, 0);
  const auto wanted = args.value("state");
  if (wanted && *wanted != "in-sync" && *wanted != "pending" && *wanted != "never-seen")
    args.fail("--state takes in-sync, pending or never-seen");
  auto& inv = ctx.inventory();
  std::vector<std::pair<store::device_record, device_status>> rows;
  for (auto& d : inv.list_devices({args.value("model"), args.value("group")})) {
    auto s = status_of(inv, d);
    if (wanted) {
      std::string dashed = s.state;
      std::replace(dashed.begin(), dashed.end(), ' ', '-');
      if (dashed != *wanted) continue;
    }
    rows.emplace_back(std::move(d), std::move(s));
  }
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& [d, s] : rows)
      json.begin_object()
          .field("mac", d.mac.colon_lower())
          .field("model", d.model)
          .field("address", s.address)
          .field("last_seen", s.last_seen)
          .field("state", s.state)
          .field("served_version", s.served)
          .field("current_version", s.current)
          .field("firmware", s.firmware)
          .field("last_error", s.last_error)
          .end_object();
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  auto dash = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
  std::vector<std::vector<std::string>> table;
  for (const auto& [d, s] : rows)
    table.push_back({d.mac.colon_lower(), d.model, dash(s.address), dash(s.last_seen), s.state,
                     s.served ? std::to_string(s.served) + "/" + std::to_string(s.current) : "-/" + std::to_string(s.current),
                     dash(s.firmware), dash(s.last_error)});
  print_table(ctx.out, {"MAC", "MODEL", "ADDRESS", "LAST SEEN", "STATE", "SERVED/CURRENT", "FIRMWARE", "LAST ERROR"},
              table);
  return 0;
}

int events(context& ctx, const std::vector<std::string>& raw) {
  arguments args("events", raw, {{"limit"}}, 0, 1);
  std::size_t limit = 50;
  if (auto l = args.value("limit")) {
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit == 0) args.fail("--limit takes a positive number");
  }
  auto& inv = ctx.inventory();
  std::vector<store::event> list;
  if (!args.positional().empty()) {
    const auto mac = parse_mac_argument(args, args.positional(0));
    list = store::event_log(inv.db()).recent(mac.colon_lower(), limit);
  } else {
    list = store::event_log(inv.db()).latest(limit);
  }
  // Oldest first: a timeline reads down.
  std::reverse(list.begin(), list.end());
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& e : list) {
      json.begin_object()
          .field("at", e.at)
          .field("mac", e.mac)
          .field("transport", e.transport)
          .field("peer", e.peer)
          .field("file", e.file)
          .field("status", e.status)
          .field("bytes", e.bytes);
      if (e.dbase_version) json.field("dbase_version", *e.dbase_version);
      json.field("detail", e.detail);
      // Only on a row that stands for repeated requests, as dbase_version only
      // on a profile: absent means once, at "at".
      if (e.repeats > 1) json.field("repeats", e.repeats).field("last_at", e.last_at);
      json.end_object();
    }
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  // A row answered several times in a row: "x1440 until LAST", TIME being the
  // first of them and BYTES their sum.
  auto repeated = [](const store::event& e) {
    return e.repeats > 1 ? "x" + std::to_string(e.repeats) + " until " + e.last_at : std::string("-");
  };
  std::vector<std::vector<std::string>> table;
  for (const auto& e : list)
    table.push_back({e.at, e.mac.empty() ? "-" : e.mac, e.transport, e.peer, e.file, std::to_string(e.status),
                     e.dbase_version ? std::to_string(*e.dbase_version) : "-", std::to_string(e.bytes), repeated(e),
                     e.detail});
  print_table(ctx.out, {"TIME", "DEVICE", "VIA", "PEER", "FILE", "STATUS", "VERSION", "BYTES", "REPEATED", "DETAIL"},
              table);
  return 0;
}

int backup(context& ctx, const std::vector<std::string>& raw) {
  arguments args("backup", raw, {{"force", false}}, 1, 1);
  const auto& destination = args.positional(0);
  if (std::filesystem::exists(destination) && !args.flag("force"))
    throw operation_error(destination + " exists (add --force to replace it)");
  store::backup_database(ctx.inventory().db(), destination);
  ctx.out << "inventory copied to " << destination << '\n';
  return 0;
}

int restore(context& ctx, const std::vector<std::string>& raw) {
  arguments args("restore", raw, {}, 1, 1);
  const auto result = store::restore_database(ctx.create_inventory().db(), args.positional(0));
  ctx.out << "inventory restored from " << args.positional(0) << "; version floor raised to "
          << result.new_version_floor << " so every device's next file is newer than any it has\n";
  return 0;
}

}  // namespace

std::vector<command> fleet_commands() {
  return {
      {"status", "status [--model M] [--group G] [--state in-sync|pending|never-seen]", status},
      {"events", "events [MAC] [--limit N]   (oldest first)", events},
      {"backup", "backup FILE [--force]   (a consistent copy, safe while serving)", backup},
      {"restore", "restore FILE", restore},
  };
}

}  // namespace provbox::cli
