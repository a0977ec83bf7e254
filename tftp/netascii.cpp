#include "tftp/netascii.hpp"

#include <algorithm>

namespace provbox::tftp {

std::uint64_t netascii_size(std::span<const std::uint8_t> text) {
  // Every LF and every CR gains one byte.
  const auto grows = std::count_if(text.begin(), text.end(),
                                   [](std::uint8_t b) { return b == '\n' || b == '\r'; });
  return text.size() + static_cast<std::uint64_t>(grows);
}

std::vector<std::uint8_t> to_netascii(std::span<const std::uint8_t> text) {
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(netascii_size(text)));
  for (const auto b : text) {
    if (b == '\n') {
      out.push_back('\r');
      out.push_back('\n');
    } else if (b == '\r') {
      out.push_back('\r');
      out.push_back('\0');
    } else {
      out.push_back(b);
    }
  }
  return out;
}

}  // namespace provbox::tftp
