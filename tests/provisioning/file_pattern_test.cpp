// A model's file name pattern inverted: which MAC does a requested path
// name? Macros match exactly what the device expands them to, letter case
// included.
#include "server/provisioning/file_pattern.hpp"

#include <gtest/gtest.h>

namespace provbox::provisioning {
namespace {

const profile::mac_address phone = *profile::mac_address::parse("00:21:f2:01:1b:19");

TEST(match_file_pattern, mau_matches_upper_case_hex) {
  const auto mac = match_file_pattern("fv$(MAU).conf", "fv0021F2011B19.conf", "IP542N");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, phone);
}

TEST(match_file_pattern, mau_refuses_lower_case_hex) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "fv0021f2011b19.conf", "IP542N"));
}

TEST(match_file_pattern, mau_refuses_eleven_digits) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "fv0021F2011B1.conf", "IP542N"));
}

TEST(match_file_pattern, mau_refuses_thirteen_digits) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "fv0021F2011B190.conf", "IP542N"));
}

TEST(match_file_pattern, trailing_text_after_the_pattern_is_refused) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "fv0021F2011B19.conf.bak", "IP542N"));
}

TEST(match_file_pattern, a_different_prefix_is_refused) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "FV0021F2011B19.conf", "IP542N"));
}

TEST(match_file_pattern, ma_without_parentheses_matches_lower_case_hex) {
  const auto mac = match_file_pattern("$MA.cfg", "0021f2011b19.cfg", "SPA504G");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, phone);
}

TEST(match_file_pattern, ma_refuses_upper_case_hex) {
  EXPECT_FALSE(match_file_pattern("$MA.cfg", "0021F2011B19.cfg", "SPA504G"));
}

TEST(match_file_pattern, ma_accepts_digit_only_addresses) {
  // Digits have no case: both $MA and $MAU take them.
  const auto expected = *profile::mac_address::parse("001122334455");
  EXPECT_EQ(match_file_pattern("$MA.cfg", "001122334455.cfg", "SPA504G"), expected);
  EXPECT_EQ(match_file_pattern("$MAU.cfg", "001122334455.cfg", "SPA504G"), expected);
}

TEST(match_file_pattern, mac_matches_the_lower_case_colon_form) {
  const auto mac = match_file_pattern("$(MAC).cfg", "00:21:f2:01:1b:19.cfg", "SPA504G");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, phone);
}

TEST(match_file_pattern, mac_refuses_bare_hex) {
  EXPECT_FALSE(match_file_pattern("$(MAC).cfg", "0021f2011b19.cfg", "SPA504G"));
}

TEST(match_file_pattern, mac_refuses_dashes) {
  EXPECT_FALSE(match_file_pattern("$(MAC).cfg", "00-21-f2-01-1b-19.cfg", "SPA504G"));
}

TEST(match_file_pattern, mac_refuses_upper_case) {
  EXPECT_FALSE(match_file_pattern("$(MAC).cfg", "00:21:F2:01:1B:19.cfg", "SPA504G"));
}

TEST(match_file_pattern, product_name_and_mac_in_folders) {
  const auto mac = match_file_pattern("prov/$PN/$MAU.conf", "prov/IP542N/0021F2011B19.conf", "IP542N");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, phone);
}

TEST(match_file_pattern, product_name_of_another_model_is_refused) {
  EXPECT_FALSE(match_file_pattern("prov/$PN/$MAU.conf", "prov/G502N/0021F2011B19.conf", "IP542N"));
}

TEST(match_file_pattern, product_name_is_case_sensitive) {
  EXPECT_FALSE(match_file_pattern("prov/$PN/$MAU.conf", "prov/ip542n/0021F2011B19.conf", "IP542N"));
}

TEST(match_file_pattern, literal_prefix_then_ma) {
  const auto mac = match_file_pattern("CW$MA.conf", "CW0021f2011b19.conf", "CW");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, phone);
}

TEST(match_file_pattern, literal_prefix_is_case_sensitive) {
  EXPECT_FALSE(match_file_pattern("CW$MA.conf", "cw0021f2011b19.conf", "CW"));
}

TEST(match_file_pattern, a_pattern_without_a_mac_names_no_device) {
  EXPECT_FALSE(match_file_pattern("$PN.conf", "IP542N.conf", "IP542N"));
}

TEST(match_file_pattern, a_path_shorter_than_the_mac_is_refused) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "fv0021", "IP542N"));
}

TEST(match_file_pattern, the_empty_path_is_refused) {
  EXPECT_FALSE(match_file_pattern("fv$(MAU).conf", "", "IP542N"));
}

}  // namespace
}  // namespace provbox::provisioning
