#pragma once
// Command-line arguments of one CLI command, checked against what that
// command accepts. Every mistake is a usage_error: one line, exit status 2.
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace provbox::cli {

class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct option_spec {
  std::string_view name;  // without the leading "--"
  bool takes_value = true;
  bool repeatable = false;
};

class arguments {
public:
  // `command` names the command in error messages ("device add").
  arguments(std::string command, const std::vector<std::string>& args, const std::vector<option_spec>& options,
            std::size_t min_positional, std::size_t max_positional);

  const std::vector<std::string>& positional() const { return positional_; }
  const std::string& positional(std::size_t i) const { return positional_.at(i); }
  bool flag(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  std::optional<std::string> value(std::string_view name) const;
  std::vector<std::string> values(std::string_view name) const;
  const std::string& command() const { return command_; }

  // Throws usage_error prefixed with the command name.
  [[noreturn]] void fail(const std::string& message) const;

private:
  std::string command_;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

}  // namespace provbox::cli
