#include "server/provisioning/request_path.hpp"

namespace provbox::provisioning {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

path_check refuse(std::string why) { return {std::nullopt, std::move(why)}; }

// Checks a decoded path: at most 1024 bytes, no NUL, control characters or
// backslashes, no "." or ".." segments, no empty segments.
path_check check_decoded(std::string_view path) {
  if (path.size() > 1024) return refuse("path too long");
  // One leading '/' (HTTP targets have it, some TFTP clients send it); a
  // second one is an empty segment like any other.
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return refuse("empty path");
  for (char c : path) {
    if (c == '\\') return refuse("backslash in path");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return refuse("control character in path");
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto segment = path.substr(start, end - start);
    if (segment.empty()) return refuse("empty path segment");
    if (segment == "." || segment == "..") return refuse("'.' or '..' in path");
    start = end + 1;
  }
  return {std::string(path), {}};
}

}  // namespace

path_check check_http_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return refuse("the target must be an absolute path");
  if (auto q = target.find_first_of("?#"); q != std::string_view::npos) target = target.substr(0, q);
  std::string decoded;
  decoded.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] != '%') {
      decoded += target[i];
      continue;
    }
    if (i + 2 >= target.size()) return refuse("truncated %-escape");
    const int hi = hex_digit(target[i + 1]);
    const int lo = hex_digit(target[i + 2]);
    if (hi < 0 || lo < 0) return refuse("bad %-escape");
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return refuse("NUL in path");
    // An encoded '/' would let "..%2f" smuggle a separator past the segment
    // check; no file provbox serves has one in its name.
    if (c == '/') return refuse("encoded '/' in path");
    decoded += c;
    i += 2;
  }
  return check_decoded(decoded);
}

path_check check_tftp_name(std::string_view name) { return check_decoded(name); }

}  // namespace provbox::provisioning
