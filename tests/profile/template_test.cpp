#include "server/profile/profile_template.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace provbox::profile {

void PrintTo(const profile_entry& entry, std::ostream* os) {
  *os << "{\"" << entry.key << "\", \"" << entry.value << "\"}";
}

void PrintTo(const template_error& error, std::ostream* os) { *os << to_string(error); }

namespace {

using ::testing::HasSubstr;
using entries = std::vector<profile_entry>;

// The param.conf of seed section 5, as a file would hold it.
constexpr std::string_view seed_param_conf =
    "DBID_DBASE_VERSION=2207\n"
    "DBID_IPMODE=0\n"
    "DBID_FIXED_IP_ADDR=192.168.10.207\n"
    "DBID_SUBNET_MASK=255.255.255.0\n"
    "DBID_DFLT_GW_IP_ADDR=192.168.10.1\n"
    "DBID_SIP_ENABLE=1\t0\t0\t0\n"
    "DBID_WEB_SIP_SERVER=192.168.10.200\n"
    "DBID_WEB_SIP_SERVER_PORT=5060\n"
    "DBID_WEB_SIP_OUTBOUND=192.168.10.201\n"
    "DBID_WEB_SIP_OUTBOUND_PORT=5060\n"
    "DBID_WEB_SIP_OUTBOUND_BACKUP=192.168.10.202\n"
    "DBID_WEB_SIP_OUTBOUND_BACKUP_PORT=5060\n"
    "DBID_SIP_DIS_NAME=23103_name\n"
    "DBID_SIP_PHONE_NUM=23103\n"
    "DBID_SIP_ACCOUNT=23103\n"
    "DBID_SIP_PASSWORD=23103\n"
    "DBID_PRV_OPTION66_ENABLED=0\n";

const entries seed_entries = {
    {"DBID_DBASE_VERSION", "2207"},
    {"DBID_IPMODE", "0"},
    {"DBID_FIXED_IP_ADDR", "192.168.10.207"},
    {"DBID_SUBNET_MASK", "255.255.255.0"},
    {"DBID_DFLT_GW_IP_ADDR", "192.168.10.1"},
    {"DBID_SIP_ENABLE", "1\t0\t0\t0"},
    {"DBID_WEB_SIP_SERVER", "192.168.10.200"},
    {"DBID_WEB_SIP_SERVER_PORT", "5060"},
    {"DBID_WEB_SIP_OUTBOUND", "192.168.10.201"},
    {"DBID_WEB_SIP_OUTBOUND_PORT", "5060"},
    {"DBID_WEB_SIP_OUTBOUND_BACKUP", "192.168.10.202"},
    {"DBID_WEB_SIP_OUTBOUND_BACKUP_PORT", "5060"},
    {"DBID_SIP_DIS_NAME", "23103_name"},
    {"DBID_SIP_PHONE_NUM", "23103"},
    {"DBID_SIP_ACCOUNT", "23103"},
    {"DBID_SIP_PASSWORD", "23103"},
    {"DBID_PRV_OPTION66_ENABLED", "0"},
};

std::string with_crlf(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// Parses text expected to hold exactly one error and returns it.
template_error single_error(std::string_view text) {
  const auto result = parse_template(text);
  EXPECT_EQ(result.errors.size(), 1u) << text;
  return result.errors.empty() ? template_error{} : result.errors.front();
}

TEST(TemplateParse, SeedParamConfKeepsOrderAndTabs) {
  const auto result = parse_template(seed_param_conf);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, seed_entries);
}

TEST(TemplateParse, CrlfLinesGiveTheSameEntries) {
  const auto result = parse_template(with_crlf(seed_param_conf));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, seed_entries);
}

TEST(TemplateParse, OnlyOneTrailingCarriageReturnIsRemoved) {
  const auto result = parse_template("A=1\r\r\nB=x\ry\r\n");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, (entries{{"A", "1\r"}, {"B", "x\ry"}}));
}

TEST(TemplateParse, LastLineNeedsNoNewline) {
  const auto result = parse_template("A=1\nB=2");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, (entries{{"A", "1"}, {"B", "2"}}));
}

TEST(TemplateParse, EmptyInputHasNoEntries) {
  const auto result = parse_template("");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(result.entries.empty());
}

TEST(TemplateParse, CommentsAndBlankLinesAreDropped) {
  const auto result = parse_template(
      "# param.conf for the lab\n"
      "\n"
      "   \t \n"
      "  \t# indented comment\n"
      "\r\n"
      "#NOT_A_KEY=1\n"
      "DBID_IPMODE=0\n"
      "# trailing comment");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, (entries{{"DBID_IPMODE", "0"}}));
}

TEST(TemplateParse, HashInsideAValueIsKept) {
  const auto result = parse_template("DBID_SIP_PASSWORD=ab#cd # not a comment\n");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, (entries{{"DBID_SIP_PASSWORD", "ab#cd # not a comment"}}));
}

