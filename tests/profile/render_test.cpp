#include "server/profile/render.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "server/profile/profile_template.hpp"

namespace provbox::profile {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

// The device of seed section 3.
device_facts seed_device() {
  device_facts d;
  d.mac = *mac_address::parse("0021F2011B19");
  d.product_name = "IP542N";
  d.serial = "E3C08109000051";
  d.ip = "201.45.12.89";
  d.sw_version = "v3.3.8";
  d.hw_version = "v1.0.1";
  return d;
}

render_request request_with(std::vector<profile_entry> template_entries, std::vector<param_layer> layers = {},
                            std::uint64_t version = 10042) {
  render_request r;
  r.template_entries = std::move(template_entries);
  r.layers = std::move(layers);
  r.macros = builtin_macros(seed_device());
  r.dbase_version = version;
  return r;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string_view::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// ---- layout ------------------------------------------------------------------

TEST(RenderLayout, DbaseVersionIsTheFirstLine) {
  const auto out = render_profile(request_with({{"A", "1"}, {"B", "2"}}));
  EXPECT_THAT(out.text, StartsWith("DBID_DBASE_VERSION=10042\n"));
}

TEST(RenderLayout, EmptyProfileIsOnlyTheDbaseVersionLine) {
  EXPECT_EQ(render_profile(request_with({}, {}, 7)).text, "DBID_DBASE_VERSION=7\n");
}

TEST(RenderLayout, DbaseVersionIsFirstEvenWhenOnlyParamsAreGiven) {
  const auto out = render_profile(request_with({}, {{"global", {{"A", "1"}}}}, 3));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=3\nA=1\n");
}

TEST(RenderLayout, KeepsTemplateOrder) {
  const auto out = render_profile(request_with({{"Z", "1"}, {"A", "2"}, {"M", "3"}}, {}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nZ=1\nA=2\nM=3\n");
}

TEST(RenderLayout, KeepsEmptyValues) {
  const auto out = render_profile(request_with({{"A", ""}}, {}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nA=\n");
}

TEST(RenderLayout, KeepsTabSeparatedMultiValues) {
  const auto out = render_profile(request_with({{"DBID_SIP_ENABLE", "1\t0\t0\t0"}}, {}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nDBID_SIP_ENABLE=1\t0\t0\t0\n");
}

TEST(RenderLayout, KeepsTabSeparatedMultiValuesFromParams) {
  const auto out = render_profile(request_with({}, {{"device", {{"DBID_SIP_ACCOUNT", "101\t102\t\t"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nDBID_SIP_ACCOUNT=101\t102\t\t\n");
}

TEST(RenderLayout, OrdinaryProfileHasNoWarnings) {
  const auto out = render_profile(request_with({{"A", "1"}}, {{"global", {{"B", "2"}}}}));
  EXPECT_THAT(out.warnings, IsEmpty());
}

// ---- layering ----------------------------------------------------------------

TEST(RenderLayering, ParamReplacesTemplateLineInPlace) {
  const auto out = render_profile(request_with({{"A", "1"}, {"B", "2"}, {"C", "3"}}, {{"global", {{"B", "x"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nA=1\nB=x\nC=3\n");
}

TEST(RenderLayering, NewKeysFollowTheTemplateSorted) {
  const auto out = render_profile(
      request_with({{"M", "t"}}, {{"global", {{"Z", "1"}, {"A", "2"}}}, {"device", {{"K", "3"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nM=t\nA=2\nK=3\nZ=1\n");
}

TEST(RenderLayering, NewKeysAreSortedByteWise) {
  const auto out = render_profile(request_with({}, {{"global", {{"b", "1"}, {"B", "2"}, {"A_", "3"}, {"A", "4"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nA=4\nA_=3\nB=2\nb=1\n");
}

// The four scopes, least specific first, as the inventory hands them over.
std::vector<param_layer> four_layers(std::string_view key, std::size_t how_many) {
  const char* scopes[] = {"global", "group office", "model IP542N", "device 00:21:f2:01:1b:19"};
  std::vector<param_layer> layers;
  for (std::size_t i = 0; i < how_many; ++i) layers.push_back({scopes[i], {{std::string(key), scopes[i]}}});
  return layers;
}

TEST(RenderLayering, GroupBeatsGlobalForATemplateKey) {
  const auto out = render_profile(request_with({{"K", "template"}}, four_layers("K", 2), 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nK=group office\n");
}

TEST(RenderLayering, ModelBeatsGroupForATemplateKey) {
  const auto out = render_profile(request_with({{"K", "template"}}, four_layers("K", 3), 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nK=model IP542N\n");
}

TEST(RenderLayering, DeviceBeatsModelForATemplateKey) {
  const auto out = render_profile(request_with({{"K", "template"}}, four_layers("K", 4), 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nK=device 00:21:f2:01:1b:19\n");
}

TEST(RenderLayering, GroupBeatsGlobalForANewKey) {
  const auto out = render_profile(request_with({}, four_layers("K", 2), 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nK=group office\n");
}

TEST(RenderLayering, ModelBeatsGroupForANewKey) {
  const auto out = render_profile(request_with({}, four_layers("K", 3), 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nK=model IP542N\n");
}

TEST(RenderLayering, DeviceBeatsModelForANewKey) {
  const auto out = render_profile(request_with({}, four_layers("K", 4), 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nK=device 00:21:f2:01:1b:19\n");
}

TEST(RenderLayering, LessSpecificValueStaysWhenAMoreSpecificLayerDoesNotSetTheKey) {
  const auto out = render_profile(
      request_with({{"A", "t"}}, {{"global", {{"A", "g"}, {"N", "g"}}}, {"device", {{"OTHER", "d"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nA=g\nN=g\nOTHER=d\n");
}

TEST(RenderLayering, EmptyParamValueReplacesTemplateValue) {
  const auto out = render_profile(request_with({{"A", "1"}}, {{"device", {{"A", ""}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nA=\n");
}

// ---- DBID_DBASE_VERSION is provbox's ----------------------------------------

TEST(RenderDbaseVersion, TemplateValueIsReplacedByTheComputedOne) {
  const auto out = render_profile(request_with({{"A", "1"}, {"DBID_DBASE_VERSION", "2207"}, {"B", "2"}}, {}, 10042));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=10042\nA=1\nB=2\n");
}

TEST(RenderDbaseVersion, TemplateThatSetsItGetsAWarning) {
  const auto out = render_profile(request_with({{"DBID_DBASE_VERSION", "2207"}}));
  ASSERT_THAT(out.warnings, SizeIs(1));
  EXPECT_THAT(out.warnings[0], HasSubstr("DBID_DBASE_VERSION"));
}

TEST(RenderDbaseVersion, ParamValueIsReplacedByTheComputedOne) {
  const auto out = render_profile(request_with({{"A", "1"}}, {{"group office", {{"DBID_DBASE_VERSION", "99999"}}}}, 10042));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=10042\nA=1\n");
}

TEST(RenderDbaseVersion, ParamThatSetsItGetsAWarningNamingItsScope) {
  const auto out = render_profile(request_with({}, {{"group office", {{"DBID_DBASE_VERSION", "99999"}}}}));
  ASSERT_THAT(out.warnings, SizeIs(1));
  EXPECT_THAT(out.warnings[0], HasSubstr("group office"));
}

TEST(RenderDbaseVersion, AppearsExactlyOnceWhenTemplateAndParamsBothSetIt) {
  const auto out = render_profile(request_with({{"DBID_DBASE_VERSION", "1"}},
                                               {{"global", {{"DBID_DBASE_VERSION", "2"}}},
                                                {"device", {{"DBID_DBASE_VERSION", "3"}}}},
                                               10042));
  EXPECT_EQ(count_of(out.text, "DBID_DBASE_VERSION="), 1u);
  EXPECT_THAT(out.warnings, SizeIs(3));
}

// ---- macros ------------------------------------------------------------------

TEST(RenderMacros, ExpandsMacrosInTemplateValues) {
  const auto out = render_profile(request_with({{"URL", "http://prov/$PN/$MAU.conf"}}, {}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nURL=http://prov/IP542N/0021F2011B19.conf\n");
}

TEST(RenderMacros, ExpandsMacrosInParamValuesThatReplaceTemplateLines) {
  const auto out = render_profile(request_with({{"NAME", "x"}}, {{"device", {{"NAME", "phone-$(MA:8)"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nNAME=phone-1b19\n");
}

TEST(RenderMacros, ExpandsMacrosInNewKeysValues) {
  const auto out = render_profile(request_with({}, {{"global", {{"SN_COPY", "$SN"}}}}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nSN_COPY=E3C08109000051\n");
}

TEST(RenderMacros, DoesNotExpandMacrosInKeys) {
  const auto out = render_profile(request_with({{"KEY_$MA", "$MA"}}, {}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nKEY_$MA=0021f2011b19\n");
}

TEST(RenderMacros, LeavesUnknownMacrosAsWritten) {
  // Seed section 3: $STRANGE$MAU.cfg macro-expands into $STRANGE0021F2011B19.cfg.
  const auto out = render_profile(request_with({{"F", "$STRANGE$MAU.cfg"}}, {}, 1));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=1\nF=$STRANGE0021F2011B19.cfg\n");
}

TEST(RenderMacros, UsesTheMacrosOfTheRequestIncludingVariables) {
  auto request = request_with({{"PROXY", "$SIP_PROXY:5060"}}, {}, 1);
  request.macros.set("SIP_PROXY", "192.168.10.200");
  EXPECT_EQ(render_profile(request).text, "DBID_DBASE_VERSION=1\nPROXY=192.168.10.200:5060\n");
}

TEST(RenderMacros, DoesNotExpandSubstitutedTextAgain) {
  auto request = request_with({{"V", "$X"}}, {}, 1);
  request.macros.set("X", "$MAU");
  EXPECT_EQ(render_profile(request).text, "DBID_DBASE_VERSION=1\nV=$MAU\n");
}

// ---- built-in macros ---------------------------------------------------------

struct builtin_case {
  const char* name;
  const char* expected;
};

void PrintTo(const builtin_case& c, std::ostream* os) { *os << c.name; }

std::string builtin_case_name(const ::testing::TestParamInfo<builtin_case>& info) { return info.param.name; }

class RenderBuiltinMacros : public ::testing::TestWithParam<builtin_case> {};

TEST_P(RenderBuiltinMacros, HasTheSeedDevicesValue) {
  const auto table = builtin_macros(seed_device());
  const std::string* value = table.find(GetParam().name);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(RenderSeedDevice, RenderBuiltinMacros,
                         ::testing::Values(builtin_case{"MA", "0021f2011b19"}, builtin_case{"MAU", "0021F2011B19"},
                                           builtin_case{"MAC", "00:21:f2:01:1b:19"}, builtin_case{"PN", "IP542N"},
                                           builtin_case{"SN", "E3C08109000051"}, builtin_case{"IP", "201.45.12.89"},
                                           builtin_case{"SWVER", "v3.3.8"}, builtin_case{"HWVER", "v1.0.1"}),
                         builtin_case_name);

TEST(RenderBuiltinMacroTable, DefinesEveryBuiltinName) {
  const auto table = builtin_macros(seed_device());
  for (const auto name : builtin_macro_names) EXPECT_NE(table.find(name), nullptr) << name;
}

TEST(RenderBuiltinMacroTable, UnknownFactIsAnEmptyValueNotAnUnknownMacro) {
  device_facts d = seed_device();
  d.serial.clear();
  const auto table = builtin_macros(d);
  ASSERT_NE(table.find("SN"), nullptr);
  EXPECT_EQ(*table.find("SN"), "");
}

TEST(RenderBuiltinMacroTable, DefinesNothingElse) {
  EXPECT_EQ(builtin_macros(seed_device()).find("STRANGE"), nullptr);
}

// ---- seed section 5 ----------------------------------------------------------

// param.conf of seed section 5, without its table's comment column. The seed
// says line 1..4 values are tab separated, so DBID_SIP_ENABLE uses tabs.
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

// Everything after the first line: what an operator keeps in a template.
std::string_view seed_body() { return seed_param_conf.substr(seed_param_conf.find('\n') + 1); }

std::vector<profile_entry> parsed(std::string_view text) {
  auto result = parse_template(text);
  EXPECT_TRUE(result.ok());
  return result.entries;
}

TEST(RenderSeedExample, ReproducesParamConfExactly) {
  const auto out = render_profile(request_with(parsed(seed_body()), {}, 2207));
  EXPECT_EQ(out.text, seed_param_conf);
  EXPECT_THAT(out.warnings, IsEmpty());
}

TEST(RenderSeedExample, TemplateCopiedWithItsVersionLineGetsTheComputedVersion) {
  const auto out = render_profile(request_with(parsed(seed_param_conf), {}, 2208));
  EXPECT_EQ(out.text, "DBID_DBASE_VERSION=2208\n" + std::string(seed_body()));
}

TEST(RenderSeedExample, PerDeviceAccountFromParamsWithAGlobalServer) {
  // The template keeps the shared lines, the account lives in device params.
  const auto out = render_profile(request_with(
      parsed("DBID_IPMODE=0\n"
             "DBID_SIP_ENABLE=1\t0\t0\t0\n"
             "DBID_WEB_SIP_SERVER=0.0.0.0\n"
             "DBID_SIP_ACCOUNT=\n"
             "DBID_SIP_PASSWORD=\n"),
      {{"global", {{"DBID_WEB_SIP_SERVER", "192.168.10.200"}}},
       {"device 00:21:f2:01:1b:19",
        {{"DBID_SIP_ACCOUNT", "23103"}, {"DBID_SIP_PASSWORD", "23103"}, {"DBID_SIP_DIS_NAME", "23103_$(MAU:8)"}}}},
      2207));
  EXPECT_EQ(out.text,
            "DBID_DBASE_VERSION=2207\n"
            "DBID_IPMODE=0\n"
            "DBID_SIP_ENABLE=1\t0\t0\t0\n"
            "DBID_WEB_SIP_SERVER=192.168.10.200\n"
            "DBID_SIP_ACCOUNT=23103\n"
            "DBID_SIP_PASSWORD=23103\n"
            "DBID_SIP_DIS_NAME=23103_1B19\n");
}

}  // namespace
}  // namespace provbox::profile
