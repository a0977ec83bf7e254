#include "server/profile/profile_template.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace provbox::profile {

namespace {

constexpr std::size_t max_key_length = 128;
// Keys quoted in messages are cut here: a garbage line should not turn into
// a garbage log line of unbounded length.
constexpr std::size_t max_quoted_length = 64;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

// Quotes text for an error message; control and non-ASCII bytes become \xNN
// so a message is always one printable line.
std::string quoted(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char c : text.substr(0, max_quoted_length)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  if (text.size() > max_quoted_length) out += "...";
  out += '\'';
  return out;
}

class template_parser {
public:
  void parse_line(std::string_view line, std::size_t number) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Checked before anything else, comments included: the devices read the
    // file as C strings, so a NUL would silently cut it short there.
    if (line.find('\0') != std::string_view::npos) {
      fail(number, "line contains a NUL byte");
      return;
    }
    const std::string_view content = trim_blanks(line);
    if (content.empty() || content.front() == '#') return;

    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      fail(number, "missing '=' (expected KEY=VALUE)");
      return;
    }
    const std::string_view key = trim_blanks(line.substr(0, equals));
    if (!is_valid_key(key)) {
      fail(number, "invalid key " + quoted(key));
      return;
    }
    add_entry(key, line.substr(equals + 1), number);
  }

  template_parse_result take_result() { return std::move(result_); }

private:
  void add_entry(std::string_view key, std::string_view value, std::size_t number) {
    const auto [it, inserted] = first_line_of_.try_emplace(std::string(key), number);
    if (!inserted) {
      fail(number, "duplicate key " + quoted(key) + " (first given on line " +
                       std::to_string(it->second) + ")");
      return;
    }
    result_.entries.push_back(profile_entry{std::string(key), std::string(value)});
  }

  void fail(std::size_t number, std::string message) {
    result_.errors.push_back(template_error{number, std::move(message)});
  }

  template_parse_result result_;
  std::map<std::string, std::size_t, std::less<>> first_line_of_;
};

}  // namespace

bool is_valid_key(std::string_view key) {
  return !key.empty() && key.size() <= max_key_length &&
         std::all_of(key.begin(), key.end(), is_key_char);
}

template_parse_result parse_template(std::string_view text) {
  template_parser parser;
  std::size_t number = 1;
  std::size_t start = 0;
  // Every error is collected rather than stopping at the first, so an
  // operator fixes a broken template in one pass.
  while (start <= text.size()) {
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    parser.parse_line(text.substr(start, end - start), number);
    if (newline == std::string_view::npos) break;
    start = newline + 1;
    ++number;
  }
  return parser.take_result();
}

std::string to_string(const template_error& error) {
  return "line " + std::to_string(error.line) + ": " + error.message;
}

}  // namespace provbox::profile
