#pragma once
// Macro expansion as the devices do it (seed section 3, Cisco SPA provisioning guide):
//   $NAME and $(NAME)      the value of NAME
//   $(NAME:p) $(NAME:p:q)  the substring at offset p, of length q (or to the end)
//   $$                     a single '$'
// Unknown names stay exactly as written; substituted text is never re-scanned.
// The same tokenizer serves expansion and pattern matching (a URL pattern
// such as `fv$(MAU).conf` inverted to find the device a path names).
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace provbox::profile {

// The names the devices themselves know. One list, used by the renderer,
// the pattern matcher and the CLI's help.
inline constexpr std::string_view builtin_macro_names[] = {
    "MA", "MAU", "MAC", "PN", "SN", "IP", "SWVER", "HWVER"};

bool is_builtin_macro(std::string_view name);

// A macro reference in a text, e.g. `$(MAU:8:2)`.
struct macro_reference {
  std::string name;                  // MAU
  std::size_t offset = 0;            // p (0 when absent)
  std::optional<std::size_t> length; // q (to end of string when absent)
  std::string written;               // the exact source text, `$(MAU:8:2)`
  friend bool operator==(const macro_reference&, const macro_reference&) = default;
};

// A run of text to copy as is. `$$` has already become `$` here, and
// anything that is not a well-formed reference (`$` alone, `$(` unterminated,
// `$(A:x)`) is literal too.
struct macro_literal {
  std::string text;
  friend bool operator==(const macro_literal&, const macro_literal&) = default;
};

using macro_token = std::variant<macro_literal, macro_reference>;

// Splits a text into literals and references. Never fails: every input has a
// tokenization. Adjacent literals are merged.
std::vector<macro_token> tokenize_macros(std::string_view text);

// Names and values available for expansion. Lookup is case-sensitive.
class macro_table {
public:
  // Adds or replaces a name.
  void set(std::string name, std::string value);
  // Adds a name only if it is not already there (how variables are laid
  // under the built-ins, which they never override).
  bool set_if_absent(std::string name, std::string value);
  const std::string* find(std::string_view name) const;

private:
  std::map<std::string, std::string, std::less<>> values_;
};

// Applies one reference to a value: the substring rule of `$(NAME:p:q)`.
// Offsets past the end give an empty string; a length past the end stops at
// the end.
std::string substring_of(std::string_view value, const macro_reference& ref);

// Expands every known reference; unknown ones are copied as written.
std::string expand_macros(std::string_view text, const macro_table& names);

}  // namespace provbox::profile
