// One access log line per request: device, transport, path, status, bytes,
// version served, duration; as text, or as a JSON object a log shipper can
// parse whatever the path or the reason contains.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <optional>
#include <string>

#include "server/provisioning/service.hpp"

namespace provbox::provisioning {
namespace {

using namespace std::chrono_literals;

// A strict parser for what the access log writes: one flat object of
// strings, integers and null. Returns each member's decoded value (null as
// "null", a string without its quotes), or nullopt when the text is not
// valid JSON of that shape.
class flat_json {
public:
  static std::optional<std::map<std::string, std::string>> parse(const std::string& text) {
    flat_json p(text);
    std::map<std::string, std::string> members;
    if (!p.eat('{')) return std::nullopt;
    if (p.eat('}')) return p.at_end() ? std::optional(members) : std::nullopt;
    do {
      auto key = p.string();
      if (!key || !p.eat(':')) return std::nullopt;
      std::optional<std::string> value;
      if (p.peek() == '"') value = p.string();
      else if (p.literal("null")) value = "null";
      else value = p.integer();
      if (!value || members.count(*key)) return std::nullopt;
      members[*key] = *value;
    } while (p.eat(','));
    if (!p.eat('}') || !p.at_end()) return std::nullopt;
    return members;
  }

private:
  explicit flat_json(const std::string& text) : text_(text) {}

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_end() const { return pos_ == text_.size(); }
  bool eat(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }
  bool literal(const std::string& word) {
    if (text_.compare(pos_, word.size(), word) != 0) return false;
    pos_ += word.size();
    return true;
  }
  std::optional<std::string> integer() {
    const auto start = pos_;
    if (peek() == '-') ++pos_;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    if (pos_ == start || text_[pos_ - 1] == '-') return std::nullopt;
    return text_.substr(start, pos_ - start);
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (!at_end()) {
      const auto c = static_cast<unsigned char>(text_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) return std::nullopt;  // JSON forbids raw control characters
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_end()) return std::nullopt;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return std::nullopt;
          const auto hex = text_.substr(pos_, 4);
          pos_ += 4;
          std::size_t used = 0;
          const auto code = std::stoul(hex, &used, 16);
          if (used != 4 || code > 0x7f) return std::nullopt;  // only ASCII is expected here
          out += static_cast<char>(code);
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }

  const std::string& text_;
  std::size_t pos_ = 0;
};

const profile::mac_address phone = *profile::mac_address::parse("00:21:f2:01:1b:19");

request sample_request() {
  request r;
  r.via = transport::https;
  r.path = "fv0021F2011B19.conf";
  r.peer_address = "192.0.2.10";
  return r;
}

answer profile_answer() {
  answer a;
  a.kind = answer_kind::profile;
  a.status = 200;
  a.device = phone;
  a.dbase_version = 10042;
  return a;
}

answer refusal(std::string reason) {
  answer a;
  a.kind = answer_kind::refusal;
  a.status = 404;
  a.reason = std::move(reason);
  return a;
}

// ---- the flat_json helper itself: it must be able to say no -----------------

TEST(flat_json, refuses_what_the_log_must_never_write) {
  EXPECT_TRUE(flat_json::parse(R"({"a":"x","b":1,"c":null})"));
  EXPECT_FALSE(flat_json::parse(R"({"a":"x"y"})"));        // unescaped quote
  EXPECT_FALSE(flat_json::parse("{\"a\":\"x\ny\"}"));      // raw newline
  EXPECT_FALSE(flat_json::parse(R"({"a":"x\q"})"));        // unknown escape
  EXPECT_FALSE(flat_json::parse(R"({"a":"x"} trailing)"));
}

// ---- text --------------------------------------------------------------------

TEST(format_access_line, text_names_transport_peer_device_path_status_bytes_version) {
  const auto line = format_access_line(sample_request(), profile_answer(), 200, 512, 1500us, "", false);
  EXPECT_EQ(line, "https 192.0.2.10 00:21:f2:01:1b:19 /fv0021F2011B19.conf 200 512B version=10042 1.5ms");
}

TEST(format_access_line, text_without_a_device_or_version_uses_dashes) {
  auto r = sample_request();
  r.via = transport::tftp;
  r.path = "nothing.conf";
  const auto line = format_access_line(r, refusal("no such file"), 404, 0, 250us, "", false);
  EXPECT_EQ(line, "tftp 192.0.2.10 - /nothing.conf 404 0B version=- 0.2ms (no such file)");
}

TEST(format_access_line, text_detail_replaces_the_reason) {
  const auto line =
      format_access_line(sample_request(), profile_answer(), 304, 0, 1ms, "not modified", false);
  EXPECT_TRUE(line.ends_with(" 304 0B version=10042 1.0ms (not modified)")) << line;
}

// ---- JSON --------------------------------------------------------------------

TEST(format_access_line, json_parses_with_every_field) {
  const auto line = format_access_line(sample_request(), profile_answer(), 200, 512, 1500us, "", true);
  const auto members = flat_json::parse(line);
  ASSERT_TRUE(members) << line;
  EXPECT_EQ(members->at("transport"), "https");
  EXPECT_EQ(members->at("peer"), "192.0.2.10");
  EXPECT_EQ(members->at("device"), "00:21:f2:01:1b:19");
  EXPECT_EQ(members->at("path"), "/fv0021F2011B19.conf");
  EXPECT_EQ(members->at("status"), "200");
  EXPECT_EQ(members->at("bytes"), "512");
  EXPECT_EQ(members->at("version"), "10042");
  EXPECT_EQ(members->at("duration_us"), "1500");
  EXPECT_EQ(members->count("detail"), 0u);
}

TEST(format_access_line, json_device_and_version_are_null_for_a_refusal) {
  const auto line = format_access_line(sample_request(), refusal("no such file"), 404, 0, 1ms, "", true);
  const auto members = flat_json::parse(line);
  ASSERT_TRUE(members) << line;
  EXPECT_EQ(members->at("device"), "null");
  EXPECT_EQ(members->at("version"), "null");
  EXPECT_EQ(members->at("detail"), "no such file");
}

TEST(format_access_line, json_escapes_quotes_and_backslashes) {
  auto r = sample_request();
  r.path = R"(a"b\c.conf)";
  const auto line = format_access_line(r, refusal(R"(say "no")"), 404, 0, 1ms, "", true);
  const auto members = flat_json::parse(line);
  ASSERT_TRUE(members) << line;
  EXPECT_EQ(members->at("path"), R"(/a"b\c.conf)");
  EXPECT_EQ(members->at("detail"), R"(say "no")");
}

TEST(format_access_line, json_escapes_control_characters) {
  auto r = sample_request();
  r.path = "a\nb\x01.conf";
  const auto line = format_access_line(r, refusal("line\r\nbreak\t"), 404, 0, 1ms, "", true);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  const auto members = flat_json::parse(line);
  ASSERT_TRUE(members) << line;
  EXPECT_EQ(members->at("path"), "/a\nb\x01.conf");
  EXPECT_EQ(members->at("detail"), "line\r\nbreak\t");
}

}  // namespace
}  // namespace provbox::provisioning
