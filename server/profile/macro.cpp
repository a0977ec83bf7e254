#include "server/profile/macro.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace provbox::profile {

namespace {

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t count_name_chars(std::string_view text) {
  const auto end = std::find_if_not(text.begin(), text.end(), is_name_char);
  return static_cast<std::size_t>(end - text.begin());
}

// p or q of `$(NAME:p:q)`: digits only, at least one. A number too large for
// size_t saturates instead of wrapping: such an offset or length is past the
// end of any value, and SIZE_MAX means exactly that to substring_of.
std::optional<std::size_t> parse_count(std::string_view digits) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return std::nullopt;
  }
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  std::size_t value = 0;
  for (const char c : digits) {
    const auto digit = static_cast<std::size_t>(c - '0');
    if (value > (max - digit) / 10) return max;
    value = value * 10 + digit;
  }
  return value;
}

// Splits `NAME:p:q` into at most three fields; nullopt when there are more.
std::optional<std::vector<std::string_view>> split_fields(std::string_view inner) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    if (fields.size() == 3) return std::nullopt;
    const std::size_t colon = inner.find(':', start);
    if (colon == std::string_view::npos) {
      fields.push_back(inner.substr(start));
      return fields;
    }
    fields.push_back(inner.substr(start, colon - start));
    start = colon + 1;
  }
}

// Parses `$(NAME)`, `$(NAME:p)` or `$(NAME:p:q)` at the start of `text`,
// which begins with "$(". The scan for ')' stops at the first character that
// cannot occur inside a reference, so it never runs past the next '$' and
// tokenizing stays linear however many `$(` an input holds.
std::optional<macro_reference> parse_parenthesized(std::string_view text) {
  std::size_t close = 2;
  while (close < text.size() && (is_name_char(text[close]) || text[close] == ':')) ++close;
  if (close == text.size() || text[close] != ')') return std::nullopt;

  const auto fields = split_fields(text.substr(2, close - 2));
  if (!fields) return std::nullopt;
  const std::string_view name = (*fields)[0];
  if (name.empty() || count_name_chars(name) != name.size()) return std::nullopt;

  macro_reference ref;
  ref.name = std::string(name);
  if (fields->size() >= 2) {
    const auto offset = parse_count((*fields)[1]);
    if (!offset) return std::nullopt;
    ref.offset = *offset;
  }
  if (fields->size() == 3) {
    ref.length = parse_count((*fields)[2]);
    if (!ref.length) return std::nullopt;
  }
  ref.written = std::string(text.substr(0, close + 1));
  return ref;
}

void append_literal(std::vector<macro_token>& tokens, std::string_view text) {
  if (text.empty()) return;
  if (!tokens.empty()) {
    if (auto* last = std::get_if<macro_literal>(&tokens.back())) {
      last->text.append(text);
      return;
    }
  }
  tokens.push_back(macro_literal{std::string(text)});
}

// Handles the '$' at the start of `text`: appends what it stands for and
// returns how many characters that consumed.
std::size_t scan_dollar(std::string_view text, std::vector<macro_token>& tokens) {
  if (text.size() == 1) {
    append_literal(tokens, "$");
    return 1;
  }
  const char next = text[1];
  if (next == '$') {
    append_literal(tokens, "$");
    return 2;
  }
  if (next == '(') {
    if (auto ref = parse_parenthesized(text)) {
      const std::size_t used = ref->written.size();
      tokens.emplace_back(std::move(*ref));
      return used;
    }
    // Malformed: `$(` is literal and scanning resumes right after it, so a
    // well-formed reference inside (`$($MA)`) still expands. The device
    // documentation does not say; this keeps every byte of the input and
    // treats the rest of the text like any other text.
    append_literal(tokens, "$(");
    return 2;
  }
  const std::size_t name_length = count_name_chars(text.substr(1));
  if (name_length == 0) {
    append_literal(tokens, "$");
    return 1;
  }
  macro_reference ref;
  ref.name = std::string(text.substr(1, name_length));
  ref.written = std::string(text.substr(0, name_length + 1));
  tokens.emplace_back(std::move(ref));
  return name_length + 1;
}

}  // namespace

bool is_builtin_macro(std::string_view name) {
  return std::find(std::begin(builtin_macro_names), std::end(builtin_macro_names), name) !=
         std::end(builtin_macro_names);
}

std::vector<macro_token> tokenize_macros(std::string_view text) {
  std::vector<macro_token> tokens;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t dollar = text.find('$', pos);
    if (dollar == std::string_view::npos) {
      append_literal(tokens, text.substr(pos));
      break;
    }
    append_literal(tokens, text.substr(pos, dollar - pos));
    pos = dollar + scan_dollar(text.substr(dollar), tokens);
  }
  return tokens;
}

void macro_table::set(std::string name, std::string value) {
  values_.insert_or_assign(std::move(name), std::move(value));
}

bool macro_table::set_if_absent(std::string name, std::string value) {
  return values_.try_emplace(std::move(name), std::move(value)).second;
}

const std::string* macro_table::find(std::string_view name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

std::string substring_of(std::string_view value, const macro_reference& ref) {
  if (ref.offset >= value.size()) return {};
  // substr clamps the count, so a length past the end stops at the end.
  const std::size_t count = ref.length.value_or(std::string_view::npos);
  return std::string(value.substr(ref.offset, count));
}

std::string expand_macros(std::string_view text, const macro_table& names) {
  std::string out;
  out.reserve(text.size());
  // Built on the tokenizer so expansion and pattern matching can never
  // disagree about what a reference is. Values are appended, never rescanned.
  for (const auto& token : tokenize_macros(text)) {
    if (const auto* literal = std::get_if<macro_literal>(&token)) {
      out += literal->text;
      continue;
    }
    const auto& ref = std::get<macro_reference>(token);
    if (const std::string* value = names.find(ref.name)) {
      out += substring_of(*value, ref);
    } else {
      out += ref.written;
    }
  }
  return out;
}

}  // namespace provbox::profile
