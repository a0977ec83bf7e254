#pragma once
// The Range header of a firmware download (RFC 9110 section 14): one byte
// range, or the whole file. Pure, so every form is tested without a socket.
#include <cstdint>
#include <optional>
#include <string_view>

namespace provbox::http {

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

enum class range_kind { whole, partial, unsatisfiable };

struct range_result {
  range_kind kind = range_kind::whole;
  byte_range range;  // for partial
};

// An absent, malformed or multi-range header means the whole file (a server
// may ignore Range); a well-formed range outside the file is unsatisfiable.
range_result parse_range(std::string_view header, std::uint64_t size);

}  // namespace provbox::http
