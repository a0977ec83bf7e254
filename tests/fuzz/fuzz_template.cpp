// Drives the template parser with arbitrary bytes: it must never throw, and
// whatever it accepts must be something it would accept again unchanged.
#include "tests/fuzz/fuzz_check.hpp"
#include "server/profile/profile_template.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace {

using namespace provbox::profile;

using provbox::fuzz::check;

bool is_printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = parse_template(text);

  const auto line_count = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  check(result.entries.size() <= line_count, "at most one entry per line");
  for (const auto& error : result.errors) {
    check(error.line >= 1 && error.line <= line_count, "error line is within the text");
    check(!error.message.empty() && is_printable(error.message), "message is one printable line");
  }

  std::set<std::string> keys;
  std::string serialized;
  for (const auto& entry : result.entries) {
    check(is_valid_key(entry.key), "every entry has a valid key");
    check(keys.insert(entry.key).second, "keys are unique");
    check(entry.value.find('\n') == std::string::npos, "a value holds no newline");
    check(entry.value.find('\0') == std::string::npos, "a value holds no NUL");
    // CRLF, so a value that itself ends in '\r' survives the trailing-CR rule.
    serialized += entry.key + "=" + entry.value + "\r\n";
  }

  const auto again = parse_template(serialized);
  check(again.ok(), "accepted entries re-parse without errors");
  check(again.entries == result.entries, "accepted entries re-parse unchanged");
  return 0;
}
