#include "server/profile/macro.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace provbox::profile {

// Readable failure output for token vectors.
void PrintTo(const macro_literal& literal, std::ostream* os) {
  *os << "literal{\"" << literal.text << "\"}";
}

void PrintTo(const macro_reference& ref, std::ostream* os) {
  *os << "reference{" << ref.name << ", offset " << ref.offset << ", length ";
  if (ref.length) {
    *os << *ref.length;
  } else {
    *os << "to end";
  }
  *os << ", written \"" << ref.written << "\"}";
}

namespace {

// The device of seed section 3: MAC address 00:21:f2:01:1b:19.
macro_table seed_device() {
  macro_table table;
  table.set("MA", "0021f2011b19");
  table.set("MAU", "0021F2011B19");
  table.set("MAC", "00:21:f2:01:1b:19");
  table.set("PN", "IP542N");
  table.set("SN", "E3C08109000051");
  table.set("IP", "201.45.12.89");
  table.set("SWVER", "v3.3.8");
  table.set("HWVER", "v1.0.1");
  return table;
}

struct expansion_case {
  std::string input;
  std::string expected;
};

void expect_expansions(const std::vector<expansion_case>& cases, const macro_table& table) {
  for (const auto& c : cases) {
    EXPECT_EQ(expand_macros(c.input, table), c.expected) << "input: " << c.input;
  }
}

macro_token lit(std::string text) { return macro_literal{std::move(text)}; }

macro_token ref(std::string name, std::string written, std::size_t offset = 0,
                std::optional<std::size_t> length = std::nullopt) {
  return macro_reference{std::move(name), offset, length, std::move(written)};
}

using tokens = std::vector<macro_token>;

// Every example of seed section 3 and of the Profile Rule URLs (section 2).
TEST(MacroExpansion, SeedExamples) {
  expect_expansions(
      {
          {"$MA", "0021f2011b19"},
          {"$MAU", "0021F2011B19"},
          {"$MAC", "00:21:f2:01:1b:19"},
          {"$(MAC).conf", "00:21:f2:01:1b:19.conf"},
          {"$(MAU)config.cfg", "0021F2011B19config.cfg"},
          {"$STRANGE$MAU.cfg", "$STRANGE0021F2011B19.cfg"},
          {"$$", "$"},
          {"$$MAU", "$MAU"},
          {"$(MAU:4)", "F2011B19"},
          {"$(MAU:8:2)", "1B"},
          {"tftp://prov.call.com/cpe/CW$MA.conf", "tftp://prov.call.com/cpe/CW0021f2011b19.conf"},
          {"http://neptune.speak.net:8080/prov/$PN/$MAU.conf",
           "http://neptune.speak.net:8080/prov/IP542N/0021F2011B19.conf"},
          {"https://192.168.20.17/param_$MAU.conf",
           "https://192.168.20.17/param_0021F2011B19.conf"},
          {"http://www.flyingvoice.com/fv$(MAU).conf",
           "http://www.flyingvoice.com/fv0021F2011B19.conf"},
      },
      seed_device());
}

TEST(MacroExpansion, EveryBuiltinName) {
  expect_expansions(
      {
          {"$PN", "IP542N"},
          {"$SN", "E3C08109000051"},
          {"$IP", "201.45.12.89"},
          {"$SWVER", "v3.3.8"},
          {"$HWVER", "v1.0.1"},
          {"$(PN)-$(SN)-$(IP)-$(SWVER)-$(HWVER)",
           "IP542N-E3C08109000051-201.45.12.89-v3.3.8-v1.0.1"},
      },
      seed_device());
}

TEST(MacroExpansion, NameIsTheLongestRunOfNameCharacters) {
  expect_expansions(
      {
          {"$MAUconfig", "$MAUconfig"},  // names MAUconfig, which is unknown
          {"$MAU_", "$MAU_"},
          {"$MAU9", "$MAU9"},
          {"$MAU.cfg", "0021F2011B19.cfg"},
          {"$MAU-x", "0021F2011B19-x"},
          {"$MA$MA", "0021f2011b190021f2011b19"},
          {"$mau", "$mau"},  // names are case-sensitive
          {"$(mau)", "$(mau)"},
      },
      seed_device());
}

TEST(MacroExpansion, UnknownNamesStayAsWritten) {
  expect_expansions(
      {
          {"$STRANGE", "$STRANGE"},
          {"$(STRANGE)", "$(STRANGE)"},
          {"$(STRANGE:1)", "$(STRANGE:1)"},
          {"$(STRANGE:1:2)", "$(STRANGE:1:2)"},
          {"$(STRANGE:007:2)", "$(STRANGE:007:2)"},  // the written text, not a normalised one
      },
      seed_device());
}

TEST(MacroExpansion, DollarRules) {
  expect_expansions(
      {
          {"", ""},
          {"no macros", "no macros"},
          {"$", "$"},
          {"a$", "a$"},
          {"$$$", "$$"},
          {"$$$$", "$$"},
          {"$$$MA", "$0021f2011b19"},
          {"$$(MAU)", "$(MAU)"},  // the escaped form is not re-expanded either
          {"$ MA", "$ MA"},
          {"$.cfg", "$.cfg"},
          {"$-", "$-"},
          {"100$", "100$"},
      },
      seed_device());
}

TEST(MacroExpansion, Substrings) {
  expect_expansions(
      {
          {"$(MAU:0)", "0021F2011B19"},
          {"$(MAU:0:0)", ""},
          {"$(MAU:11)", "9"},
          {"$(MAU:11:5)", "9"},
          {"$(MAU:12)", ""},  // offset at the end
          {"$(MAU:13)", ""},  // offset past the end
          {"$(MAU:13:2)", ""},
          {"$(MAU:4:100)", "F2011B19"},  // length past the end stops at the end
          {"$(MAU:00004:002)", "F2"},    // leading zeros are still decimal
          {"$(MAC:9)", "01:1b:19"},
          {"fv$(MAU:6)x", "fv011B19x"},
      },
      seed_device());
}

TEST(MacroExpansion, HugeNumbersAreSafelyPastTheEnd) {
  expect_expansions(
      {
          {"$(MAU:99999999999999999999999999999999999999)", ""},
          {"$(MAU:18446744073709551615)", ""},
          {"$(MAU:18446744073709551616)", ""},
          {"$(MAU:2:99999999999999999999999999999999999999)", "21F2011B19"},
          {"$(MAU:0:18446744073709551616)", "0021F2011B19"},
      },
      seed_device());
}

TEST(MacroExpansion, MalformedParenthesesAreLiteral) {
  expect_expansions(
      {
          {"$(", "$("},
          {"$()", "$()"},
          {"$(MAU", "$(MAU"},
          {"$(MAU:", "$(MAU:"},
          {"$(MAU:)", "$(MAU:)"},
          {"$(MAU:x)", "$(MAU:x)"},
          {"$(MAU:4:)", "$(MAU:4:)"},
          {"$(MAU::2)", "$(MAU::2)"},
          {"$(MAU:1:2:3)", "$(MAU:1:2:3)"},
          {"$(MAU:-1)", "$(MAU:-1)"},
          {"$(MAU:+1)", "$(MAU:+1)"},
          {"$( MAU)", "$( MAU)"},
          {"$(MAU )", "$(MAU )"},
          {"$(MAU: 4)", "$(MAU: 4)"},
          {"$(:4)", "$(:4)"},
          {"$(M-A)", "$(M-A)"},
          {"$(MAU}", "$(MAU}"},
      },
      seed_device());
}

// Choice documented in macro.cpp: after a malformed `$(` scanning resumes
// right after those two characters, so references inside still expand.
TEST(MacroExpansion, ScanningResumesAfterMalformedParenthesis) {
  expect_expansions(
      {
          {"$($MA)", "$(0021f2011b19)"},
          {"$(MAU$MA)", "$(MAU0021f2011b19)"},
          {"$(MAU:$(MAU:8:2))", "$(MAU:1B)"},
          {"$($$MA)", "$($MA)"},
          {"$($(MA)", "$(0021f2011b19"},
          {"$(x $MAU)", "$(x 0021F2011B19)"},
      },
      seed_device());
}

TEST(MacroExpansion, ValuesAreNotRescanned) {
  macro_table table;
  table.set("A", "$B");
  table.set("B", "never");
  table.set("C", "$(B)$$");
  expect_expansions(
      {
          {"$A", "$B"},
          {"$(A)", "$B"},
          {"$(C)", "$(B)$$"},
          {"$(C:1)", "(B)$$"},
      },
      table);
}

TEST(MacroExpansion, EmptyTableOnlyCollapsesDoubleDollars) {
  expect_expansions(
      {
          {"$MA$$MAU$(MAC:1:2)$", "$MA$MAU$(MAC:1:2)$"},
          {"$$$$$", "$$$"},
      },
      macro_table{});
}

TEST(MacroExpansion, EmptyValueExpandsToNothing) {
  macro_table table;
  table.set("E", "");
  expect_expansions({{"a$(E)b", "ab"}, {"a$E.b", "a.b"}, {"$(E:0:0)", ""}, {"$(E:3)", ""}},
                    table);
}

TEST(MacroTable, SetReplacesAndSetIfAbsentDoesNot) {
  macro_table table;
  EXPECT_EQ(table.find("PN"), nullptr);
  EXPECT_TRUE(table.set_if_absent("PN", "IP542N"));
  EXPECT_FALSE(table.set_if_absent("PN", "G502N"));
  ASSERT_NE(table.find("PN"), nullptr);
  EXPECT_EQ(*table.find("PN"), "IP542N");
  table.set("PN", "G502N");
  EXPECT_EQ(*table.find("PN"), "G502N");
}

TEST(MacroTable, LookupIsCaseSensitive) {
  macro_table table;
  table.set("MAU", "0021F2011B19");
  EXPECT_EQ(table.find("mau"), nullptr);
  EXPECT_EQ(table.find("MA"), nullptr);
  EXPECT_TRUE(table.set_if_absent("mau", "x"));
}

TEST(MacroBuiltins, SeedNamesAreBuiltin) {
  for (const char* name : {"MA", "MAU", "MAC", "PN", "SN", "IP", "SWVER", "HWVER"}) {
    EXPECT_TRUE(is_builtin_macro(name)) << name;
  }
}

TEST(MacroBuiltins, OtherNamesAreNot) {
  for (const char* name : {"", "STRANGE", "mau", "MA ", "PSN", "EXTIP", "$MA"}) {
    EXPECT_FALSE(is_builtin_macro(name)) << name;
  }
}

TEST(MacroSubstring, FollowsOffsetAndLength) {
  const macro_reference whole{"MAU", 0, std::nullopt, "$MAU"};
  const macro_reference tail{"MAU", 4, std::nullopt, "$(MAU:4)"};
  const macro_reference pair{"MAU", 8, 2, "$(MAU:8:2)"};
  const macro_reference none{"MAU", 0, 0, "$(MAU:0:0)"};
  const macro_reference past{"MAU", 40, 2, "$(MAU:40:2)"};
  EXPECT_EQ(substring_of("0021F2011B19", whole), "0021F2011B19");
  EXPECT_EQ(substring_of("0021F2011B19", tail), "F2011B19");
  EXPECT_EQ(substring_of("0021F2011B19", pair), "1B");
  EXPECT_EQ(substring_of("0021F2011B19", none), "");
  EXPECT_EQ(substring_of("0021F2011B19", past), "");
  EXPECT_EQ(substring_of("", whole), "");
}

TEST(MacroTokenize, EmptyTextHasNoTokens) { EXPECT_EQ(tokenize_macros(""), tokens{}); }

TEST(MacroTokenize, PlainTextIsOneLiteral) {
  EXPECT_EQ(tokenize_macros("IP542N.conf"), tokens{lit("IP542N.conf")});
}

TEST(MacroTokenize, SeedUrl) {
  EXPECT_EQ(tokenize_macros("http://neptune.speak.net:8080/prov/$PN/$MAU.conf"),
            (tokens{lit("http://neptune.speak.net:8080/prov/"), ref("PN", "$PN"), lit("/"),
                    ref("MAU", "$MAU"), lit(".conf")}));
}

TEST(MacroTokenize, ParenthesizedForms) {
  EXPECT_EQ(tokenize_macros("fv$(MAU).conf"),
            (tokens{lit("fv"), ref("MAU", "$(MAU)"), lit(".conf")}));
  EXPECT_EQ(tokenize_macros("$(MAU:4)"), tokens{ref("MAU", "$(MAU:4)", 4)});
  EXPECT_EQ(tokenize_macros("$(MAU:8:2)"), tokens{ref("MAU", "$(MAU:8:2)", 8, 2)});
  EXPECT_EQ(tokenize_macros("$(MAU:0:0)"), tokens{ref("MAU", "$(MAU:0:0)", 0, 0)});
}

TEST(MacroTokenize, HugeNumbersSaturate) {
  constexpr auto max = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(tokenize_macros("$(A:99999999999999999999999:123456789012345678901234567890)"),
            tokens{ref("A", "$(A:99999999999999999999999:123456789012345678901234567890)", max,
                       max)});
}

TEST(MacroTokenize, UnknownNamesAreStillReferences) {
  // Whether a name is known is the table's business, not the tokenizer's.
  EXPECT_EQ(tokenize_macros("$STRANGE$MAU.cfg"),
            (tokens{ref("STRANGE", "$STRANGE"), ref("MAU", "$MAU"), lit(".cfg")}));
}

TEST(MacroTokenize, DoubleDollarMergesIntoNeighbouringLiterals) {
  EXPECT_EQ(tokenize_macros("a$$b"), tokens{lit("a$b")});
  EXPECT_EQ(tokenize_macros("$$MAU"), tokens{lit("$MAU")});
  EXPECT_EQ(tokenize_macros("x$$$MA"), (tokens{lit("x$"), ref("MA", "$MA")}));
}

TEST(MacroTokenize, LoneDollarsAreLiteral) {
  EXPECT_EQ(tokenize_macros("$"), tokens{lit("$")});
  EXPECT_EQ(tokenize_macros("a$ b$"), tokens{lit("a$ b$")});
  EXPECT_EQ(tokenize_macros("$.$-"), tokens{lit("$.$-")});
}

TEST(MacroTokenize, MalformedParenthesisIsLiteralAndScanningResumes) {
  EXPECT_EQ(tokenize_macros("$(MAU:x)"), tokens{lit("$(MAU:x)")});
  EXPECT_EQ(tokenize_macros("$(A:1:2:3)"), tokens{lit("$(A:1:2:3)")});
  EXPECT_EQ(tokenize_macros("$(A"), tokens{lit("$(A")});
  EXPECT_EQ(tokenize_macros("$($MA)"), (tokens{lit("$("), ref("MA", "$MA"), lit(")")}));
  EXPECT_EQ(tokenize_macros("$($(MA))"), (tokens{lit("$("), ref("MA", "$(MA)"), lit(")")}));
}

TEST(MacroTokenize, AdjacentReferencesStaySeparate) {
  EXPECT_EQ(tokenize_macros("$(MA)$MAU$(MAC:1)"),
            (tokens{ref("MA", "$(MA)"), ref("MAU", "$MAU"), ref("MAC", "$(MAC:1)", 1)}));
}

}  // namespace
}  // namespace provbox::profile
