// provbox model add|set|show|list|rm
#include "server/cli/context.hpp"
#include "server/cli/output.hpp"
#include "server/profile/profile_template.hpp"
#include "store/validation.hpp"

namespace provbox::cli {
namespace {

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

void check_patterns(const arguments& args, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    std::string why;
    if (!store::is_valid_file_pattern(p, &why)) args.fail("invalid --pattern '" + p + "': " + why);
  }
}

// Reads and checks a template file, naming the file and line of the first
// mistake.
std::string template_argument(const arguments& args, const std::string& path) {
  auto text = read_file_argument(args, path);
  const auto parsed = profile::parse_template(text);
  if (!parsed.ok()) {
    const auto& e = parsed.errors.front();
    args.fail(path + ":" + std::to_string(e.line) + ": " + e.message);
  }
  return text;
}

const std::vector<option_spec> model_options = {
    {"config-file"}, {"pattern", true, true}, {"template"}};

int model_add(context& ctx, const std::vector<std::string>& raw) {
  arguments args("model add", raw, model_options, 1, 1);
  store::model_record model;
  model.name = args.positional(0);
  if (!store::is_valid_model_name(model.name))
    args.fail("invalid model name '" + model.name + "' (letters, digits, '_', '.', '-')");
  model.config_file = args.value("config-file").value_or(model.name + ".conf");
  if (!store::is_valid_config_file_name(model.config_file))
    args.fail("invalid --config-file '" + model.config_file + "' (a plain file name)");
  model.patterns = args.values("pattern");
  check_patterns(args, model.patterns);
  if (auto path = args.value("template")) model.template_text = template_argument(args, *path);
  ctx.inventory().add_model(model);
  ctx.out << "model " << model.name << " added\n";
  return 0;
}

int model_set(context& ctx, const std::vector<std::string>& raw) {
  arguments args("model set", raw, model_options, 1, 1);
  store::model_changes changes;
  if (auto f = args.value("config-file")) {
    if (!store::is_valid_config_file_name(*f)) args.fail("invalid --config-file '" + *f + "'");
    changes.config_file = *f;
  }
  if (args.flag("pattern")) {
    changes.patterns = args.values("pattern");
    // `--pattern ""` clears the list.
    std::erase(*changes.patterns, "");
    check_patterns(args, *changes.patterns);
  }
  if (auto path = args.value("template")) changes.template_text = template_argument(args, *path);
  if (!changes.config_file && !changes.patterns && !changes.template_text)
    args.fail("nothing to change (give --config-file, --pattern or --template)");
  ctx.inventory().update_model(args.positional(0), changes);
  ctx.out << "model " << args.positional(0) << " updated\n";
  return 0;
}

void write_model_json(json_writer& json, const store::model_record& m, bool with_template) {
  json.begin_object().field("name", m.name).field("config_file", m.config_file).key("patterns").begin_array();
  for (const auto& p : m.patterns) json.value(p);
  json.end_array().field("revision", m.revision);
  if (with_template) json.field("template", m.template_text);
  json.end_object();
}

int model_show(context& ctx, const std::vector<std::string>& raw) {
  arguments args("model show", raw, {}, 1, 1);
  auto model = ctx.inventory().find_model(args.positional(0));
  if (!model) throw operation_error("unknown model '" + args.positional(0) + "'");
  if (ctx.json) {
    json_writer json;
    write_model_json(json, *model, true);
    ctx.out << json.str() << '\n';
    return 0;
  }
  const auto devices = ctx.inventory().list_devices({model->name, std::nullopt});
  ctx.out << "model:        " << model->name << '\n'
          << "config file:  " << model->config_file << "   (what option 66 devices ask for)\n"
          << "patterns:     " << (model->patterns.empty() ? "(none)" : joined(model->patterns, "  ")) << '\n'
          << "devices:      " << devices.size() << '\n'
          << "template:\n";
  for (const auto& entry : profile::parse_template(model->template_text).entries)
    ctx.out << "  " << entry.key << '=' << entry.value << '\n';
  return 0;
}

int model_list(context& ctx, const std::vector<std::string>& raw) {
  arguments args("model list", raw, {}, 0, 0);
  auto& inv = ctx.inventory();
  const auto models = inv.list_models();
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& m : models) write_model_json(json, m, false);
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : models) {
    const auto lines = profile::parse_template(m.template_text).entries.size();
    rows.push_back({m.name, m.config_file, joined(m.patterns, " "),
                    std::to_string(inv.list_devices({m.name, std::nullopt}).size()), std::to_string(lines)});
  }
  print_table(ctx.out, {"MODEL", "CONFIG FILE", "PATTERNS", "DEVICES", "TEMPLATE LINES"}, rows);
  return 0;
}

int model_rm(context& ctx, const std::vector<std::string>& raw) {
  arguments args("model rm", raw, {}, 1, 1);
  ctx.inventory().remove_model(args.positional(0));
  ctx.out << "model " << args.positional(0) << " removed\n";
  return 0;
}

}  // namespace

std::vector<command> model_commands() {
  return {
      {"model add", "model add NAME [--config-file F] [--pattern P]... [--template FILE]", model_add},
      {"model set", "model set NAME [--config-file F] [--pattern P]... [--template FILE]", model_set},
      {"model show", "model show NAME", model_show},
      {"model list", "model list", model_list},
      {"model rm", "model rm NAME", model_rm},
  };
}

}  // namespace provbox::cli
