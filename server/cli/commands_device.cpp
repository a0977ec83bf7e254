// provbox device add|set|show|list|rm|import|export
#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "server/cli/context.hpp"
#include "server/cli/csv.hpp"
#include "server/cli/output.hpp"
#include "store/events.hpp"
#include "store/firmware.hpp"
#include "store/validation.hpp"

namespace provbox::cli {
namespace {

// The device fields, in the order of the CSV columns, with the option that
// sets each one. One table serves add, set, import and export.
struct device_field {
  std::string_view column;  // CSV column and --option name
  std::string store::device_record::*member;
};
constexpr device_field text_fields[] = {
    {"serial", &store::device_record::serial},       {"hw", &store::device_record::hw_version},
    {"sw", &store::device_record::sw_version},       {"ip", &store::device_record::static_ip},
    {"key", &store::device_record::encryption_key},  {"label", &store::device_record::label},
    {"group", &store::device_record::group},
};

// Checks one field's text; the message names the field, the caller adds
// where it came from.
std::optional<std::string> field_problem(std::string_view column, const std::string& value) {
  if (value.empty()) return std::nullopt;  // empty clears a field
  if (column == "ip" && !store::is_valid_ipv4(value)) return "invalid IPv4 address '" + value + "'";
  if (column == "key" && !store::is_valid_encryption_key(value))
    return "invalid key (1-128 printable characters, no spaces or brackets)";
  if (column == "group" && !store::is_valid_group_name(value))
    return "invalid group name '" + value + "' (letters, digits, '_', '.', '-')";
  if (!store::is_valid_text_field(value)) return std::string(column) + " must be one line of at most 256 bytes";
  return std::nullopt;
}

std::vector<option_spec> device_options(bool for_set) {
  std::vector<option_spec> options{{"model"}};
  for (const auto& f : text_fields) options.push_back({f.column});
  if (for_set) {
    options.push_back({"enable", false});
    options.push_back({"disable", false});
  } else {
    options.push_back({"disabled", false});
  }
  return options;
}

std::string public_base(const arguments& args) {
  if (auto s = args.value("server")) return *s;
  if (const char* env = std::getenv("PROVBOX_PUBLIC_URL"); env && *env) return env;
  return "http://127.0.0.1:8080";  // the embedded default's HTTP listener
}

int device_add(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device add", raw, device_options(false), 1, 1);
  store::device_record device;
  device.mac = parse_mac_argument(args, args.positional(0));
  auto model = args.value("model");
  if (!model) args.fail("--model is required");
  device.model = *model;
  for (const auto& f : text_fields) {
    if (auto v = args.value(f.column)) {
      if (auto problem = field_problem(f.column, *v)) args.fail(*problem);
      device.*f.member = *v;
    }
  }
  device.enabled = !args.flag("disabled");
  ctx.inventory().add_device(device);
  ctx.out << "device " << device.mac.colon_lower() << " added\n";
  return 0;
}

int device_set(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device set", raw, device_options(true), 1, 1);
  const auto mac = parse_mac_argument(args, args.positional(0));
  store::device_changes changes;
  changes.model = args.value("model");
  std::optional<std::string>* targets[] = {&changes.serial,         &changes.hw_version, &changes.sw_version,
                                           &changes.static_ip,      &changes.encryption_key,
                                           &changes.label,          &changes.group};
  std::size_t i = 0;
  bool any = changes.model.has_value();
  for (const auto& f : text_fields) {
    if (auto v = args.value(f.column)) {
      if (auto problem = field_problem(f.column, *v)) args.fail(*problem);
      *targets[i] = *v;
      any = true;
    }
    ++i;
  }
  if (args.flag("enable") && args.flag("disable")) args.fail("give --enable or --disable, not both");
  if (args.flag("enable")) changes.enabled = true;
  if (args.flag("disable")) changes.enabled = false;
  if (!any && !changes.enabled) args.fail("nothing to change");
  ctx.inventory().update_device(mac, changes);
  ctx.out << "device " << mac.colon_lower() << " updated\n";
  return 0;
}

// The Profile Rule an operator types into the device's provisioning page.
std::string profile_rule(const std::string& base, const store::model_record& model,
                         const store::device_record& device) {
  if (model.patterns.empty()) return "";
  std::string rule;
  if (!device.encryption_key.empty()) rule = "[--key " + device.encryption_key + "]";
  rule += base;
  if (rule.back() != '/') rule += '/';
  return rule + model.patterns.front();
}

// The Upgrade Rule for the model's current firmware. Devices do not upgrade
// over HTTPS, so an https:// --server falls back to the embedded default's
// HTTP listener address.
std::string upgrade_rule(const std::string& base, store::database& db, const store::model_record& model) {
  auto image = store::current_firmware(db, model.name);
  if (!image) return "";
  std::string http_base = base.starts_with("http://") ? base : std::string("http://127.0.0.1:8080");
  if (http_base.back() != '/') http_base += '/';
  return http_base + store::firmware_url_path(image->model, image->version, image->file_name);
}

// Whether the device fetched the version it should have: "in sync",
// "pending" (it has an older one) or "never seen".
std::string sync_state(const std::optional<store::event>& last, std::uint64_t version) {
  if (!last) return "never seen";
  return last->dbase_version == version ? "in sync" : "pending";
}

int device_show(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device show", raw, {{"server"}}, 1, 1);
  const auto mac = parse_mac_argument(args, args.positional(0));
  auto& inv = ctx.inventory();
  auto device = inv.find_device(mac);
  if (!device) throw operation_error("unknown device " + mac.colon_lower());
  const auto model = *inv.find_model(device->model);
  const auto version = inv.dbase_version(*device);
  const auto rule = profile_rule(public_base(args), model, *device);
  const auto upgrade = upgrade_rule(public_base(args), inv.db(), model);
  store::event_log events(inv.db());
  const auto last = events.last_profile_fetch(mac.colon_lower());
  const auto recent = events.recent(mac.colon_lower(), 5);
  if (ctx.json) {
    json_writer json;
    json.begin_object().field("mac", device->mac.colon_lower()).field("model", device->model);
    for (const auto& f : text_fields) json.field(f.column, (*device).*f.member);
    json.field("enabled", device->enabled)
        .field("dbase_version", version)
        .field("config_file", model.config_file)
        .field("profile_rule", rule)
        .field("upgrade_rule", upgrade)
        .field("state", sync_state(last, version))
        .field("created_at", device->created_at);
    json.key("last_fetch");
    if (last) {
      // "at" is when it last fetched; a row of repeated fetches also tells
      // how many and when the first was.
      json.begin_object()
          .field("at", last->newest_at())
          .field("transport", last->transport)
          .field("file", last->file)
          .field("dbase_version", *last->dbase_version)
          .field("status", last->status);
      if (last->repeats > 1) json.field("repeats", last->repeats).field("first_at", last->at);
      json.end_object();
    } else {
      json.begin_object().end_object();
    }
    json.end_object();
    ctx.out << json.str() << '\n';
    return 0;
  }
  auto line = [&](std::string_view name, const std::string& value) {
    ctx.out << name << std::string(16 - name.size(), ' ') << (value.empty() ? "-" : value) << '\n';
  };
  line("mac:", device->mac.colon_lower());
  line("model:", device->model);
  line("serial:", device->serial);
  line("hardware:", device->hw_version);
  line("software:", device->sw_version);
  line("label:", device->label);
  line("group:", device->group);
  line("static ip:", device->static_ip);
  line("encrypted:", device->encryption_key.empty() ? "no" : "yes ([--key] in the profile rule)");
  line("enabled:", device->enabled ? "yes" : "no");
  line("dbase version:", std::to_string(version));
  line("option 66 file:", model.config_file);
  line("profile rule:", rule.empty() ? "(model has no --pattern)" : rule);
  line("upgrade rule:", upgrade.empty() ? "(no firmware for this model)" : upgrade);
  line("state:", sync_state(last, version));
  // "x N": N requests in a row answered the same; a fetch shows the newest
  // of them, a request line the first.
  if (last)
    line("last fetch:", last->newest_at() + "  " + last->transport + " " + last->file + "  version " +
                            std::to_string(*last->dbase_version) + "  status " + std::to_string(last->status) +
                            (last->repeats > 1 ? "  x" + std::to_string(last->repeats) + " since " + last->at : ""));
  if (!recent.empty()) {
    ctx.out << "recent requests:\n";
    for (const auto& e : recent)
      ctx.out << "  " << e.at << "  " << e.transport << "  " << e.peer << "  " << e.file << "  " << e.status
              << (e.detail.empty() ? "" : "  (" + e.detail + ")")
              << (e.repeats > 1 ? "  x" + std::to_string(e.repeats) + " until " + e.last_at : "") << '\n';
  }
  return 0;
}

int device_list(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device list", raw, {{"model"}, {"group"}}, 0, 0);
  auto& inv = ctx.inventory();
  const auto devices = inv.list_devices({args.value("model"), args.value("group")});
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& d : devices) {
      json.begin_object().field("mac", d.mac.colon_lower()).field("model", d.model);
      for (const auto& f : text_fields) json.field(f.column, d.*f.member);
      json.field("enabled", d.enabled).field("dbase_version", inv.dbase_version(d)).end_object();
    }
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : devices)
    rows.push_back({d.mac.colon_lower(), d.model, d.group.empty() ? "-" : d.group,
                    d.static_ip.empty() ? "-" : d.static_ip, d.encryption_key.empty() ? "no" : "yes",
                    d.enabled ? "yes" : "no", std::to_string(inv.dbase_version(d)), d.label});
  print_table(ctx.out, {"MAC", "MODEL", "GROUP", "IP", "ENCRYPTED", "ENABLED", "VERSION", "LABEL"}, rows);
  return 0;
}

