#pragma once
// The status line and header fields of a profile response, as the bytes that
// go on the wire. A cached profile is the request path's hot case (every
// resync of every device); building its head as one string and sending it
// with the cached body in one gather write skips Beast's field container and
// serializer, which were a third of provbox's own CPU per request. Pure, so
// the bytes are tested without sockets; other responses still go through
// Beast.
#include <cstdint>
#include <string>
#include <string_view>

namespace provbox::http {

struct profile_head {
  unsigned version = 11;  // the request's HTTP version: 10 or 11
  bool keep_alive = true;
  bool encrypted = false;  // application/octet-stream instead of text/plain
  std::string_view etag;   // quoted
  std::uint64_t dbase_version = 0;
  std::uint64_t content_length = 0;  // also for HEAD, which sends no body
};

// "HTTP/1.1 200 OK\r\n" ... "\r\n". Connection is said the way Beast says
// it: "close" for an HTTP/1.1 connection that ends, "keep-alive" for an
// HTTP/1.0 one that stays, nothing otherwise.
std::string format_profile_head(const profile_head& head);

}  // namespace provbox::http
