// provbox param set|unset|list, var set|unset|list, bump
#include <charconv>
#include <optional>

#include "server/cli/context.hpp"
#include "server/cli/output.hpp"
#include "server/profile/macro.hpp"
#include "server/profile/profile_template.hpp"
#include "store/validation.hpp"

namespace provbox::cli {
namespace {

const std::vector<option_spec> scope_options = {{"device"}, {"model"}, {"group"}};

// Params and variables differ only in what a name may be and which store
// calls they use; one set of commands serves both.
struct value_kind {
  std::string_view noun;  // "param" / "var"
  bool (*name_ok)(std::string_view);
  std::string_view name_rule;
  void (store::inventory::*set)(const store::scope&, std::string_view, std::string_view);
  bool (store::inventory::*unset)(const store::scope&, std::string_view);
  std::vector<store::scoped_value> (store::inventory::*list)(const std::optional<store::scope>&);
};

bool variable_name_ok(std::string_view name) { return store::is_valid_variable_name(name); }

const value_kind param_kind{"param", profile::is_valid_key, "1-128 characters of A-Z a-z 0-9 _ . -",
                            &store::inventory::set_param, &store::inventory::unset_param,
                            &store::inventory::list_params};
const value_kind var_kind{"var", variable_name_ok,
                          "1-64 characters of A-Z a-z 0-9 _, not a built-in (MA MAU MAC PN SN IP SWVER HWVER)",
                          &store::inventory::set_variable, &store::inventory::unset_variable,
                          &store::inventory::list_variables};

void check_name(const arguments& args, const value_kind& kind, const std::string& name) {
  if (!kind.name_ok(name)) args.fail("invalid name '" + name + "' (" + std::string(kind.name_rule) + ")");
}

int set_value(const value_kind& kind, context& ctx, const std::vector<std::string>& raw) {
  arguments args(std::string(kind.noun) + " set", raw, scope_options, 2, 2);
  check_name(args, kind, args.positional(0));
  if (!store::is_valid_value(args.positional(1)))
    args.fail("a value is one line without CR, LF or NUL (at most 4096 bytes); separate lines 1-4 with tabs");
  const auto where = scope_argument(args);
  if (kind.noun == "param" && args.positional(0) == profile::dbase_version_key)
    ctx.err << "provbox: warning: provbox computes " << profile::dbase_version_key
            << " itself and ignores this param; use 'provbox bump' to raise it\n";
  (ctx.inventory().*kind.set)(where, args.positional(0), args.positional(1));
  ctx.out << kind.noun << ' ' << args.positional(0) << " set at " << where.describe() << '\n';
  return 0;
}

int unset_value(const value_kind& kind, context& ctx, const std::vector<std::string>& raw) {
  arguments args(std::string(kind.noun) + " unset", raw, scope_options, 1, 1);
  check_name(args, kind, args.positional(0));
  const auto where = scope_argument(args);
  if (!(ctx.inventory().*kind.unset)(where, args.positional(0)))
    throw operation_error(std::string(kind.noun) + " " + args.positional(0) + " is not set at " + where.describe());
  ctx.out << kind.noun << ' ' << args.positional(0) << " unset at " << where.describe() << '\n';
  return 0;
}

int list_values(const value_kind& kind, context& ctx, const std::vector<std::string>& raw) {
  arguments args(std::string(kind.noun) + " list", raw, scope_options, 0, 0);
  std::optional<store::scope> where;
  if (args.flag("device") || args.flag("model") || args.flag("group")) where = scope_argument(args);
  const auto values = (ctx.inventory().*kind.list)(where);
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& v : values)
      json.begin_object()
          .field("scope", store::to_string(v.where.kind))
          .field("target", v.where.target)
          .field("name", v.name)
          .field("value", v.value)
          .end_object();
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : values) {
    // Show tabs visibly: they separate the values of lines 1-4.
    std::string shown;
    for (char c : v.value) shown += (c == '\t') ? std::string("\\t") : std::string(1, c);
    rows.push_back({v.where.describe(), v.name, shown});
  }
  print_table(ctx.out, {"SCOPE", "NAME", "VALUE"}, rows);
  return 0;
}

int param_set(context& c, const std::vector<std::string>& a) { return set_value(param_kind, c, a); }
int param_unset(context& c, const std::vector<std::string>& a) { return unset_value(param_kind, c, a); }
int param_list(context& c, const std::vector<std::string>& a) { return list_values(param_kind, c, a); }
int var_set(context& c, const std::vector<std::string>& a) { return set_value(var_kind, c, a); }
int var_unset(context& c, const std::vector<std::string>& a) { return unset_value(var_kind, c, a); }
int var_list(context& c, const std::vector<std::string>& a) { return list_values(var_kind, c, a); }

int bump(context& ctx, const std::vector<std::string>& raw) {
  arguments args("bump", raw, {{"model"}, {"group"}, {"all", false}, {"floor"}}, 0, 100000);
  std::vector<store::scope> scopes;
  for (const auto& mac : args.positional()) scopes.push_back(store::scope::device(parse_mac_argument(args, mac)));
  if (auto m = args.value("model")) scopes.push_back(store::scope::model(*m));
  if (auto g = args.value("group")) {
    if (!store::is_valid_group_name(*g)) args.fail("invalid group name '" + *g + "' (letters, digits, '_', '.', '-')");
    scopes.push_back(store::scope::group(*g));
  }
  if (args.flag("all")) scopes.push_back(store::scope::global());
  std::optional<std::uint64_t> floor;
  if (auto text = args.value("floor")) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size()) args.fail("--floor takes a number");
    floor = value;
  }
  if (scopes.empty() && !floor) args.fail("say what to bump: MAC..., --model M, --group G or --all");
  // The floor and the bump are one change: if the bump fails (an unknown
  // model or device), the floor stays as it was.
  auto& inv = ctx.inventory();
  store::transaction tx(inv.db());
  if (floor) inv.raise_version_floor(*floor);
  if (!scopes.empty()) inv.bump(scopes);
  tx.commit();
  if (floor) ctx.out << "version floor is now " << *floor << '\n';
  if (!scopes.empty()) ctx.out << "bumped; revision is now " << inv.revision() << '\n';
  return 0;
}

}  // namespace

std::vector<command> value_commands() {
  return {
      {"param set", "param set KEY VALUE [--device MAC|--model M|--group G]", param_set},
      {"param unset", "param unset KEY [--device MAC|--model M|--group G]", param_unset},
      {"param list", "param list [--device MAC|--model M|--group G]", param_list},
      {"var set", "var set NAME VALUE [--device MAC|--model M|--group G]", var_set},
      {"var unset", "var unset NAME [--device MAC|--model M|--group G]", var_unset},
      {"var list", "var list [--device MAC|--model M|--group G]", var_list},
      {"bump", "bump [MAC...] [--model M] [--group G] [--all] [--floor N]", bump},
  };
}

}  // namespace provbox::cli
