// The head of a cached profile's 200, byte for byte: what a phone's HTTP
// client parses (status line, Content-Length, the keep-alive rules of HTTP/1.0
// and 1.1) before it reads the KEY=VALUE body.
#include "http/response_head.hpp"

#include <gtest/gtest.h>

namespace provbox::http {
namespace {

profile_head sample() {
  profile_head h;
  h.etag = "\"10009-3f2a\"";
  h.dbase_version = 10009;
  h.content_length = 357;
  return h;
}

TEST(format_profile_head, http11_keep_alive_says_nothing_about_the_connection) {
  EXPECT_EQ(format_profile_head(sample()),
            "HTTP/1.1 200 OK\r\n"
            "Server: provbox\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "ETag: \"10009-3f2a\"\r\n"
            "Cache-Control: no-cache\r\n"
            "X-Dbase-Version: 10009\r\n"
            "Content-Length: 357\r\n"
            "\r\n");
}

TEST(format_profile_head, http11_closing_says_close) {
  auto h = sample();
  h.keep_alive = false;
  const auto text = format_profile_head(h);
  EXPECT_NE(text.find("\r\nContent-Length: 357\r\nConnection: close\r\n\r\n"), std::string::npos) << text;
}

TEST(format_profile_head, http10_keep_alive_says_keep_alive) {
  auto h = sample();
  h.version = 10;
  const auto text = format_profile_head(h);
  EXPECT_TRUE(text.starts_with("HTTP/1.0 200 OK\r\n")) << text;
  EXPECT_NE(text.find("\r\nConnection: keep-alive\r\n\r\n"), std::string::npos) << text;
}

TEST(format_profile_head, http10_closing_says_nothing) {
  auto h = sample();
  h.version = 10;
  h.keep_alive = false;
  const auto text = format_profile_head(h);
  EXPECT_EQ(text.find("Connection"), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with("Content-Length: 357\r\n\r\n")) << text;
}

TEST(format_profile_head, encrypted_profiles_are_octet_streams) {
  auto h = sample();
  h.encrypted = true;
  EXPECT_NE(format_profile_head(h).find("\r\nContent-Type: application/octet-stream\r\n"), std::string::npos);
}

TEST(format_profile_head, large_numbers_are_written_whole) {
  auto h = sample();
  h.dbase_version = 18446744073709551615ull;
  h.content_length = 0;
  const auto text = format_profile_head(h);
  EXPECT_NE(text.find("X-Dbase-Version: 18446744073709551615\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Content-Length: 0\r\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace provbox::http
