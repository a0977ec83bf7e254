#include "server/cli/cli.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/cli/context.hpp"
#include "store/database.hpp"
#include "store/validation.hpp"

namespace provbox::cli {
namespace {

std::vector<command> all_commands() {
  std::vector<command> all;
  for (auto group : {serve_commands(), init_commands(), model_commands(), device_commands(), value_commands(),
                     file_commands(), cert_commands(), firmware_commands(), fleet_commands(), lease_commands()})
    all.insert(all.end(), group.begin(), group.end());
  return all;
}

void print_help(std::ostream& out) {
  out << "usage: provbox [--db PATH] [--data-dir DIR] [--json] COMMAND [ARGS]\n"
         "The data folder (database, CA, firmware) is --data-dir, else $PROVBOX_DATA_DIR, else provbox-data;\n"
         "the database is --db, else $PROVBOX_DB, else DATA-DIR/provbox.db.\n\ncommands:\n";
  for (const auto& c : all_commands()) out << "  " << c.usage << '\n';
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

store::inventory& context::inventory() {
  if (!inventory_) {
    if (!std::filesystem::exists(db_path))
      throw operation_error("no inventory at " + db_path + " (create one with: provbox --db " + db_path +
                            " init)");
    inventory_ = std::make_unique<store::inventory>(db_path);
  }
  return *inventory_;
}

store::inventory& context::create_inventory() {
  if (!inventory_) {
    const auto folder = std::filesystem::path(db_path).parent_path();
    std::error_code ec;
    if (!folder.empty()) std::filesystem::create_directories(folder, ec);
    if (ec) throw operation_error("cannot create " + folder.string() + ": " + ec.message());
    inventory_ = std::make_unique<store::inventory>(db_path);
  }
  return *inventory_;
}

profile::mac_address parse_mac_argument(const arguments& args, const std::string& text) {
  std::string error;
  auto mac = profile::mac_address::parse_device(text, error);
  if (!mac) args.fail(error);
  return *mac;
}

store::scope scope_argument(const arguments& args) {
  const auto device = args.value("device");
  const auto model = args.value("model");
  const auto group = args.value("group");
  if ((device ? 1 : 0) + (model ? 1 : 0) + (group ? 1 : 0) > 1)
    args.fail("give at most one of --device, --model and --group");
  if (device) return store::scope::device(parse_mac_argument(args, *device));
  if (model) return store::scope::model(*model);
  if (group) {
    if (!store::is_valid_group_name(*group)) args.fail("invalid group name '" + *group + "' (letters, digits, '_', '.', '-')");
    return store::scope::group(*group);
  }
  return store::scope::global();
}

std::string read_file_argument(const arguments& args, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) args.fail("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  context ctx("", out, err);
  std::string db = environment("PROVBOX_DB");
  std::string data_dir = environment("PROVBOX_DATA_DIR");
  std::size_t i = 0;
  try {
    // Global options come before the command.
    for (; i < argv.size() && argv[i].starts_with("--"); ++i) {
      if (argv[i] == "--json") {
        ctx.json = true;
      } else if (argv[i] == "--db" && i + 1 < argv.size()) {
        db = argv[++i];
      } else if (argv[i].starts_with("--db=")) {
        db = argv[i].substr(5);
      } else if (argv[i] == "--data-dir" && i + 1 < argv.size()) {
        data_dir = argv[++i];
      } else if (argv[i].starts_with("--data-dir=")) {
        data_dir = argv[i].substr(11);
      } else if (argv[i] == "--help") {
        print_help(out);
        return 0;
      } else {
        throw usage_error("unknown or incomplete option " + argv[i]);
      }
    }
    ctx.db_given = !db.empty();
    ctx.data_dir_given = !data_dir.empty();
    // The data folder and the database default to each other's place.
    if (data_dir.empty()) {
      const auto parent = std::filesystem::path(db).parent_path();
      data_dir = db.empty() ? "provbox-data" : (parent.empty() ? "." : parent.string());
    }
    ctx.data_dir = data_dir;
    ctx.db_path = db.empty() ? (std::filesystem::path(data_dir) / "provbox.db").string() : db;
    if (i >= argv.size() || argv[i] == "help") {
      print_help(i >= argv.size() ? err : out);
      return i >= argv.size() ? 2 : 0;
    }
    const auto commands = all_commands();
    // Two-word commands ("device add") first, then one-word ones ("bump").
    const command* chosen = nullptr;
    std::size_t used = 0;
    for (const auto& c : commands) {
      const std::string one = argv[i];
      const std::string two = i + 1 < argv.size() ? one + " " + argv[i + 1] : one;
      if (c.name == two && i + 1 < argv.size()) {
        chosen = &c;
        used = 2;
        break;
      }
      if (c.name == one && !chosen) {
        chosen = &c;
        used = 1;
      }
    }
    if (!chosen) throw usage_error("unknown command '" + argv[i] + "' (see provbox help)");
    std::vector<std::string> rest(argv.begin() + static_cast<std::ptrdiff_t>(i + used), argv.end());
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
      out << "usage: provbox " << chosen->usage << '\n';
      return 0;
    }
    // --json is also accepted after the command, where scripts tend to put it.
    if (auto it = std::find(rest.begin(), rest.end(), "--json"); it != rest.end()) {
      ctx.json = true;
      rest.erase(it);
    }
    return chosen->run(ctx, rest);
  } catch (const usage_error& e) {
    err << "provbox: " << e.what() << '\n';
    return 2;
  } catch (const operation_error& e) {
    err << "provbox: " << e.what() << '\n';
    return 1;
  } catch (const store::store_error& e) {
    err << "provbox: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace provbox::cli