TEST(TemplateParse, KeyIsTrimmedValueIsVerbatim) {
  const auto result = parse_template(" \tDBID_SIP_DIS_NAME \t=  Front Desk \t\n");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries, (entries{{"DBID_SIP_DIS_NAME", "  Front Desk \t"}}));
}

TEST(TemplateParse, ValueKeepsLaterEqualsSigns) {
  const auto result = parse_template("URL=http://h/p?a=1&b=2\nEMPTY=\nEQ==\n");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries,
            (entries{{"URL", "http://h/p?a=1&b=2"}, {"EMPTY", ""}, {"EQ", "="}}));
}

TEST(TemplateParse, ValueKeepsMacrosUntouched) {
  const auto result = parse_template("PROFILE_RULE=http://h/fv$(MAU).conf\n");
  EXPECT_EQ(result.entries, (entries{{"PROFILE_RULE", "http://h/fv$(MAU).conf"}}));
}

TEST(TemplateParse, MissingEqualsIsAnError) {
  const auto error = single_error("A=1\nDBID_IPMODE 0\n");
  EXPECT_EQ(error.line, 2u);
  EXPECT_EQ(error.message, "missing '=' (expected KEY=VALUE)");
}

TEST(TemplateParse, InvalidKeyIsAnError) {
  const auto error = single_error("\n\nDBID IPMODE=0\n");
  EXPECT_EQ(error.line, 3u);
  EXPECT_EQ(error.message, "invalid key 'DBID IPMODE'");
  EXPECT_EQ(to_string(error), "line 3: invalid key 'DBID IPMODE'");
}

TEST(TemplateParse, EmptyKeyIsAnError) {
  const auto error = single_error("  =value\n");
  EXPECT_EQ(error.line, 1u);
  EXPECT_EQ(error.message, "invalid key ''");
}

TEST(TemplateParse, TooLongKeyIsAnErrorWithAShortenedQuote) {
  const std::string key(129, 'K');
  const auto error = single_error(key + "=1\n");
  EXPECT_EQ(error.line, 1u);
  EXPECT_EQ(error.message, "invalid key '" + std::string(64, 'K') + "...'");
}

TEST(TemplateParse, ControlBytesInAKeyAreEscapedInTheMessage) {
  const auto error = single_error("A\x01\xff=1\n");
  EXPECT_EQ(error.message, "invalid key 'A\\x01\\xff'");
}

TEST(TemplateParse, DuplicateKeyNamesTheFirstLine) {
  const auto result = parse_template("A=1\nB=2\n# c\nA=3\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 4u);
  EXPECT_THAT(result.errors[0].message, HasSubstr("'A'"));
  EXPECT_THAT(result.errors[0].message, HasSubstr("line 1"));
  // The first value stands; the duplicate is not added.
  EXPECT_EQ(result.entries, (entries{{"A", "1"}, {"B", "2"}}));
}

TEST(TemplateParse, KeysDifferingInCaseAreDistinct) {
  const auto result = parse_template("a=1\nA=2\n");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.entries.size(), 2u);
}

TEST(TemplateParse, NulByteIsAnError) {
  using namespace std::string_literals;
  const auto error = single_error("A=1\nB=x\0y\n"s);
  EXPECT_EQ(error.line, 2u);
  EXPECT_THAT(error.message, HasSubstr("NUL"));
}

TEST(TemplateParse, NulByteInACommentIsAnErrorToo) {
  using namespace std::string_literals;
  EXPECT_EQ(single_error("# a\0b\n"s).line, 1u);
}

TEST(TemplateParse, EveryErrorIsCollected) {
  using namespace std::string_literals;
  const auto result = parse_template(
      "A=1\n"
      "no equals\n"
      "bad key=1\n"
      "A=2\n"
      "C=\0\n"
      "D=4\n"s);
  ASSERT_EQ(result.errors.size(), 4u);
  EXPECT_EQ(result.errors[0].line, 2u);
  EXPECT_EQ(result.errors[1].line, 3u);
  EXPECT_EQ(result.errors[2].line, 4u);
  EXPECT_EQ(result.errors[3].line, 5u);
  EXPECT_FALSE(result.ok());
  // Valid lines are still parsed, so a caller can show what it understood.
  EXPECT_EQ(result.entries, (entries{{"A", "1"}, {"D", "4"}}));
}

TEST(TemplateKey, ValidKeys) {
  for (const char* key : {"A", "DBID_SIP_ENABLE", "a.b-c_9", "0", "-", "."}) {
    EXPECT_TRUE(is_valid_key(key)) << key;
  }
  EXPECT_TRUE(is_valid_key(std::string(128, 'k')));
}

TEST(TemplateKey, InvalidKeys) {
  for (const char* key : {"", " A", "A B", "A=B", "A\t", "A#", "$MA", "A/B", "\xc3\xa9"}) {
    EXPECT_FALSE(is_valid_key(key)) << key;
  }
  EXPECT_FALSE(is_valid_key(std::string(129, 'k')));
}

}  // namespace
}  // namespace provbox::profile
