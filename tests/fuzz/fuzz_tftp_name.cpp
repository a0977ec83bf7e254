// libFuzzer target for check_tftp_name, the gate the file name of every TFTP
// read and write request passes (server/provisioning/request_path.cpp), both
// as raw bytes and as the name field of a decoded RRQ. For any bytes:
//  1. An accepted name is relative (no leading '/'), non-empty, at most 1024
//     bytes, and has no NUL, control character, backslash, empty segment, or
//     "." or ".." segment.
//  2. It is the input with at most one leading '/' dropped: TFTP has no
//     escapes, so nothing else may change ("%2e%2e" stays a name).
//  3. The check is idempotent: checking the accepted name again, with or
//     without a leading '/', gives the same name.
//  4. A refusal always carries a reason.
#include "tests/fuzz/fuzz_check.hpp"
#include "server/provisioning/request_path.hpp"
#include "tftp/packet.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using namespace provbox::provisioning;
namespace tftp = provbox::tftp;

using provbox::fuzz::check;


void check_name(std::string_view name) {
  const path_check checked = check_tftp_name(name);
  if (!checked.path) {
    check(!checked.refusal.empty(), "a refusal says why");
    return;
  }
  const std::string& path = *checked.path;
  check(checked.refusal.empty(), "an accepted name has no refusal");
  provbox::fuzz::check_plain_relative_path(path, "name");

  std::string_view sent = name;
  if (sent.starts_with('/')) sent.remove_prefix(1);
  check(path == sent, "an accepted name is the name as sent, less one leading '/'");

  const path_check again = check_tftp_name(path);
  check(again.path && *again.path == path, "the check is idempotent");
  const path_check rooted = check_tftp_name("/" + path);
  check(rooted.path && *rooted.path == path, "a leading '/' on an accepted name changes nothing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_name(std::string_view(reinterpret_cast<const char*>(data), size));

  // The same bytes as the name of a read request, as the server gets it.
  std::vector<std::uint8_t> rrq{0, 1};
  rrq.insert(rrq.end(), data, data + size);
  for (const char c : std::string_view("\0octet\0", 7)) rrq.push_back(static_cast<std::uint8_t>(c));
  const auto decoded = tftp::decode(std::span<const std::uint8_t>(rrq));
  if (decoded) {
    if (const auto* req = std::get_if<tftp::request>(&decoded.value())) {
      const std::string_view sent(reinterpret_cast<const char*>(data), size);
      check(req->filename == sent.substr(0, sent.find('\0')), "an RRQ's name is its bytes up to the NUL");
      check_name(req->filename);
    }
  }
  return 0;
}
