#include "server/profile/mac_address.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace provbox::profile {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The device of seed section 3: 0021F2011B19.
constexpr mac_address::bytes_type seed_bytes{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19};

// A spelling and a name for it that gtest accepts ([A-Za-z0-9_]).
struct spelling {
  const char* name;
  const char* text;
};

void PrintTo(const spelling& s, std::ostream* os) { *os << '"' << s.text << '"'; }

std::string spelling_name(const ::testing::TestParamInfo<spelling>& info) { return info.param.name; }

// ---- accepted spellings ------------------------------------------------------

class MacAddressAcceptedSpelling : public ::testing::TestWithParam<spelling> {};

TEST_P(MacAddressAcceptedSpelling, ParsesToTheSeedAddress) {
  const auto mac = mac_address::parse(GetParam().text);
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(mac->bytes(), seed_bytes);
}

INSTANTIATE_TEST_SUITE_P(
    MacAddress, MacAddressAcceptedSpelling,
    ::testing::Values(spelling{"colon_upper", "00:21:F2:01:1B:19"},
                      spelling{"colon_lower", "00:21:f2:01:1b:19"},
                      spelling{"colon_mixed_case", "00:21:F2:01:1b:19"},
                      spelling{"dash_lower", "00-21-f2-01-1b-19"},
                      spelling{"dash_upper", "00-21-F2-01-1B-19"},
                      spelling{"bare_lower", "0021f2011b19"},
                      spelling{"bare_upper", "0021F2011B19"},
                      spelling{"bare_mixed_case", "0021F2011b19"},
                      spelling{"cisco_dots_lower", "0021.f201.1b19"},
                      spelling{"cisco_dots_upper", "0021.F201.1B19"},
                      spelling{"cisco_dots_mixed_case", "0021.f201.1B19"}),
    spelling_name);

TEST(MacAddressParse, DifferentSpellingsCompareEqual) {
  EXPECT_EQ(mac_address::parse("00-21-f2-01-1b-19"), mac_address::parse("0021.F201.1B19"));
}

TEST(MacAddressParse, DifferentAddressesCompareUnequal) {
  EXPECT_NE(mac_address::parse("0021f2011b19"), mac_address::parse("0021f2011b1a"));
}

// ---- rejected spellings ------------------------------------------------------

class MacAddressRejectedSpelling : public ::testing::TestWithParam<spelling> {};

