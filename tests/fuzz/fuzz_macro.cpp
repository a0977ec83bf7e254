// Drives the macro tokenizer and expander with arbitrary text and checks
// properties that hold for every input, not just well-formed ones.
#include "tests/fuzz/fuzz_check.hpp"
#include "server/profile/macro.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using namespace provbox::profile;

using provbox::fuzz::check;

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_';
}

// What text means with no names known: `$$` pairs, read left to right,
// become `$`; every other byte stays. Written independently of the tokenizer.
std::string collapse_dollars(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '$') ++i;
  }
  return out;
}

std::string escape_dollars(std::string_view text) {
  std::string out;
  for (const char c : text) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

// The tokens' source forms put back together: literal texts and the exact
// written text of each reference.
std::string join_written(const std::vector<macro_token>& tokens) {
  std::string out;
  for (const auto& token : tokens) {
    if (const auto* literal = std::get_if<macro_literal>(&token)) {
      out += literal->text;
    } else {
      out += std::get<macro_reference>(token).written;
    }
  }
  return out;
}

void check_token_shapes(const std::vector<macro_token>& tokens) {
  bool previous_was_literal = false;
  for (const auto& token : tokens) {
    if (const auto* literal = std::get_if<macro_literal>(&token)) {
      check(!literal->text.empty(), "no empty literal");
      check(!previous_was_literal, "adjacent literals are merged");
      previous_was_literal = true;
      continue;
    }
    previous_was_literal = false;
    const auto& ref = std::get<macro_reference>(token);
    check(!ref.name.empty(), "reference name is not empty");
    for (const char c : ref.name) check(is_name_char(c), "reference name is [A-Za-z0-9_]");
    check(ref.written.size() > ref.name.size() && ref.written[0] == '$',
          "written form starts with $ and holds the name");
    // A reference's written form, read on its own, is that same reference.
    const auto again = tokenize_macros(ref.written);
    check(again.size() == 1 && std::holds_alternative<macro_reference>(again[0]) &&
              std::get<macro_reference>(again[0]) == ref,
          "written form re-tokenizes to the same reference");
  }
}

macro_table small_table() {
  macro_table table;
  table.set("MA", "0021f2011b19");
  table.set("MAU", "0021F2011B19");
  table.set("MAC", "00:21:f2:01:1b:19");
  table.set("PN", "$MA$(MAU)$$");  // would change if values were rescanned
  table.set("E", "");
  return table;
}

void check_expansion(std::string_view text, const std::vector<macro_token>& tokens) {
  static const macro_table table = small_table();
  std::string expected;
  for (const auto& token : tokens) {
    if (const auto* literal = std::get_if<macro_literal>(&token)) {
      expected += literal->text;
      continue;
    }
    const auto& ref = std::get<macro_reference>(token);
    const std::string* value = table.find(ref.name);
    if (value == nullptr) {
      expected += ref.written;
      continue;
    }
    const std::string part = substring_of(*value, ref);
    check(part.size() <= value->size(), "a substring is no longer than its value");
    check(part.empty() || value->compare(ref.offset, part.size(), part) == 0,
          "a substring is the value's bytes at the offset");
    expected += part;
  }
  check(expand_macros(text, table) == expected, "expansion follows the tokens");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto tokens = tokenize_macros(text);
  check_token_shapes(tokens);

  const std::string collapsed = collapse_dollars(text);
  check(join_written(tokens) == collapsed, "tokens rejoin to the input with $$ collapsed");
  check(expand_macros(text, macro_table{}) == collapsed,
        "an empty table only collapses $$");

  // Doubling every '$' makes any text inert: it comes back as one literal.
  const auto escaped = tokenize_macros(escape_dollars(text));
  check(text.empty() ? escaped.empty()
                     : escaped.size() == 1 && std::holds_alternative<macro_literal>(escaped[0]) &&
                           std::get<macro_literal>(escaped[0]).text == text,
        "escaped text is one literal equal to the input");

  check_expansion(text, tokens);
  return 0;
}
