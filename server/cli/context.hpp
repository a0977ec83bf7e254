#pragma once
// What every CLI command gets: where the inventory is, how to print, and the
// helpers that turn arguments into inventory values (or usage errors).
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "server/cli/arguments.hpp"
#include "server/profile/mac_address.hpp"
#include "store/inventory.hpp"

namespace provbox::cli {

// A failed operation (unknown device, duplicate, unreadable file): one line,
// exit status 1, nothing changed.
class operation_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct context {
  context(std::string db, std::ostream& o, std::ostream& e) : db_path(std::move(db)), out(o), err(e) {}

  std::string db_path;
  std::string data_dir;  // CA, certificates, firmware; by default the database's folder
  bool db_given = false;        // --db or PROVBOX_DB was set
  bool data_dir_given = false;  // --data-dir or PROVBOX_DATA_DIR was set
  bool json = false;
  std::ostream& out;
  std::ostream& err;

  // Opens the existing inventory; a missing database is an operation error
  // (so a mistyped --db never creates a stray empty inventory).
  store::inventory& inventory();
  // Opens or creates it, making its folder if needed (`provbox init`).
  store::inventory& create_inventory();

private:
  std::unique_ptr<store::inventory> inventory_;
};

struct command {
  std::string_view name;   // "device add"
  std::string_view usage;  // one line of help
  int (*run)(context&, const std::vector<std::string>& args);
};

std::vector<command> model_commands();
std::vector<command> device_commands();
std::vector<command> value_commands();  // param, var, bump
std::vector<command> file_commands();   // render, encrypt, decrypt
std::vector<command> init_commands();   // init [--demo]
std::vector<command> cert_commands();   // cert issue|revoke|list
std::vector<command> firmware_commands();  // firmware add|list|rm
std::vector<command> lease_commands();     // lease list|release (DHCP)
std::vector<command> serve_commands();  // serve
std::vector<command> fleet_commands();  // status, events, backup, restore

// Argument helpers shared by the commands; each throws usage_error.
profile::mac_address parse_mac_argument(const arguments& args, const std::string& text);
// The scope named by --device/--model/--group (at most one); global if none.
store::scope scope_argument(const arguments& args);
// A file named on the command line; one that cannot be read is a wrong
// argument (exit 2), like a mistyped option.
std::string read_file_argument(const arguments& args, const std::string& path);

}  // namespace provbox::cli