TEST_P(MacAddressRejectedSpelling, IsNotAnAddress) { EXPECT_EQ(mac_address::parse(GetParam().text), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(
    MacAddress, MacAddressRejectedSpelling,
    ::testing::Values(spelling{"empty", ""},
                      spelling{"colon_then_dash", "00:21-f2:01:1b:19"},
                      spelling{"dash_then_colon", "00-21:f2-01-1b-19"},
                      spelling{"colon_then_dot", "00:21:f2.01:1b:19"},
                      spelling{"dots_between_pairs", "00.21.f2.01.1b.19"},
                      spelling{"bare_eleven_digits", "0021f2011b1"},
                      spelling{"bare_thirteen_digits", "0021f2011b190"},
                      spelling{"colon_five_octets", "00:21:f2:01:1b"},
                      spelling{"colon_seven_octets", "00:21:f2:01:1b:19:20"},
                      spelling{"colon_single_digit_octet", "0:21:f2:01:1b:19"},
                      spelling{"colon_misplaced", "00:21f:2:01:1b:19"},
                      spelling{"colon_leading", ":00:21:f2:01:1b:19"},
                      spelling{"colon_trailing", "00:21:f2:01:1b:19:"},
                      spelling{"colon_double", "00::21:f2:01:1b:1"},
                      spelling{"dash_trailing", "00-21-f2-01-1b-19-"},
                      spelling{"dot_leading", ".0021f201.1b19"},
                      spelling{"dot_trailing", "0021.f2011b19."},
                      spelling{"dot_double", "0021..f2011b19"},
                      spelling{"dot_one_separator", "0021.f2011b19"},
                      spelling{"dot_misplaced", "0021f.201.1b19"},
                      spelling{"dot_three_groups_too_short", "0021.f201.1b1"},
                      spelling{"non_hex_bare", "0021f2011b1g"},
                      spelling{"non_hex_colon", "00:21:f2:01:1b:1z"},
                      spelling{"spaces_between_octets", "00 21 f2 01 1b 19"},
                      spelling{"space_inside_bare", "0021f2 11b19"},
                      spelling{"space_leading", " 0021f2011b19"},
                      spelling{"space_trailing", "0021f2011b19 "},
                      spelling{"hex_prefix", "0x0021f2011b19"},
                      spelling{"hex_prefix_short", "0x21f2011b19"}),
    spelling_name);

TEST(MacAddressParse, RefusesEmbeddedNulInsteadOfADigit) {
  EXPECT_EQ(mac_address::parse(std::string_view("0021f2011b1\0", 12)), std::nullopt);
}

// ---- formats -----------------------------------------------------------------

TEST(MacAddressFormat, LowerHexIsTheMaForm) {
  EXPECT_EQ(mac_address::parse("00:21:F2:01:1B:19")->lower_hex(), "0021f2011b19");
}

TEST(MacAddressFormat, UpperHexIsTheMauForm) {
  EXPECT_EQ(mac_address::parse("00:21:f2:01:1b:19")->upper_hex(), "0021F2011B19");
}

TEST(MacAddressFormat, ColonLowerIsTheMacForm) {
  EXPECT_EQ(mac_address::parse("0021.F201.1B19")->colon_lower(), "00:21:f2:01:1b:19");
}

TEST(MacAddressFormat, KeepsLeadingZeroNibbles) {
  const mac_address mac({0x0a, 0x00, 0x01, 0x02, 0x0f, 0xf0});
  EXPECT_EQ(mac.colon_lower(), "0a:00:01:02:0f:f0");
}

TEST(MacAddressFormat, ColonLowerParsesBackToTheSameAddress) {
  const auto mac = mac_address::parse("AC-DE-48-00-11-22");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac_address::parse(mac->colon_lower()), mac);
}

// ---- device addresses --------------------------------------------------------

TEST(MacAddressParseDevice, AcceptsAUnicastAddress) {
  std::string error;
  const auto mac = mac_address::parse_device("00:21:F2:01:1B:19", error);
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->bytes(), seed_bytes);
}

TEST(MacAddressParseDevice, AcceptsALocallyAdministeredUnicastAddress) {
  std::string error;
  EXPECT_TRUE(mac_address::parse_device("02:00:00:00:00:01", error)) << error;
}

TEST(MacAddressParseDevice, RefusesAllZeroWithAMessage) {
  std::string error;
  EXPECT_EQ(mac_address::parse_device("00:00:00:00:00:00", error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("00:00:00:00:00:00"));
}

TEST(MacAddressParseDevice, RefusesBroadcastWithAMessage) {
  std::string error;
  EXPECT_EQ(mac_address::parse_device("FF:FF:FF:FF:FF:FF", error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("broadcast"));
}

TEST(MacAddressParseDevice, RefusesIpv4MulticastWithAMessage) {
  std::string error;
  EXPECT_EQ(mac_address::parse_device("01:00:5e:00:00:fb", error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("multicast"));
}

TEST(MacAddressParseDevice, RefusesAnyAddressWithTheGroupBitSet) {
  std::string error;
  EXPECT_EQ(mac_address::parse_device("33:33:00:00:00:01", error), std::nullopt);
  EXPECT_THAT(error, Not(IsEmpty()));
}

TEST(MacAddressParseDevice, RefusesAnUnparsableTextNamingIt) {
  std::string error;
  EXPECT_EQ(mac_address::parse_device("00:21-f2:01:1b:19", error), std::nullopt);
  EXPECT_THAT(error, HasSubstr("'00:21-f2:01:1b:19'"));
}

}  // namespace
}  // namespace provbox::profile
