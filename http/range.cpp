#include "http/range.hpp"

#include <algorithm>
#include <charconv>

namespace provbox::http {
namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

range_result parse_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view prefix = "bytes=";
  if (!header.starts_with(prefix)) return {};
  header.remove_prefix(prefix.size());
  if (header.find(',') != std::string_view::npos) return {};  // several ranges: send it all
  const auto dash = header.find('-');
  if (dash == std::string_view::npos) return {};
  const auto first_text = header.substr(0, dash);
  const auto last_text = header.substr(dash + 1);
  if (first_text.empty()) {
    // "-N": the last N bytes.
    auto suffix = number(last_text);
    if (!suffix) return {};
    if (*suffix == 0) return {range_kind::unsatisfiable, {}};
    // RFC 9110 §14.1.1: a non-zero suffix of an empty file is satisfiable,
    // but there is no byte range to send: answer with the whole (empty) file.
    if (size == 0) return {};
    const auto length = std::min(*suffix, size);
    return {range_kind::partial, {size - length, length}};
  }
  auto first = number(first_text);
  if (!first) return {};
  // The whole spec is checked before the size: a malformed last, or one below
  // the first (RFC 9110 §14.1.1: invalid), is ignored like any malformed
  // header, not answered with 416 because the first is past the end.
  std::optional<std::uint64_t> given;
  if (!last_text.empty()) {
    given = number(last_text);
    if (!given || *given < *first) return {};
  }
  if (*first >= size) return {range_kind::unsatisfiable, {}};
  const std::uint64_t last = given ? std::min(*given, size - 1) : size - 1;
  return {range_kind::partial, {*first, last - *first + 1}};
}

}  // namespace provbox::http
