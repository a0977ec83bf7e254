#include "store/inventory.hpp"

#include <algorithm>

#include "server/profile/profile_template.hpp"
#include "store/schema.hpp"
#include "store/validation.hpp"

namespace provbox::store {
namespace {

constexpr const char* device_columns =
    "d.mac, m.name, d.serial, d.hw_version, d.sw_version, d.label, d.group_name, d.static_ip, "
    "d.encryption_key, d.enabled, d.revision, d.created_at";

device_record read_device_row(const statement& row) {
  device_record d;
  d.mac = *profile::mac_address::parse(row.text(0));
  d.model = row.text(1);
  d.serial = row.text(2);
  d.hw_version = row.text(3);
  d.sw_version = row.text(4);
  d.label = row.text(5);
  d.group = row.text(6);
  d.static_ip = row.text(7);
  d.encryption_key = row.text(8);
  d.enabled = row.integer(9) != 0;
  d.revision = static_cast<std::uint64_t>(row.integer(10));
  d.created_at = row.text(11);
  return d;
}

void check_device_fields(const device_record& d) {
  if (!is_valid_text_field(d.serial) || !is_valid_text_field(d.hw_version) ||
      !is_valid_text_field(d.sw_version) || !is_valid_text_field(d.label))
    throw store_error("device " + d.mac.colon_lower() + ": text fields are one line of at most 256 bytes");
  if (!d.group.empty() && !is_valid_group_name(d.group))
    throw store_error("invalid group name '" + d.group + "'");
  if (!d.static_ip.empty() && !is_valid_ipv4(d.static_ip))
    throw store_error("invalid IPv4 address '" + d.static_ip + "'");
  if (!d.encryption_key.empty() && !is_valid_encryption_key(d.encryption_key))
    throw store_error("invalid encryption key (1-128 printable characters, no spaces or brackets)");
}

void check_model_fields(const model_record& m) {
  if (!is_valid_model_name(m.name)) throw store_error("invalid model name '" + m.name + "'");
  if (!is_valid_config_file_name(m.config_file))
    throw store_error("invalid config file name '" + m.config_file + "'");
  for (const auto& p : m.patterns) {
    std::string why;
    if (!is_valid_file_pattern(p, &why)) throw store_error("invalid pattern '" + p + "': " + why);
  }
  const auto parsed = profile::parse_template(m.template_text);
  if (!parsed.ok()) {
    const auto& e = parsed.errors.front();
    throw store_error("template of model " + m.name + ", line " + std::to_string(e.line) + ": " + e.message);
  }
}

scope_kind parse_scope_kind(std::string_view text) {
  if (text == "group") return scope_kind::group;
  if (text == "model") return scope_kind::model;
  if (text == "device") return scope_kind::device;
  return scope_kind::global;
}

}  // namespace

std::string_view to_string(scope_kind kind) {
  switch (kind) {
    case scope_kind::global: return "global";
    case scope_kind::group: return "group";
    case scope_kind::model: return "model";
    case scope_kind::device: return "device";
  }
  return "global";
}

std::string scope::describe() const {
  if (kind == scope_kind::global) return "global";
  return std::string(to_string(kind)) + " " + target;
}

inventory::inventory(const std::string& path) : db_(path) { migrate(db_); }

std::uint64_t inventory::revision() {
  auto stmt = db_.prepare("SELECT value FROM meta WHERE key = 'revision'");
  stmt.step();
  return static_cast<std::uint64_t>(stmt.integer(0));
}

std::uint64_t inventory::version_floor() {
  auto stmt = db_.prepare("SELECT value FROM meta WHERE key = 'version_floor'");
  stmt.step();
  return static_cast<std::uint64_t>(stmt.integer(0));
}

void inventory::raise_version_floor(std::uint64_t floor) {
  transaction tx(db_);
  const auto current = version_floor();
  if (floor < current)
    throw store_error("the version floor is " + std::to_string(current) +
                      "; lowering it would repeat versions devices have already seen");
  if (floor > (std::uint64_t{1} << 40)) throw store_error("version floor too large");
  db_.prepare("UPDATE meta SET value = ?1 WHERE key = 'version_floor'").bind_all(floor).run();
  next_revision();
  tx.commit();
}

std::optional<std::uint64_t> inventory::keep_versions_above(std::uint64_t served) {
  transaction tx(db_);
  // The highest version any device can have now is floor + revision.
  if (served <= version_floor() + revision()) return std::nullopt;
  raise_version_floor(served + 1);
  tx.commit();
  return served + 1;
}

std::uint64_t inventory::next_revision() {
  auto stmt = db_.prepare("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value");
  stmt.step();
  const auto value = static_cast<std::uint64_t>(stmt.integer(0));
  stmt.run();
  return value;
}

void inventory::touch(const scope& where, std::uint64_t revision) {
  db_.prepare(
         "INSERT INTO scope_revisions (scope, target, revision) VALUES (?1, ?2, ?3) "
         "ON CONFLICT (scope, target) DO UPDATE SET revision = excluded.revision")
      .bind_all(to_string(where.kind), where.target, revision)
      .run();
}

scope inventory::resolve(const scope& where) {
  switch (where.kind) {
    case scope_kind::global: return scope::global();
    case scope_kind::group:
      if (!is_valid_group_name(where.target)) throw store_error("invalid group name '" + where.target + "'");
      return where;
    case scope_kind::model: {
      auto model = find_model(where.target);
      if (!model) throw store_error("unknown model '" + where.target + "'");
      return scope::model(model->name);
    }
    case scope_kind::device: {
      auto mac = profile::mac_address::parse(where.target);
      if (!mac || !read_device(*mac)) throw store_error("unknown device " + where.target);
      return scope::device(*mac);
    }
  }
  return where;
}

// ---- models ---------------------------------------------------------------

void inventory::add_model(const model_record& model) {
  check_model_fields(model);
  transaction tx(db_);
  if (find_model(model.name)) throw store_error("model " + model.name + " already exists");
  const auto rev = next_revision();
  db_.prepare("INSERT INTO models (name, config_file, template, revision) VALUES (?1, ?2, ?3, ?4)")
      .bind_all(model.name, model.config_file, model.template_text, rev)
      .run();
  const auto id = db_.last_insert_rowid();
  int position = 0;
  for (const auto& pattern : model.patterns)
    db_.prepare("INSERT INTO model_patterns (model_id, position, pattern) VALUES (?1, ?2, ?3)")
        .bind_all(id, position++, pattern)
        .run();
  tx.commit();
}

void inventory::update_model(std::string_view name, const model_changes& changes) {
  transaction tx(db_);
  auto model = find_model(name);
  if (!model) throw store_error("unknown model '" + std::string(name) + "'");
  if (changes.config_file) model->config_file = *changes.config_file;
  if (changes.patterns) model->patterns = *changes.patterns;
  if (changes.template_text) model->template_text = *changes.template_text;
  check_model_fields(*model);
  const auto rev = next_revision();
  db_.prepare("UPDATE models SET config_file = ?1, template = ?2, revision = ?3 WHERE name = ?4")
      .bind_all(model->config_file, model->template_text, rev, model->name)
      .run();
  if (changes.patterns) {
    db_.prepare("DELETE FROM model_patterns WHERE model_id = (SELECT id FROM models WHERE name = ?1)")
        .bind_all(model->name)
        .run();
    int position = 0;
    for (const auto& pattern : model->patterns)
      db_.prepare(
             "INSERT INTO model_patterns (model_id, position, pattern) "
             "SELECT id, ?2, ?3 FROM models WHERE name = ?1")
          .bind_all(model->name, position++, pattern)
          .run();
  }
  tx.commit();
}

std::optional<model_record> inventory::find_model(std::string_view name) {
  auto stmt = db_.prepare("SELECT id, name, config_file, template, revision FROM models WHERE name = ?1");
  stmt.bind_all(name);
  if (!stmt.step()) return std::nullopt;
  model_record m;
  const auto id = stmt.integer(0);
  m.name = stmt.text(1);
  m.config_file = stmt.text(2);
  m.template_text = stmt.text(3);
  m.revision = static_cast<std::uint64_t>(stmt.integer(4));
  auto patterns = db_.prepare("SELECT pattern FROM model_patterns WHERE model_id = ?1 ORDER BY position");
  patterns.bind_all(id);
  while (patterns.step()) m.patterns.push_back(patterns.text(0));
  return m;
}

std::vector<model_record> inventory::list_models() {
  std::vector<std::string> names;
  auto stmt = db_.prepare("SELECT name FROM models ORDER BY name");
  while (stmt.step()) names.push_back(stmt.text(0));
  std::vector<model_record> models;
  for (const auto& name : names) models.push_back(*find_model(name));
  return models;
}

void inventory::remove_model(std::string_view name) {
  transaction tx(db_);
  auto model = find_model(name);
  if (!model) throw store_error("unknown model '" + std::string(name) + "'");
  auto count = db_.prepare("SELECT count(*) FROM devices d JOIN models m ON m.id = d.model_id WHERE m.name = ?1");
  count.bind_all(model->name);
  count.step();
  if (const auto n = count.integer(0); n > 0)
    throw store_error("model " + model->name + " still has " + std::to_string(n) +
                      " device(s); remove them or move them to another model first");
  for (const char* table : {"params", "variables", "scope_revisions"})
    db_.prepare(std::string("DELETE FROM ") + table + " WHERE scope = 'model' AND target = ?1")
        .bind_all(model->name)
        .run();
  db_.prepare("DELETE FROM models WHERE name = ?1").bind_all(model->name).run();
  next_revision();
  tx.commit();
}

// ---- devices --------------------------------------------------------------

std::optional<device_record> inventory::read_device(const profile::mac_address& mac) {
  auto stmt = db_.prepare(std::string("SELECT ") + device_columns +
                          " FROM devices d JOIN models m ON m.id = d.model_id WHERE d.mac = ?1");
  stmt.bind_all(mac.colon_lower());
  if (!stmt.step()) return std::nullopt;
  return read_device_row(stmt);
}

std::optional<device_record> inventory::find_device(const profile::mac_address& mac) { return read_device(mac); }

std::optional<device_record> inventory::find_device_by_address(const std::string& ip) {
  if (ip.empty()) return std::nullopt;
  auto stmt = db_.prepare(std::string("SELECT ") + device_columns +
                          " FROM devices d JOIN models m ON m.id = d.model_id WHERE d.static_ip = ?1 LIMIT 1");
  stmt.bind_all(ip);
  if (!stmt.step()) return std::nullopt;
  return read_device_row(stmt);
}

void inventory::check_address_free(const std::string& ip, const profile::mac_address& mac) {
  // A static address identifies the device that asks for a model's Config
  // File Name; two devices with one address would make that ambiguous.
  if (auto other = find_device_by_address(ip); other && other->mac != mac)
    throw store_error("address " + ip + " already belongs to device " + other->mac.colon_lower());
}

void inventory::add_device_in_transaction(const device_record& device) {
  check_device_fields(device);
  if (read_device(device.mac)) throw store_error("device " + device.mac.colon_lower() + " already exists");
  check_address_free(device.static_ip, device.mac);
  auto model = find_model(device.model);
  if (!model) throw store_error("unknown model '" + device.model + "'");
  const auto rev = next_revision();
  db_.prepare(
         "INSERT INTO devices (mac, model_id, serial, hw_version, sw_version, label, group_name, "
         "static_ip, encryption_key, enabled, revision) "
         "SELECT ?1, id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM models WHERE name = ?11")
      .bind_all(device.mac.colon_lower(), device.serial, device.hw_version, device.sw_version, device.label,
                device.group, device.static_ip, device.encryption_key, device.enabled, rev, model->name)
      .run();
}

void inventory::add_device(const device_record& device) {
  transaction tx(db_);
  add_device_in_transaction(device);
  tx.commit();
}

void inventory::add_devices(const std::vector<device_record>& devices) {
  transaction tx(db_);
  for (const auto& device : devices) add_device_in_transaction(device);
  tx.commit();
}

void inventory::update_device(const profile::mac_address& mac, const device_changes& changes) {
  transaction tx(db_);
  auto device = read_device(mac);
  if (!device) throw store_error("unknown device " + mac.colon_lower());
  if (changes.model) {
    auto model = find_model(*changes.model);
    if (!model) throw store_error("unknown model '" + *changes.model + "'");
    device->model = model->name;
  }
  if (changes.serial) device->serial = *changes.serial;
  if (changes.hw_version) device->hw_version = *changes.hw_version;
  if (changes.sw_version) device->sw_version = *changes.sw_version;
  if (changes.label) device->label = *changes.label;
  if (changes.group) device->group = *changes.group;
  if (changes.static_ip) device->static_ip = *changes.static_ip;
  if (changes.encryption_key) device->encryption_key = *changes.encryption_key;
  if (changes.enabled) device->enabled = *changes.enabled;
  check_device_fields(*device);
  check_address_free(device->static_ip, mac);
  const auto rev = next_revision();
  db_.prepare(
         "UPDATE devices SET model_id = (SELECT id FROM models WHERE name = ?1), serial = ?2, "
         "hw_version = ?3, sw_version = ?4, label = ?5, group_name = ?6, static_ip = ?7, "
         "encryption_key = ?8, enabled = ?9, revision = ?10 WHERE mac = ?11")
      .bind_all(device->model, device->serial, device->hw_version, device->sw_version, device->label,
                device->group, device->static_ip, device->encryption_key, device->enabled, rev,
                mac.colon_lower())
      .run();
  tx.commit();
}

std::vector<device_record> inventory::list_devices(const device_filter& filter) {
  std::string sql = std::string("SELECT ") + device_columns +
                    " FROM devices d JOIN models m ON m.id = d.model_id WHERE 1";
  if (filter.model) sql += " AND m.name = ?1";
  if (filter.group) sql += " AND d.group_name = ?2";
  sql += " ORDER BY d.mac";
  auto stmt = db_.prepare(sql);
  if (filter.model) stmt.bind(1, *filter.model);
  if (filter.group) stmt.bind(2, *filter.group);
  std::vector<device_record> devices;
  while (stmt.step()) devices.push_back(read_device_row(stmt));
  return devices;
}

void inventory::remove_device(const profile::mac_address& mac) {
  transaction tx(db_);
  if (!read_device(mac)) throw store_error("unknown device " + mac.colon_lower());
  for (const char* table : {"params", "variables", "scope_revisions"})
    db_.prepare(std::string("DELETE FROM ") + table + " WHERE scope = 'device' AND target = ?1")
        .bind_all(mac.colon_lower())
        .run();
  db_.prepare("DELETE FROM devices WHERE mac = ?1").bind_all(mac.colon_lower()).run();
  next_revision();
  tx.commit();
}

// ---- params and variables -------------------------------------------------

void inventory::set_scoped(const char* table, const char* column, const scope& where, std::string_view name,
                           std::string_view value) {
  if (!is_valid_value(value)) throw store_error("a value is one line without CR, LF or NUL (at most 4096 bytes)");
  transaction tx(db_);
  const auto target = resolve(where);
  const auto rev = next_revision();
  db_.prepare(std::string("INSERT INTO ") + table + " (scope, target, " + column +
              ", value) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, target, " + column +
              ") DO UPDATE SET value = excluded.value")
      .bind_all(to_string(target.kind), target.target, name, value)
      .run();
  touch(target, rev);
  tx.commit();
}

bool inventory::unset_scoped(const char* table, const char* column, const scope& where, std::string_view name) {
  transaction tx(db_);
  const auto target = resolve(where);
  db_.prepare(std::string("DELETE FROM ") + table + " WHERE scope = ?1 AND target = ?2 AND " + column + " = ?3")
      .bind_all(to_string(target.kind), target.target, name)
      .run();
  if (db_.changes() == 0) return false;  // the transaction rolls back: nothing changed
  touch(target, next_revision());
  tx.commit();
  return true;
}

std::vector<scoped_value> inventory::list_scoped(const char* table, const char* column,
                                                 const std::optional<scope>& where) {
  std::string sql = std::string("SELECT scope, target, ") + column + ", value FROM " + table;
  std::optional<scope> target;
  if (where) {
    target = resolve(*where);
    sql += " WHERE scope = ?1 AND target = ?2";
  }
  // Least specific first, the order in which they are laid over the template.
  sql +=
      " ORDER BY CASE scope WHEN 'global' THEN 0 WHEN 'group' THEN 1 WHEN 'model' THEN 2 ELSE 3 END, "
      "target, " + std::string(column);
  auto stmt = db_.prepare(sql);
  if (target) stmt.bind_all(to_string(target->kind), target->target);
  std::vector<scoped_value> values;
  while (stmt.step())
    values.push_back({{parse_scope_kind(stmt.text(0)), stmt.text(1)}, stmt.text(2), stmt.text(3)});
  return values;
}

void inventory::set_param(const scope& where, std::string_view key, std::string_view value) {
  if (!profile::is_valid_key(key)) throw store_error("invalid param key '" + std::string(key) + "'");
  set_scoped("params", "key", where, key, value);
}

bool inventory::unset_param(const scope& where, std::string_view key) {
  return unset_scoped("params", "key", where, key);
}

std::vector<scoped_value> inventory::list_params(const std::optional<scope>& where) {
  return list_scoped("params", "key", where);
}

void inventory::set_variable(const scope& where, std::string_view name, std::string_view value) {
  if (profile::is_builtin_macro(name))
    throw store_error(std::string(name) + " is a built-in macro; a variable cannot replace it");
  if (!is_valid_variable_name(name)) throw store_error("invalid variable name '" + std::string(name) + "'");
  set_scoped("variables", "name", where, name, value);
}

bool inventory::unset_variable(const scope& where, std::string_view name) {
  return unset_scoped("variables", "name", where, name);
}

std::vector<scoped_value> inventory::list_variables(const std::optional<scope>& where) {
  return list_scoped("variables", "name", where);
}

void inventory::bump(const std::vector<scope>& scopes) {
  transaction tx(db_);
  std::vector<scope> targets;
  for (const auto& s : scopes) targets.push_back(resolve(s));
  const auto rev = next_revision();
  for (const auto& s : targets) touch(s, rev);
  tx.commit();
}

// ---- rendering inputs -----------------------------------------------------

std::uint64_t inventory::dbase_version(const device_record& device) {
  // The newest revision among everything that shapes this device's file.
  auto stmt = db_.prepare(
      "SELECT max(d.revision, m.revision, "
      "  coalesce((SELECT max(revision) FROM scope_revisions WHERE "
      "    (scope = 'global') OR (scope = 'group' AND target = d.group_name AND d.group_name <> '') OR "
      "    (scope = 'model' AND target = m.name) OR (scope = 'device' AND target = d.mac)), 0)) "
      "FROM devices d JOIN models m ON m.id = d.model_id WHERE d.mac = ?1");
  stmt.bind_all(device.mac.colon_lower());
  if (!stmt.step()) throw store_error("unknown device " + device.mac.colon_lower());
  return version_floor() + static_cast<std::uint64_t>(stmt.integer(0));
}

std::optional<profile_source> inventory::load_profile_source(const profile::mac_address& mac) {
  // One read transaction, so the file is made from one consistent snapshot
  // even while the CLI changes the inventory. Nothing is written: ending it
  // by rollback is the same as a commit.
  transaction snapshot(db_, transaction::kind::read);

  auto device = read_device(mac);
  if (!device) return std::nullopt;
  profile_source source;
  source.model = *find_model(device->model);
  source.dbase_version = dbase_version(*device);

  std::vector<scope> scopes{scope::global()};
  if (!device->group.empty()) scopes.push_back(scope::group(device->group));
  scopes.push_back(scope::model(source.model.name));
  scopes.push_back(scope::device(mac));
  for (const auto& s : scopes) {
    profile::param_layer layer{s.describe(), {}};
    for (auto& p : list_scoped("params", "key", s)) layer.params.push_back({p.name, p.value});
    source.param_layers.push_back(std::move(layer));
  }
  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it)
    for (auto& v : list_scoped("variables", "name", *it)) source.variables.push_back(std::move(v));
  source.device = std::move(*device);
  return source;
}

}  // namespace provbox::store
