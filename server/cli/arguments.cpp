#include "server/cli/arguments.hpp"

#include <algorithm>

namespace provbox::cli {

arguments::arguments(std::string command, const std::vector<std::string>& args,
                     const std::vector<option_spec>& options, std::size_t min_positional,
                     std::size_t max_positional)
    : command_(std::move(command)) {
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg.size() < 3 || !arg.starts_with("--")) {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto spec = std::find_if(options.begin(), options.end(), [&](const option_spec& o) { return o.name == name; });
    if (spec == options.end()) fail("unknown option --" + name);
    if (!spec->repeatable && values_.count(name)) fail("--" + name + " given twice");
    if (!spec->takes_value) {
      if (inline_value) fail("--" + name + " takes no value");
      values_[name].push_back("");
      continue;
    }
    if (inline_value) {
      values_[name].push_back(*inline_value);
    } else {
      if (i + 1 >= args.size()) fail("--" + name + " needs a value");
      values_[name].push_back(args[++i]);
    }
  }
  if (positional_.size() < min_positional) fail("missing argument (see provbox help)");
  if (positional_.size() > max_positional) fail("unexpected argument '" + positional_[max_positional] + "'");
}

std::optional<std::string> arguments::value(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> arguments::values(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

void arguments::fail(const std::string& message) const { throw usage_error(command_ + ": " + message); }

}  // namespace provbox::cli
