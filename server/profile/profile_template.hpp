#pragma once
// A model's template: the device's configuration file as KEY=VALUE lines.
// Order is kept (the devices read files top to bottom and operators diff
// them); `#` comment lines and blank lines are dropped; a value is every byte
// after the first '=' up to the line end (tabs separating the values of
// lines 1..4 are kept; a trailing CR is removed).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace provbox::profile {

struct profile_entry {
  std::string key;
  std::string value;
  friend bool operator==(const profile_entry&, const profile_entry&) = default;
};

struct template_error {
  std::size_t line = 0;  // 1-based
  std::string message;   // e.g. "missing '=' after key"
};

struct template_parse_result {
  std::vector<profile_entry> entries;
  std::vector<template_error> errors;  // empty when the text is valid
  bool ok() const { return errors.empty(); }
};

// A key is 1..128 characters of [A-Za-z0-9_.-]; surrounding spaces and tabs
// around the key are ignored. A key given twice is an error naming both lines.
bool is_valid_key(std::string_view key);

template_parse_result parse_template(std::string_view text);

// "line 3: invalid key 'A B'", the form operators see in logs and the CLI.
std::string to_string(const template_error& error);

}  // namespace provbox::profile