int device_rm(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device rm", raw, {}, 1, 1);
  const auto mac = parse_mac_argument(args, args.positional(0));
  ctx.inventory().remove_device(mac);
  ctx.out << "device " << mac.colon_lower() << " removed\n";
  return 0;
}

int device_import(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device import", raw, {}, 1, 1);
  const std::string path = args.positional(0);
  const auto table = parse_csv(read_file_argument(args, path));
  if (!table.error.empty()) throw operation_error(path + ":" + std::to_string(table.error_line) + ": " + table.error);
  if (table.rows.empty()) throw operation_error(path + ": empty file (expected a header row: mac,model,...)");

  // Map the header's columns to fields; mac and model are required.
  const auto& header = table.rows.front().cells;
  std::optional<std::size_t> mac_col, model_col, enabled_col;
  std::vector<std::pair<std::size_t, const device_field*>> text_cols;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const auto& name = header[c];
    // A repeated column would silently drop one of its values.
    if (std::find(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(c), name) !=
        header.begin() + static_cast<std::ptrdiff_t>(c))
      throw operation_error(path + ":1: column '" + name + "' given twice");
    if (name == "mac") mac_col = c;
    else if (name == "model") model_col = c;
    else if (name == "enabled") enabled_col = c;
    else {
      const device_field* field = nullptr;
      for (const auto& f : text_fields)
        if (f.column == name) field = &f;
      if (!field)
        throw operation_error(path + ":1: unknown column '" + name +
                              "' (known: mac,model,serial,hw,sw,ip,key,label,group,enabled)");
      text_cols.emplace_back(c, field);
    }
  }
  if (!mac_col || !model_col) throw operation_error(path + ":1: the header needs 'mac' and 'model' columns");

  std::vector<store::device_record> devices;
  std::vector<std::size_t> lines;  // each device's line in the file, for the store's errors
  for (std::size_t r = 1; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    lines.push_back(row.line);
    const std::string where = path + ":" + std::to_string(row.line) + ": ";
    if (row.cells.size() != header.size())
      throw operation_error(where + "expected " + std::to_string(header.size()) + " fields, found " +
                            std::to_string(row.cells.size()));
    store::device_record d;
    std::string error;
    auto mac = profile::mac_address::parse_device(row.cells[*mac_col], error);
    if (!mac) throw operation_error(where + error);
    d.mac = *mac;
    d.model = row.cells[*model_col];
    for (const auto& [c, field] : text_cols) {
      if (auto problem = field_problem(field->column, row.cells[c])) throw operation_error(where + *problem);
      d.*field->member = row.cells[c];
    }
    if (enabled_col) {
      const auto& v = row.cells[*enabled_col];
      if (v == "" || v == "1" || v == "yes" || v == "true") d.enabled = true;
      else if (v == "0" || v == "no" || v == "false") d.enabled = false;
      else throw operation_error(where + "enabled must be 1/0, yes/no or true/false");
    }
    devices.push_back(std::move(d));
  }
  // One transaction, one device at a time, so a device the store refuses
  // (unknown model, a MAC already present or repeated in the file) is named
  // by its line; the first refusal rolls back every row.
  auto& inv = ctx.inventory();
  store::transaction tx(inv.db());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    try {
      inv.add_device(devices[i]);
    } catch (const store::store_error& e) {
      throw operation_error(path + ":" + std::to_string(lines[i]) + ": " + e.what() + "; nothing was imported");
    }
  }
  tx.commit();
  ctx.out << devices.size() << " device(s) imported\n";
  return 0;
}

