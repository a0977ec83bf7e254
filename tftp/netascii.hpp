#pragma once
// netascii (RFC 1350 §1, RFC 764): the local file is Unix text, the wire is
// CR LF. Each byte is mapped on its own, so the conversion is reversible:
//   LF      -> CR LF
//   bare CR -> CR NUL
// A file that already has CR LF therefore becomes CR NUL CR LF, which a
// client turns back into the same CR LF. Whole buffers only: what is served
// in netascii is a rendered config of a few kilobytes.
#include <cstdint>
#include <span>
#include <vector>

namespace provbox::tftp {

std::vector<std::uint8_t> to_netascii(std::span<const std::uint8_t> text);

// The size of to_netascii(text) without building it, for tsize (RFC 2349).
std::uint64_t netascii_size(std::span<const std::uint8_t> text);

}  // namespace provbox::tftp
