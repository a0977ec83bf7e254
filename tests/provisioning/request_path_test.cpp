// The gate every requested name passes: HTTP targets (decoded, query
// dropped) and TFTP names (as sent) become a relative path of plain
// segments, or a refusal with its reason.
#include "server/provisioning/request_path.hpp"

#include <gtest/gtest.h>

#include <string>

namespace provbox::provisioning {
namespace {

using namespace std::string_literals;

// ---- accepted, and what they become ---------------------------------------

TEST(check_http_target, a_device_file_becomes_a_relative_name) {
  const auto checked = check_http_target("/fv0021F2011B19.conf");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "fv0021F2011B19.conf");
}

TEST(check_http_target, nested_segments_are_kept) {
  const auto checked = check_http_target("/firmware/G502N/1.0.7/G502_F107_S334.bin");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "firmware/G502N/1.0.7/G502_F107_S334.bin");
}

TEST(check_http_target, the_query_string_is_dropped) {
  const auto checked = check_http_target("/fv0021F2011B19.conf?x=1");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "fv0021F2011B19.conf");
}

TEST(check_http_target, a_fragment_is_dropped) {
  const auto checked = check_http_target("/IP542N.conf#top");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "IP542N.conf");
}

TEST(check_http_target, escapes_are_decoded_in_either_letter_case) {
  const auto checked = check_http_target("/fv%30021f2011b19%2Econf");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "fv0021f2011b19.conf");
}

TEST(check_http_target, an_escape_at_the_very_end_is_decoded) {
  const auto checked = check_http_target("/a%41");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "aA");
}

TEST(check_http_target, dots_inside_a_name_are_not_a_dot_segment) {
  const auto checked = check_http_target("/a..b/.hidden/c.");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "a..b/.hidden/c.");
}

TEST(check_tftp_name, a_bare_name_is_taken_as_sent) {
  const auto checked = check_tftp_name("IP542N.conf");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "IP542N.conf");
}

TEST(check_tftp_name, one_leading_slash_is_dropped) {
  const auto checked = check_tftp_name("/IP542N.conf");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "IP542N.conf");
}

TEST(check_tftp_name, percent_is_an_ordinary_character) {
  // TFTP has no escapes: "%2e%2e" is a (strange) file name, not "..".
  const auto checked = check_tftp_name("%2e%2e");
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "%2e%2e");
}

TEST(check_tftp_name, a_name_of_1024_bytes_is_accepted) {
  const auto checked = check_tftp_name(std::string(1024, 'a'));
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(checked.path->size(), 1024u);
}

// ---- refused ----------------------------------------------------------------

// Each case: the target, and a word the refusal must contain.
struct refused_case {
  std::string target;
  std::string reason_word;
};

void PrintTo(const refused_case& c, std::ostream* os) { *os << '"' << c.target << '"'; }

class http_target_refused : public ::testing::TestWithParam<refused_case> {};

TEST_P(http_target_refused, with_a_reason) {
  const auto checked = check_http_target(GetParam().target);
  EXPECT_FALSE(checked.path) << "accepted as " << checked.path.value_or("");
  EXPECT_NE(checked.refusal.find(GetParam().reason_word), std::string::npos) << checked.refusal;
}

INSTANTIATE_TEST_SUITE_P(
    traversal_and_malformed, http_target_refused,
    ::testing::Values(refused_case{"/../etc/passwd", ".."},
                      refused_case{"/a/../b", ".."},
                      refused_case{"/..", ".."},
                      refused_case{"/%2e%2e/x", ".."},
                      refused_case{"/%2E%2e/x", ".."},
                      refused_case{"/.%2e/x", ".."},
                      refused_case{"/..%2fetc", "'/'"},
                      refused_case{"/a%2Fb", "'/'"},
                      refused_case{"/a%00b", "NUL"},
                      refused_case{"/%00", "NUL"},
                      refused_case{"/a%5cb", "backslash"},
                      refused_case{"/a\\b", "backslash"},
                      refused_case{"//x", "empty"},
                      refused_case{"/a//b", "empty"},
                      refused_case{"/a/", "empty"},
                      refused_case{"/.", "'.'"},
                      refused_case{"/a/./b", "'.'"},
                      refused_case{"/", "empty"},
                      refused_case{"", "absolute"},
                      refused_case{"fv0021F2011B19.conf", "absolute"},
                      refused_case{"%2ffv0021F2011B19.conf", "absolute"},
                      refused_case{"http://host/x", "absolute"},
                      refused_case{"/a\tb", "control"},
                      refused_case{"/a%0d%0aX: y", "control"},
                      refused_case{"/a%7f", "control"},
                      refused_case{"/a%1b", "control"},
                      refused_case{"/a%", "truncated"},
                      refused_case{"/a%4", "truncated"},
                      refused_case{"/a%zz", "bad"},
                      refused_case{"/a%4g", "bad"},
                      refused_case{"/a%-1", "bad"}));

TEST(check_http_target, a_path_longer_than_1024_bytes_is_refused) {
  const auto checked = check_http_target("/" + std::string(2000, 'a'));
  EXPECT_FALSE(checked.path);
  EXPECT_NE(checked.refusal.find("too long"), std::string::npos) << checked.refusal;
}

TEST(check_http_target, a_long_query_does_not_count_against_the_path) {
  const auto checked = check_http_target("/IP542N.conf?" + std::string(4000, 'q'));
  ASSERT_TRUE(checked.path) << checked.refusal;
  EXPECT_EQ(*checked.path, "IP542N.conf");
}

TEST(check_http_target, a_raw_nul_is_refused) {
  const auto checked = check_http_target("/a\0b"s);
  EXPECT_FALSE(checked.path);
  EXPECT_NE(checked.refusal.find("control"), std::string::npos) << checked.refusal;
}

class tftp_name_refused : public ::testing::TestWithParam<refused_case> {};

TEST_P(tftp_name_refused, with_a_reason) {
  const auto checked = check_tftp_name(GetParam().target);
  EXPECT_FALSE(checked.path) << "accepted as " << checked.path.value_or("");
  EXPECT_NE(checked.refusal.find(GetParam().reason_word), std::string::npos) << checked.refusal;
}

INSTANTIATE_TEST_SUITE_P(traversal_and_malformed, tftp_name_refused,
                         ::testing::Values(refused_case{"../etc/passwd", ".."},
                                           refused_case{"/../etc/passwd", ".."},
                                           refused_case{"a/../b", ".."},
                                           refused_case{"..", ".."},
                                           refused_case{".", "'.'"},
                                           refused_case{"a\\b", "backslash"},
                                           refused_case{"..\\windows", "backslash"},
                                           refused_case{"//x", "empty"},
                                           refused_case{"a//b", "empty"},
                                           refused_case{"", "empty"},
                                           refused_case{"/", "empty"},
                                           refused_case{"a\nb", "control"},
                                           refused_case{"a\x7f", "control"}));

TEST(check_tftp_name, a_nul_in_the_name_is_refused) {
  const auto checked = check_tftp_name("IP542N.conf\0../x"s);
  EXPECT_FALSE(checked.path);
  EXPECT_NE(checked.refusal.find("control"), std::string::npos) << checked.refusal;
}

TEST(check_tftp_name, a_name_of_1025_bytes_is_refused) {
  const auto checked = check_tftp_name(std::string(1025, 'a'));
  EXPECT_FALSE(checked.path);
  EXPECT_NE(checked.refusal.find("too long"), std::string::npos) << checked.refusal;
}

}  // namespace
}  // namespace provbox::provisioning