int device_export(context& ctx, const std::vector<std::string>& raw) {
  arguments args("device export", raw, {{"model"}, {"group"}}, 0, 0);
  std::vector<std::string> header{"mac", "model"};
  for (const auto& f : text_fields) header.emplace_back(f.column);
  header.emplace_back("enabled");
  ctx.out << format_csv_row(header);
  for (const auto& d : ctx.inventory().list_devices({args.value("model"), args.value("group")})) {
    std::vector<std::string> row{d.mac.colon_lower(), d.model};
    for (const auto& f : text_fields) row.push_back(d.*f.member);
    row.emplace_back(d.enabled ? "1" : "0");
    ctx.out << format_csv_row(row);
  }
  return 0;
}

}  // namespace

std::vector<command> device_commands() {
  return {
      {"device add",
       "device add MAC --model M [--serial S] [--hw V] [--sw V] [--ip A] [--key K] [--label L] [--group G] "
       "[--disabled]",
       device_add},
      {"device set", "device set MAC [--model M] [--serial S] ... [--enable|--disable]  (\"\" clears a field)",
       device_set},
      {"device show", "device show MAC [--server URL]", device_show},
      {"device list", "device list [--model M] [--group G]", device_list},
      {"device rm", "device rm MAC", device_rm},
      {"device import", "device import FILE.csv   (header: mac,model,serial,hw,sw,ip,key,label,group,enabled)",
       device_import},
      {"device export", "device export [--model M] [--group G]   (CSV on standard output)", device_export},
  };
}

}  // namespace provbox::cli
