#pragma once
// What the inventory accepts, in one place: the CLI checks arguments with
// these before it touches the database, and the inventory checks again so no
// other caller can store what a device could not use.
#include <string_view>

namespace provbox::store {

// IP542N, G502N, SPA-112: letters, digits, '_', '.', '-'; 1..64 characters.
bool is_valid_model_name(std::string_view name);
// Groups use the same alphabet as model names.
bool is_valid_group_name(std::string_view name);
// A plain file name a device asks for (IP542N.conf): no path separators, no
// "..", no control characters; 1..128 characters.
bool is_valid_config_file_name(std::string_view name);
// A per-device file name pattern such as `fv$(MAU).conf` or
// `prov/$PN/$MAU.conf`: a relative path without "..", naming the device by
// exactly one whole-MAC macro ($MA, $MAU or $MAC, no substring).
bool is_valid_file_pattern(std::string_view pattern, std::string* why = nullptr);
// Dotted-quad IPv4 address.
bool is_valid_ipv4(std::string_view text);
// A `[--key K]` passphrase: 1..128 printable characters without spaces or
// brackets, since it is typed inside the Profile Rule's brackets.
bool is_valid_encryption_key(std::string_view key);
// A variable name usable as `$NAME`: [A-Za-z0-9_]+, 1..64, not a built-in.
bool is_valid_variable_name(std::string_view name);
// A param or variable value: one line (no CR, LF or NUL); tabs allowed.
bool is_valid_value(std::string_view value);
// Free text such as a label, serial or version: one line, at most 256 bytes.
bool is_valid_text_field(std::string_view text);

}  // namespace provbox::store
