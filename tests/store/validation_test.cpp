#include "store/validation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>

namespace provbox::store {
namespace {

using ::testing::IsEmpty;
using ::testing::Not;

// An input and a name for it that gtest accepts ([A-Za-z0-9_]).
struct sample {
  const char* name;
  std::string_view text;
};

void PrintTo(const sample& s, std::ostream* os) { *os << '"' << s.text << '"'; }
std::string sample_name(const ::testing::TestParamInfo<sample>& info) { return info.param.name; }

// ---- file patterns -----------------------------------------------------------

class ValidationFilePatternAccepts : public ::testing::TestWithParam<sample> {};

TEST_P(ValidationFilePatternAccepts, ThePattern) {
  std::string why;
  EXPECT_TRUE(is_valid_file_pattern(GetParam().text, &why)) << why;
}

INSTANTIATE_TEST_SUITE_P(Validation, ValidationFilePatternAccepts,
                         ::testing::Values(sample{"flying_voice", "fv$(MAU).conf"},
                                           sample{"seed_http_path", "prov/$PN/$MAU.conf"},
                                           sample{"bare_ma", "$MA.cfg"},
                                           sample{"seed_tftp_path", "cpe/CW$MA.conf"},
                                           sample{"colon_mac", "$MAC.xml"},
                                           sample{"parenthesized_pn", "$(PN)/$(MA).cfg"},
                                           sample{"dotted_name", "a.b/c..d$MA"}),
                         sample_name);

class ValidationFilePatternRefuses : public ::testing::TestWithParam<sample> {};

TEST_P(ValidationFilePatternRefuses, ThePatternAndSaysWhy) {
  std::string why;
  EXPECT_FALSE(is_valid_file_pattern(GetParam().text, &why));
  EXPECT_THAT(why, Not(IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(Validation, ValidationFilePatternRefuses,
                         ::testing::Values(sample{"empty", ""},
                                           sample{"no_mac_macro", "IP542N.conf"},
                                           sample{"pn_only", "$PN.conf"},
                                           sample{"two_mac_macros", "$MA/$MAU.conf"},
                                           sample{"same_mac_macro_twice", "$MA-$MA.conf"},
                                           sample{"substring_offset", "fv$(MAU:4).conf"},
                                           sample{"substring_offset_and_length", "fv$(MAU:0:12).conf"},
                                           sample{"leading_slash", "/fv$(MAU).conf"},
                                           sample{"dot_dot_leading", "../$MA.conf"},
                                           sample{"dot_dot_inside", "prov/../$MA.conf"},
                                           sample{"dot_dot_after_macro", "$PN/../$MA.conf"},
                                           sample{"dot_dot_trailing", "$MA/.."},
                                           sample{"dot_dot_between_macros", "$PN/../$MA"},
                                           sample{"dot_segment_before_macro", "./$PN/$MA"},
                                           sample{"dot_leading", "./$MA.conf"},
                                           sample{"dot_inside", "prov/./$MA.conf"},
                                           sample{"dot_trailing", "$MA.conf/."},
                                           sample{"empty_segment", "prov//$MA.conf"},
                                           sample{"trailing_slash", "$MA.conf/"},
                                           sample{"serial_macro", "$SN/$MA.conf"},
                                           sample{"serial_instead_of_mac", "$SN.conf"},
                                           sample{"ip_macro", "$IP-$MA.conf"},
                                           sample{"user_variable", "$SITE/$MA.conf"},
                                           sample{"escaped_dollar", "$$$MA.conf"},
                                           sample{"stray_dollar", "a$/$MA.conf"},
                                           sample{"unterminated_paren", "$(MAU.conf"},
                                           sample{"backslash", "prov\\$MA.conf"},
                                           sample{"query", "$MA.conf?x=1"},
                                           sample{"fragment", "$MA.conf#x"},
                                           sample{"percent", "%2e%2e/$MA.conf"},
                                           sample{"control_character", "$MA.conf\t"},
                                           sample{"nul", std::string_view("$MA.conf\0", 9)}),
                         sample_name);

TEST(ValidationFilePattern, LongestAllowedPatternIsAccepted) {
  EXPECT_TRUE(is_valid_file_pattern(std::string(253, 'a') + "$MA"));
}

TEST(ValidationFilePattern, PatternOverTheLimitIsRefused) {
  EXPECT_FALSE(is_valid_file_pattern(std::string(254, 'a') + "$MA"));
}

TEST(ValidationFilePattern, WhyIsOptional) { EXPECT_FALSE(is_valid_file_pattern("no-mac.conf")); }

// ---- IPv4 --------------------------------------------------------------------

TEST(ValidationIpv4, AcceptsADottedQuad) { EXPECT_TRUE(is_valid_ipv4("192.168.10.207")); }
TEST(ValidationIpv4, AcceptsTheExtremes) {
  EXPECT_TRUE(is_valid_ipv4("0.0.0.0"));
  EXPECT_TRUE(is_valid_ipv4("255.255.255.255"));
}
TEST(ValidationIpv4, RefusesEmpty) { EXPECT_FALSE(is_valid_ipv4("")); }
TEST(ValidationIpv4, RefusesAnOctetOver255) { EXPECT_FALSE(is_valid_ipv4("192.168.10.256")); }
TEST(ValidationIpv4, RefusesThreeOctets) { EXPECT_FALSE(is_valid_ipv4("192.168.10")); }
TEST(ValidationIpv4, RefusesFiveOctets) { EXPECT_FALSE(is_valid_ipv4("192.168.10.1.1")); }
TEST(ValidationIpv4, RefusesAHostName) { EXPECT_FALSE(is_valid_ipv4("prov.call.com")); }
TEST(ValidationIpv4, RefusesIpv6) { EXPECT_FALSE(is_valid_ipv4("::1")); }
TEST(ValidationIpv4, RefusesSurroundingSpaces) {
  EXPECT_FALSE(is_valid_ipv4(" 192.168.10.1"));
  EXPECT_FALSE(is_valid_ipv4("192.168.10.1 "));
}
TEST(ValidationIpv4, RefusesAPort) { EXPECT_FALSE(is_valid_ipv4("192.168.10.1:80")); }
TEST(ValidationIpv4, RefusesTextAfterAnEmbeddedNul) {
  EXPECT_FALSE(is_valid_ipv4(std::string_view("10.0.0.1\0junk", 13)));
}

// ---- encryption keys ---------------------------------------------------------

TEST(ValidationEncryptionKey, AcceptsTheSeedsKey) { EXPECT_TRUE(is_valid_encryption_key("123456")); }
TEST(ValidationEncryptionKey, AcceptsPunctuation) { EXPECT_TRUE(is_valid_encryption_key("p@ss-w0rd!_x")); }
TEST(ValidationEncryptionKey, RefusesEmpty) { EXPECT_FALSE(is_valid_encryption_key("")); }
TEST(ValidationEncryptionKey, Accepts128Characters) { EXPECT_TRUE(is_valid_encryption_key(std::string(128, 'k'))); }
TEST(ValidationEncryptionKey, Refuses129Characters) { EXPECT_FALSE(is_valid_encryption_key(std::string(129, 'k'))); }
TEST(ValidationEncryptionKey, RefusesASpace) { EXPECT_FALSE(is_valid_encryption_key("12 34")); }
TEST(ValidationEncryptionKey, RefusesBrackets) {
  EXPECT_FALSE(is_valid_encryption_key("12]34"));
  EXPECT_FALSE(is_valid_encryption_key("[1234"));
}
TEST(ValidationEncryptionKey, RefusesControlCharacters) { EXPECT_FALSE(is_valid_encryption_key("12\t34")); }
TEST(ValidationEncryptionKey, RefusesNonAscii) { EXPECT_FALSE(is_valid_encryption_key("clave\xc3\xb1")); }

// ---- values ------------------------------------------------------------------

TEST(ValidationValue, AcceptsEmpty) { EXPECT_TRUE(is_valid_value("")); }
TEST(ValidationValue, AcceptsTabSeparatedLineValues) { EXPECT_TRUE(is_valid_value("1\t0\t0\t0")); }
TEST(ValidationValue, AcceptsMacros) { EXPECT_TRUE(is_valid_value("http://prov/$PN/$(MAU).conf")); }
TEST(ValidationValue, RefusesLineFeed) { EXPECT_FALSE(is_valid_value("1\nDBID_X=2")); }
TEST(ValidationValue, RefusesCarriageReturn) { EXPECT_FALSE(is_valid_value("1\r")); }
TEST(ValidationValue, RefusesNul) { EXPECT_FALSE(is_valid_value(std::string_view("1\0" "2", 3))); }
TEST(ValidationValue, Accepts4096Bytes) { EXPECT_TRUE(is_valid_value(std::string(4096, 'v'))); }
TEST(ValidationValue, Refuses4097Bytes) { EXPECT_FALSE(is_valid_value(std::string(4097, 'v'))); }

// ---- variable names ----------------------------------------------------------

TEST(ValidationVariableName, AcceptsLettersDigitsAndUnderscore) { EXPECT_TRUE(is_valid_variable_name("SIP_proxy2")); }
TEST(ValidationVariableName, RefusesEmpty) { EXPECT_FALSE(is_valid_variable_name("")); }
TEST(ValidationVariableName, RefusesADash) { EXPECT_FALSE(is_valid_variable_name("SIP-PROXY")); }
TEST(ValidationVariableName, RefusesADollar) { EXPECT_FALSE(is_valid_variable_name("$X")); }
TEST(ValidationVariableName, Accepts64Characters) { EXPECT_TRUE(is_valid_variable_name(std::string(64, 'V'))); }
TEST(ValidationVariableName, Refuses65Characters) { EXPECT_FALSE(is_valid_variable_name(std::string(65, 'V'))); }

class ValidationBuiltinVariableName : public ::testing::TestWithParam<std::string_view> {};

TEST_P(ValidationBuiltinVariableName, IsRefused) { EXPECT_FALSE(is_valid_variable_name(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Validation, ValidationBuiltinVariableName,
                         ::testing::Values("MA", "MAU", "MAC", "PN", "SN", "IP", "SWVER", "HWVER"),
                         [](const ::testing::TestParamInfo<std::string_view>& p) { return std::string(p.param); });

// ---- model, group and file names ---------------------------------------------

TEST(ValidationModelName, AcceptsTheSeedsModels) {
  EXPECT_TRUE(is_valid_model_name("IP542N"));
  EXPECT_TRUE(is_valid_model_name("G502N"));
  EXPECT_TRUE(is_valid_model_name("SPA-112"));
  EXPECT_TRUE(is_valid_model_name("spa_112.v2"));
}
TEST(ValidationModelName, RefusesEmpty) { EXPECT_FALSE(is_valid_model_name("")); }
TEST(ValidationModelName, RefusesASpace) { EXPECT_FALSE(is_valid_model_name("VOIP ATA")); }
TEST(ValidationModelName, RefusesASlash) { EXPECT_FALSE(is_valid_model_name("a/b")); }
// $PN can be a path segment of a file pattern (prov/$PN/$MAU.conf).
TEST(ValidationModelName, RefusesDotAndDotDot) {
  EXPECT_FALSE(is_valid_model_name("."));
  EXPECT_FALSE(is_valid_model_name(".."));
}
TEST(ValidationModelName, Accepts64Characters) { EXPECT_TRUE(is_valid_model_name(std::string(64, 'M'))); }
TEST(ValidationModelName, Refuses65Characters) { EXPECT_FALSE(is_valid_model_name(std::string(65, 'M'))); }

TEST(ValidationGroupName, AcceptsAName) { EXPECT_TRUE(is_valid_group_name("office-2")); }
TEST(ValidationGroupName, RefusesEmpty) { EXPECT_FALSE(is_valid_group_name("")); }
TEST(ValidationGroupName, RefusesASpace) { EXPECT_FALSE(is_valid_group_name("front office")); }

TEST(ValidationConfigFileName, AcceptsTheSeedsName) { EXPECT_TRUE(is_valid_config_file_name("IP542N.conf")); }
TEST(ValidationConfigFileName, RefusesEmpty) { EXPECT_FALSE(is_valid_config_file_name("")); }
TEST(ValidationConfigFileName, RefusesAPath) { EXPECT_FALSE(is_valid_config_file_name("prov/IP542N.conf")); }
TEST(ValidationConfigFileName, RefusesABackslash) { EXPECT_FALSE(is_valid_config_file_name("prov\\IP542N.conf")); }
TEST(ValidationConfigFileName, RefusesDotAndDotDot) {
  EXPECT_FALSE(is_valid_config_file_name("."));
  EXPECT_FALSE(is_valid_config_file_name(".."));
}
TEST(ValidationConfigFileName, RefusesControlCharacters) { EXPECT_FALSE(is_valid_config_file_name("a\nb.conf")); }
TEST(ValidationConfigFileName, Refuses129Characters) {
  EXPECT_FALSE(is_valid_config_file_name(std::string(129, 'f')));
}

// ---- free text ---------------------------------------------------------------

TEST(ValidationTextField, AcceptsEmpty) { EXPECT_TRUE(is_valid_text_field("")); }
TEST(ValidationTextField, AcceptsALabel) { EXPECT_TRUE(is_valid_text_field("Reception desk, 2nd floor")); }
TEST(ValidationTextField, AcceptsUtf8) { EXPECT_TRUE(is_valid_text_field("Capacitaci\xc3\xb3n")); }
TEST(ValidationTextField, RefusesALineBreak) { EXPECT_FALSE(is_valid_text_field("a\nb")); }
TEST(ValidationTextField, Accepts256Bytes) { EXPECT_TRUE(is_valid_text_field(std::string(256, 't'))); }
TEST(ValidationTextField, Refuses257Bytes) { EXPECT_FALSE(is_valid_text_field(std::string(257, 't'))); }

}  // namespace
}  // namespace provbox::store
