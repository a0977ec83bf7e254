// Option negotiation (RFC 2347, 2348, 2349, 7440) as a table.
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

#include "tftp/transfer.hpp"

namespace provbox::tftp {
namespace {

using namespace std::chrono_literals;

struct negotiation_case {
  std::string name;
  option_list requested;
  std::optional<std::uint64_t> file_size;
  option_list expected_oack;
  std::size_t expected_blksize = 512;
  unsigned expected_windowsize = 1;
  std::chrono::milliseconds expected_timeout = 1000ms;
};

void PrintTo(const negotiation_case& c, std::ostream* os) { *os << c.name; }

class NegotiateTable : public ::testing::TestWithParam<negotiation_case> {};

TEST_P(NegotiateTable, GivesTheOackAndParameters) {
  const auto& c = GetParam();
  const auto p = negotiate(c.requested, c.file_size);  // default limits: 65464, 64, 1 s
  EXPECT_EQ(p.oack, c.expected_oack);
  EXPECT_EQ(p.blksize, c.expected_blksize);
  EXPECT_EQ(p.windowsize, c.expected_windowsize);
  EXPECT_EQ(p.timeout, c.expected_timeout);
}

const negotiation_case cases[] = {
    {"no_options_means_no_oack", {}, 100, {}},
    {"blksize_within_limit", {{"blksize", "1468"}}, 100, {{"blksize", "1468"}}, 1468},
    {"blksize_minimum_8", {{"blksize", "8"}}, 100, {{"blksize", "8"}}, 8},
    {"blksize_below_8_ignored", {{"blksize", "7"}}, 100, {}},
    {"blksize_zero_ignored", {{"blksize", "0"}}, 100, {}},
    {"blksize_above_rfc_max_capped", {{"blksize", "65535"}}, 100, {{"blksize", "65464"}}, 65464},
    {"blksize_huge_capped", {{"blksize", "4000000000"}}, 100, {{"blksize", "65464"}}, 65464},
    {"blksize_beyond_64_bits_ignored", {{"blksize", "99999999999999999999999"}}, 100, {}},
    {"blksize_leading_zeros_normalised", {{"blksize", "0512"}}, 100, {{"blksize", "512"}}},
    {"blksize_not_a_number_ignored", {{"blksize", "big"}}, 100, {}},
    {"blksize_empty_ignored", {{"blksize", ""}}, 100, {}},
    {"blksize_signed_ignored", {{"blksize", "+1024"}}, 100, {}},
    {"blksize_negative_ignored", {{"blksize", "-1"}}, 100, {}},
    {"blksize_with_space_ignored", {{"blksize", " 1024"}}, 100, {}},
    {"timeout_1", {{"timeout", "1"}}, 100, {{"timeout", "1"}}, 512, 1, 1s},
    {"timeout_255", {{"timeout", "255"}}, 100, {{"timeout", "255"}}, 512, 1, 255s},
    {"timeout_0_ignored", {{"timeout", "0"}}, 100, {}},
    {"timeout_256_ignored", {{"timeout", "256"}}, 100, {}},
    {"tsize_0_gets_size", {{"tsize", "0"}}, 600000, {{"tsize", "600000"}}},
    {"tsize_0_of_empty_file", {{"tsize", "0"}}, 0, {{"tsize", "0"}}},
    {"tsize_unknown_size_ignored", {{"tsize", "0"}}, std::nullopt, {}},
    {"tsize_nonzero_ignored", {{"tsize", "5"}}, 100, {}},
    {"windowsize_16", {{"windowsize", "16"}}, 100, {{"windowsize", "16"}}, 512, 16},
    {"windowsize_1", {{"windowsize", "1"}}, 100, {{"windowsize", "1"}}, 512, 1},
    {"windowsize_capped_at_64", {{"windowsize", "65535"}}, 100, {{"windowsize", "64"}}, 512, 64},
    {"windowsize_0_ignored", {{"windowsize", "0"}}, 100, {}},
    {"windowsize_65536_ignored", {{"windowsize", "65536"}}, 100, {}},
    {"unknown_option_ignored", {{"multicast", ""}}, 100, {}},
    {"unknown_option_ignored_among_known",
     {{"multicast", ""}, {"blksize", "1024"}},
     100,
     {{"blksize", "1024"}},
     1024},
    {"client_order_kept",
     {{"windowsize", "4"}, {"tsize", "0"}, {"blksize", "1024"}, {"timeout", "3"}},
     2048,
     {{"windowsize", "4"}, {"tsize", "2048"}, {"blksize", "1024"}, {"timeout", "3"}},
     1024,
     4,
     3s},
    {"upper_case_names_matched_and_lowered", {{"BLKSIZE", "1024"}}, 100, {{"blksize", "1024"}}, 1024},
    {"first_of_duplicates_wins", {{"blksize", "1024"}, {"blksize", "2048"}}, 100, {{"blksize", "1024"}}, 1024},
};

INSTANTIATE_TEST_SUITE_P(Rfc2347, NegotiateTable, ::testing::ValuesIn(cases),
                         [](const auto& p) { return p.param.name; });

TEST(Negotiate, BlksizeIsCappedAtTheConfiguredMaximum) {
  server_limits limits;
  limits.max_blksize = 1468;
  const auto p = negotiate(option_list{{"blksize", "8192"}}, 100, limits);
  EXPECT_EQ(p.oack, (option_list{{"blksize", "1468"}}));
  EXPECT_EQ(p.blksize, 1468u);
}

TEST(Negotiate, ConfiguredMaximumBelowEightIsRaisedToEight) {
  server_limits limits;
  limits.max_blksize = 2;
  EXPECT_EQ(negotiate(option_list{{"blksize", "512"}}, 100, limits).blksize, 8u);
}

TEST(Negotiate, WindowsizeIsCappedAtTheConfiguredMaximum) {
  server_limits limits;
  limits.max_windowsize = 8;
  EXPECT_EQ(negotiate(option_list{{"windowsize", "16"}}, 100, limits).windowsize, 8u);
}

TEST(Negotiate, WindowIsCappedByTheByteBudget) {
  // 64 KiB by default: 8 blocks of 8192, 44 of 1468, 1 of 65464.
  EXPECT_EQ(negotiate(option_list{{"blksize", "8192"}, {"windowsize", "16"}}, 100).oack,
            (option_list{{"blksize", "8192"}, {"windowsize", "8"}}));
  EXPECT_EQ(negotiate(option_list{{"blksize", "1468"}, {"windowsize", "64"}}, 100).windowsize, 44u);
  EXPECT_EQ(negotiate(option_list{{"blksize", "65464"}, {"windowsize", "4"}}, 100).windowsize, 1u);
}

TEST(Negotiate, ByteBudgetUsesTheBlksizeEvenWhenItComesAfterWindowsize) {
  const auto p = negotiate(option_list{{"windowsize", "64"}, {"blksize", "16384"}}, 100);
  EXPECT_EQ(p.oack, (option_list{{"windowsize", "4"}, {"blksize", "16384"}}));
  EXPECT_EQ(p.windowsize, 4u);
}

TEST(Negotiate, ByteBudgetIsConfigurable) {
  server_limits limits;
  limits.max_window_bytes = 1024 * 1024;
  EXPECT_EQ(negotiate(option_list{{"blksize", "8192"}, {"windowsize", "64"}}, 100, limits).windowsize, 64u);
  limits.max_window_bytes = 0;  // below one block still allows lockstep
  EXPECT_EQ(negotiate(option_list{{"blksize", "8192"}, {"windowsize", "64"}}, 100, limits).windowsize, 1u);
}

TEST(Negotiate, DefaultTimeoutAndRetriesComeFromTheLimits) {
  server_limits limits;
  limits.default_timeout = 2500ms;
  limits.max_retries = 9;
  const auto p = negotiate({}, 100, limits);
  EXPECT_EQ(p.timeout, 2500ms);
  EXPECT_EQ(p.max_retries, 9u);
}

TEST(Negotiate, RequestedTimeoutOverridesTheDefault) {
  server_limits limits;
  limits.default_timeout = 2500ms;
  EXPECT_EQ(negotiate(option_list{{"timeout", "4"}}, 100, limits).timeout, 4s);
}

}  // namespace
}  // namespace provbox::tftp
