#pragma once
// The inventory: models, devices, params and variables at four scopes, and
// the revision counter that DBID_DBASE_VERSION is made from. Every change is
// one transaction; a failed change throws store_error and leaves nothing
// behind.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/profile/mac_address.hpp"
#include "server/profile/render.hpp"
#include "store/database.hpp"

namespace provbox::store {

// Params and variables apply at one of four scopes, least specific first.
enum class scope_kind { global, group, model, device };
std::string_view to_string(scope_kind kind);

struct scope {
  scope_kind kind = scope_kind::global;
  std::string target;  // "" (global), a group, a model name, or a MAC (00:21:f2:01:1b:19)
  static scope global() { return {}; }
  static scope group(std::string name) { return {scope_kind::group, std::move(name)}; }
  static scope model(std::string name) { return {scope_kind::model, std::move(name)}; }
  static scope device(const profile::mac_address& mac) { return {scope_kind::device, mac.colon_lower()}; }
  std::string describe() const;  // "global", "group office", "model IP542N", "device 00:21:..."
};

struct model_record {
  std::string name;         // IP542N
  std::string config_file;  // IP542N.conf: what option 66 devices ask for
  std::vector<std::string> patterns;  // fv$(MAU).conf: per-device file names
  std::string template_text;          // KEY=VALUE lines
  std::uint64_t revision = 0;
};

struct model_changes {
  std::optional<std::string> config_file;
  std::optional<std::vector<std::string>> patterns;
  std::optional<std::string> template_text;
};

struct device_record {
  profile::mac_address mac;
  std::string model;
  std::string serial;
  std::string hw_version;
  std::string sw_version;
  std::string label;
  std::string group;
  std::string static_ip;
  std::string encryption_key;
  bool enabled = true;
  std::uint64_t revision = 0;
  std::string created_at;
};

struct device_changes {
  std::optional<std::string> model;
  std::optional<std::string> serial;
  std::optional<std::string> hw_version;
  std::optional<std::string> sw_version;
  std::optional<std::string> label;
  std::optional<std::string> group;
  std::optional<std::string> static_ip;
  std::optional<std::string> encryption_key;
  std::optional<bool> enabled;
};

struct device_filter {
  std::optional<std::string> model;
  std::optional<std::string> group;
};

// A param (KEY=VALUE) or a variable (NAME=VALUE) with where it applies.
struct scoped_value {
  scope where;
  std::string name;
  std::string value;
};

// Everything that shapes one device's file, read in one snapshot.
struct profile_source {
  device_record device;
  model_record model;
  std::vector<profile::param_layer> param_layers;  // global, group, model, device
  std::vector<scoped_value> variables;             // most specific first
  std::uint64_t dbase_version = 0;
};

class inventory {
public:
  // Opens or creates the database and brings its schema up to date.
  explicit inventory(const std::string& path);

  database& db() { return db_; }

  // The revision counter: it moves on every change, never back.
  std::uint64_t revision();
  std::uint64_t version_floor();
  // Raising the floor raises every device's version; lowering it would make
  // versions repeat, so it is refused.
  void raise_version_floor(std::uint64_t floor);
  // When `served` (the highest DBID_DBASE_VERSION ever served) is above
  // every version the inventory can give now, the database is behind what
  // devices have seen (it lost commits, or an older copy was put back by
  // hand): the floor is raised to served + 1, so every device's next version
  // is above anything it applied, and the new floor returned. Devices apply
  // any file whose version differs, so a version that fell would make them
  // apply older settings.
  std::optional<std::uint64_t> keep_versions_above(std::uint64_t served);

  void add_model(const model_record& model);
  void update_model(std::string_view name, const model_changes& changes);
  std::optional<model_record> find_model(std::string_view name);
  std::vector<model_record> list_models();
  void remove_model(std::string_view name);

  void add_device(const device_record& device);
  // All or none: one bad row leaves the inventory unchanged.
  void add_devices(const std::vector<device_record>& devices);
  void update_device(const profile::mac_address& mac, const device_changes& changes);
  std::optional<device_record> find_device(const profile::mac_address& mac);
  // The enabled or disabled device whose static address this is, if any.
  std::optional<device_record> find_device_by_address(const std::string& ip);
  std::vector<device_record> list_devices(const device_filter& filter = {});
  void remove_device(const profile::mac_address& mac);

  void set_param(const scope& where, std::string_view key, std::string_view value);
  // False when there was no such param (nothing changes then).
  bool unset_param(const scope& where, std::string_view key);
  std::vector<scoped_value> list_params(const std::optional<scope>& where = std::nullopt);

  void set_variable(const scope& where, std::string_view name, std::string_view value);
  bool unset_variable(const scope& where, std::string_view name);
  std::vector<scoped_value> list_variables(const std::optional<scope>& where = std::nullopt);

  // Raises the version of every device in these scopes without other change.
  void bump(const std::vector<scope>& scopes);

  std::uint64_t dbase_version(const device_record& device);
  std::optional<profile_source> load_profile_source(const profile::mac_address& mac);

private:
  void add_device_in_transaction(const device_record& device);
  void check_address_free(const std::string& ip, const profile::mac_address& mac);
  std::uint64_t next_revision();
  void touch(const scope& where, std::uint64_t revision);
  scope resolve(const scope& where);  // canonical model name; checks it exists
  std::optional<device_record> read_device(const profile::mac_address& mac);
  void set_scoped(const char* table, const char* column, const scope& where, std::string_view name,
                  std::string_view value);
  bool unset_scoped(const char* table, const char* column, const scope& where, std::string_view name);
  std::vector<scoped_value> list_scoped(const char* table, const char* column,
                                        const std::optional<scope>& where);

  database db_;
};

}  // namespace provbox::store
