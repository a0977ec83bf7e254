#pragma once
// JSON string escaping, shared by the JSON access log, the JSON log lines and
// the CLI's --json output.
#include <string>
#include <string_view>

namespace provbox::provisioning {

// Appends `text` as a JSON string, quotes included. Control characters
// become \uXXXX; other bytes are copied (the inventory holds UTF-8 only).
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0x0f];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

inline std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

}  // namespace provbox::provisioning
