// provbox firmware add|list|activate|rm
#include <filesystem>
#include <fstream>

#include "server/cli/context.hpp"
#include "server/cli/output.hpp"
#include "store/firmware.hpp"

namespace provbox::cli {
namespace {

constexpr std::string_view name_rule = "1-128 of letters, digits, '_', '.', '-'";

void check_model_argument(const arguments& args, const std::string& model) {
  if (!store::is_valid_firmware_model(model))
    args.fail("invalid model name '" + model + "' (letters, digits, '_', '.', '-')");
}

void check_version_argument(const arguments& args, const std::string& version) {
  if (!store::is_valid_firmware_version(version))
    args.fail("invalid version '" + version + "' (" + std::string(name_rule) + ")");
}

// An image to import must be a regular file we can open; anything else is a
// mistake on the command line, like every other unreadable FILE argument.
void check_image_argument(const arguments& args, const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) args.fail("cannot read " + path + " (no such file)");
  if (!std::filesystem::is_regular_file(status)) args.fail("cannot read " + path + " (not a regular file)");
  if (!std::ifstream(path, std::ios::binary)) args.fail("cannot read " + path);
}

std::string human_size(std::uint64_t bytes) {
  if (bytes < 1024 * 1024) return std::to_string(bytes);
  // One decimal is enough to tell images apart at a glance; JSON has bytes.
  const auto tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

void write_firmware_json(json_writer& json, const store::firmware_record& f) {
  json.begin_object()
      .field("model", f.model)
      .field("version", f.version)
      .field("file_name", f.file_name)
      .field("size", f.size)
      .field("sha256", f.sha256)
      .field("added_at", f.added_at)
      .field("current", f.current)
      .field("path", store::firmware_url_path(f.model, f.version, f.file_name))
      .end_object();
}

int firmware_add(context& ctx, const std::vector<std::string>& raw) {
  arguments args("firmware add", raw, {{"model"}, {"version"}, {"name"}, {"no-activate", false}}, 1, 1);
  const auto& file = args.positional(0);
  const auto model = args.value("model");
  const auto version = args.value("version");
  if (!model) args.fail("--model is required");
  if (!version) args.fail("--version is required");
  check_model_argument(args, *model);
  check_version_argument(args, *version);
  const auto name = args.value("name").value_or(std::filesystem::path(file).filename().string());
  if (!store::is_valid_firmware_file_name(name))
    args.fail("invalid file name '" + name + "' (" + std::string(name_rule) + "); choose one with --name");
  check_image_argument(args, file);

  auto& db = ctx.inventory().db();
  // Refuse the obvious mistakes before copying what may be a large image;
  // import_firmware checks again under the write lock.
  const auto known = ctx.inventory().find_model(*model);
  if (!known) throw operation_error("unknown model '" + *model + "'");
  if (store::find_firmware(db, known->name, *version))
    throw operation_error("firmware " + known->name + " " + *version + " already exists");

  store::firmware_record image;
  image.model = known->name;
  image.version = *version;
  image.file_name = name;
  const auto added = store::import_firmware(db, ctx.data_dir, file, image, !args.flag("no-activate"));
  const auto path = store::firmware_url_path(added.model, added.version, added.file_name);
  if (ctx.json) {
    json_writer json;
    write_firmware_json(json, added);
    ctx.out << json.str() << '\n';
    return 0;
  }
  ctx.out << "firmware " << added.model << ' ' << added.version << " added"
          << (added.current ? " and made current" : " (not current; `provbox firmware activate` makes it so)")
          << '\n'
          << "sha256:        " << added.sha256 << '\n'
          << "size:          " << added.size << " bytes\n"
          << "stored as:     " << store::firmware_blob_path(ctx.data_dir, added.sha256).string() << '\n'
          << "upgrade path:  " << path << '\n'
          << "Upgrade Rule:  http://SERVER/" << path << "   (or tftp://SERVER/" << path
          << "; devices do not upgrade over HTTPS)\n";
  return 0;
}

int firmware_list(context& ctx, const std::vector<std::string>& raw) {
  arguments args("firmware list", raw, {{"model"}}, 0, 0);
  const auto model = args.value("model");
  if (model) check_model_argument(args, *model);
  const auto images = store::list_firmware(ctx.inventory().db(), model);
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& f : images) write_firmware_json(json, f);
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : images)
    rows.push_back({f.model, f.version, f.file_name, human_size(f.size), f.sha256.substr(0, 12),
                     f.current ? "yes" : "-"});
  print_table(ctx.out, {"MODEL", "VERSION", "FILE", "SIZE", "SHA256", "CURRENT"}, rows);
  return 0;
}

int firmware_activate(context& ctx, const std::vector<std::string>& raw) {
  arguments args("firmware activate", raw, {}, 2, 2);
  check_model_argument(args, args.positional(0));
  check_version_argument(args, args.positional(1));
  auto& db = ctx.inventory().db();
  store::set_current_firmware(db, args.positional(0), args.positional(1));
  const auto current = *store::current_firmware(db, args.positional(0));
  ctx.out << "firmware " << current.model << ' ' << current.version << " is current; Upgrade Rule path "
          << store::firmware_url_path(current.model, current.version, current.file_name) << '\n';
  return 0;
}

int firmware_rm(context& ctx, const std::vector<std::string>& raw) {
  arguments args("firmware rm", raw, {{"force", false}}, 2, 2);
  check_model_argument(args, args.positional(0));
  check_version_argument(args, args.positional(1));
  const auto removed = store::delete_firmware(ctx.inventory().db(), ctx.data_dir, args.positional(0),
                                              args.positional(1), args.flag("force"));
  ctx.out << "firmware " << removed.record.model << ' ' << removed.record.version << " removed"
          << (removed.blob_removed ? "" : " (its image is kept: another version uses the same bytes)") << '\n';
  if (removed.record.current)
    ctx.out << "model " << removed.record.model
            << " now has no current firmware; its devices keep what they run\n";
  return 0;
}

}  // namespace

std::vector<command> firmware_commands() {
  return {
      {"firmware add", "firmware add FILE --model M --version V [--name FILE_NAME] [--no-activate]", firmware_add},
      {"firmware list", "firmware list [--model M]", firmware_list},
      {"firmware activate", "firmware activate MODEL VERSION", firmware_activate},
      {"firmware rm", "firmware rm MODEL VERSION [--force]", firmware_rm},
  };
}

}  // namespace provbox::cli
