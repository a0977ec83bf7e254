// libFuzzer target for parse_range, the Range header of a firmware download
// (http/range.cpp, RFC 9110 §14.1). The first byte says how many of the next
// bytes (1..8, little-endian) are the file size; the rest is the header.
//  1. A partial range lies within the file and is not empty: length > 0,
//     first < size, first + length <= size (without overflow).
//  2. Whole and unsatisfiable carry no range.
//  3. The result is what range.hpp promises, computed by a model written
//     independently of the parser: malformed, multi-range or absent means
//     whole; a well-formed range outside the file is unsatisfiable.
//  4. A partial range written back as "bytes=FIRST-LAST" parses to itself.
#include "tests/fuzz/fuzz_check.hpp"
#include "http/range.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace provbox::http;

using provbox::fuzz::check;

// 1*DIGIT that fits in 64 bits, or nothing.
std::optional<std::uint64_t> digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

range_result partial(std::uint64_t first, std::uint64_t length) {
  return {range_kind::partial, {first, length}};
}

// RFC 9110 §14.1.1 for exactly one range: "bytes=" (first "-" [last] |
// "-" suffix), no whitespace. §14.1.1: last < first makes the range invalid,
// and an invalid header is ignored (whole), not answered with 416.
range_result model(std::string_view header, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (header.substr(0, unit.size()) != unit) return {};
  const std::string_view spec = header.substr(unit.size());
  if (spec.find(',') != std::string_view::npos) return {};
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);

  if (first_text.empty()) {
    const auto suffix = digits(last_text);
    if (!suffix) return {};
    if (*suffix == 0) return {range_kind::unsatisfiable, {}};
    if (size == 0) return {};  // satisfiable, but no bytes to range over
    const std::uint64_t n = std::min(*suffix, size);
    return partial(size - n, n);
  }
  const auto first = digits(first_text);
  if (!first) return {};
  std::optional<std::uint64_t> last;
  if (!last_text.empty()) {
    last = digits(last_text);
    if (!last || *last < *first) return {};
  }
  if (*first >= size) return {range_kind::unsatisfiable, {}};
  const std::uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return partial(*first, end - *first + 1);
}

void check_shape(const range_result& r, std::uint64_t size) {
  if (r.kind == range_kind::partial) {
    check(r.range.length > 0, "a partial range is not empty");
    check(r.range.first < size, "a partial range starts inside the file");
    check(r.range.length <= size - r.range.first, "a partial range ends inside the file");
  } else {
    check(r.range.first == 0 && r.range.length == 0, "only a partial result carries a range");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t size_bytes = std::min<std::size_t>(1 + data[0] % 8, size - 1);
  std::uint64_t file_size = 0;
  for (std::size_t i = 0; i < size_bytes; ++i) file_size |= std::uint64_t{data[1 + i]} << (8 * i);
  const std::string_view header(reinterpret_cast<const char*>(data) + 1 + size_bytes, size - 1 - size_bytes);

  const range_result got = parse_range(header, file_size);
  check_shape(got, file_size);

  const range_result want = model(header, file_size);
  if (got.kind != want.kind || got.range.first != want.range.first || got.range.length != want.range.length) {
    std::fprintf(stderr, "size %llu, header \"%.*s\": got kind %d %llu+%llu, model kind %d %llu+%llu\n",
                 static_cast<unsigned long long>(file_size), static_cast<int>(header.size()), header.data(),
                 static_cast<int>(got.kind), static_cast<unsigned long long>(got.range.first),
                 static_cast<unsigned long long>(got.range.length), static_cast<int>(want.kind),
                 static_cast<unsigned long long>(want.range.first),
                 static_cast<unsigned long long>(want.range.length));
    check(false, "parse_range agrees with the model of range.hpp's contract");
  }

  if (got.kind == range_kind::partial) {
    const std::string canonical = "bytes=" + std::to_string(got.range.first) + "-" +
                                  std::to_string(got.range.first + got.range.length - 1);
    const range_result again = parse_range(canonical, file_size);
    check(again.kind == range_kind::partial && again.range.first == got.range.first &&
              again.range.length == got.range.length,
          "a partial range written back parses to itself");
  }
  return 0;
}
