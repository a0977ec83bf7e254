// libFuzzer target for check_http_target, the gate every HTTP request target
// passes (server/provisioning/request_path.cpp). For any bytes:
//  1. An accepted path is relative (no leading '/'), non-empty, at most 1024
//     bytes, and has no NUL, control character, backslash, empty segment, or
//     "." or ".." segment. ("a..b" is a legal name: only whole segments are
//     traversal, see request_path_test.cpp.)
//     Its '/' are the target's own raw ones: a decoded "%2F" never splits.
//  2. It is a fixed point of the name check: check_tftp_name(path) == path.
//  3. It round-trips: every byte %-escaped behind a '/' is accepted again as
//     the same path; with no '%', '?' or '#' in it, "/" + path is accepted
//     as that same path (idempotent).
//  4. A refusal always carries a reason.
#include "tests/fuzz/fuzz_check.hpp"
#include "server/provisioning/request_path.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace provbox::provisioning;

using provbox::fuzz::check;


std::string escape_every_byte(std::string_view path) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "/";
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/') {
      out += '/';  // an encoded '/' is refused on purpose
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const path_check checked = check_http_target(target);
  if (!checked.path) {
    check(!checked.refusal.empty(), "a refusal says why");
    return 0;
  }
  const std::string& path = *checked.path;
  check(checked.refusal.empty(), "an accepted path has no refusal");
  provbox::fuzz::check_plain_relative_path(path, "path");

  // Every separator was sent as a raw '/': "%2F" never splits a segment.
  const std::string_view raw_path = target.substr(0, target.find_first_of("?#"));
  check(std::count(path.begin(), path.end(), '/') + 1 == std::count(raw_path.begin(), raw_path.end(), '/'),
        "the segments are the target's own, none made by decoding");

  const path_check again = check_tftp_name(path);
  check(again.path && *again.path == path, "an accepted path passes the plain name check unchanged");

  const path_check escaped = check_http_target(escape_every_byte(path));
  check(escaped.path && *escaped.path == path, "the fully escaped path decodes to the same path");

  // '%', '?' and '#' in a decoded path came from %25, %3F and %23; written
  // raw they would be decoded or cut again, so only the escaped form is exact.
  if (path.find_first_of("%?#") == std::string::npos) {
    const path_check rechecked = check_http_target("/" + path);
    check(rechecked.path && *rechecked.path == path, "an accepted path is idempotent under the check");
  }
  return 0;
}
