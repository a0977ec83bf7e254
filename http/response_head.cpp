#include "http/response_head.hpp"

namespace provbox::http {

std::string format_profile_head(const profile_head& head) {
  const std::string_view content_type =
      head.encrypted ? "application/octet-stream" : "text/plain; charset=utf-8";
  const auto length = std::to_string(head.content_length);
  const auto version = std::to_string(head.dbase_version);
  std::string_view connection;
  if (head.version >= 11 && !head.keep_alive) connection = "Connection: close\r\n";
  if (head.version < 11 && head.keep_alive) connection = "Connection: keep-alive\r\n";

  std::string out;
  out.reserve(192 + head.etag.size());
  out += head.version >= 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n";
  out += "Server: provbox\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nETag: ";
  out += head.etag;
  out += "\r\nCache-Control: no-cache\r\nX-Dbase-Version: ";
  out += version;
  out += "\r\nContent-Length: ";
  out += length;
  out += "\r\n";
  out += connection;
  out += "\r\n";
  return out;
}

}  // namespace provbox::http
