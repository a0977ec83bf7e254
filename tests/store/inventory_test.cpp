#include "store/inventory.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/profile/macro.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using test_support::dump;
using test_support::temp_folder;

profile::mac_address mac_of(const char* text) { return *profile::mac_address::parse(text); }

const profile::mac_address mac_a = mac_of("00:21:f2:01:1b:19");
const profile::mac_address mac_b = mac_of("00:21:f2:01:1b:1a");
const profile::mac_address mac_c = mac_of("00:21:f2:01:1b:1b");

std::vector<std::string> names_of(const std::vector<scoped_value>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v.where.describe() + " " + v.name + "=" + v.value);
  return out;
}

std::vector<std::string> macs_of(const std::vector<device_record>& devices) {
  std::vector<std::string> out;
  for (const auto& d : devices) out.push_back(d.mac.colon_lower());
  return out;
}

class InventoryTest : public ::testing::Test {
protected:
  void SetUp() override {
    inv_.add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, "DBID_IPMODE=0\n"});
    inv_.add_model({"G502N", "G502N.conf", {}, ""});
  }

  device_record device(const profile::mac_address& mac, std::string model = "IP542N", std::string group = "") {
    device_record d;
    d.mac = mac;
    d.model = std::move(model);
    d.group = std::move(group);
    return d;
  }

  temp_folder folder_;
  inventory inv_{folder_.file("provbox.db")};
};

// ---- models ------------------------------------------------------------------

using InventoryModels = InventoryTest;

TEST_F(InventoryModels, AddedModelIsFoundWithEveryField) {
  inv_.add_model({"SPA-112", "spa112.cfg", {"spa$MA.cfg", "cisco/$MAU.xml"}, "A=1\nB=2\n"});
  const auto m = inv_.find_model("SPA-112");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "SPA-112");
  EXPECT_EQ(m->config_file, "spa112.cfg");
  EXPECT_THAT(m->patterns, ElementsAre("spa$MA.cfg", "cisco/$MAU.xml"));
  EXPECT_EQ(m->template_text, "A=1\nB=2\n");
}

TEST_F(InventoryModels, LookupIgnoresCaseAndGivesTheStoredName) {
  const auto m = inv_.find_model("ip542n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "IP542N");
}

TEST_F(InventoryModels, UnknownModelIsNotFound) { EXPECT_EQ(inv_.find_model("SPA-112"), std::nullopt); }

TEST_F(InventoryModels, SameNameInOtherCaseIsRefused) {
  EXPECT_THROW(inv_.add_model({"ip542n", "x.conf", {}, ""}), store_error);
}

TEST_F(InventoryModels, InvalidNameIsRefused) {
  EXPECT_THROW(inv_.add_model({"IP 542", "x.conf", {}, ""}), store_error);
}

TEST_F(InventoryModels, InvalidConfigFileIsRefused) {
  EXPECT_THROW(inv_.add_model({"X", "../x.conf", {}, ""}), store_error);
}

TEST_F(InventoryModels, InvalidPatternIsRefused) {
  EXPECT_THROW(inv_.add_model({"X", "x.conf", {"x.conf"}, ""}), store_error);
}

TEST_F(InventoryModels, InvalidTemplateIsRefused) {
  EXPECT_THROW(inv_.add_model({"X", "x.conf", {}, "A=1\nA=2\n"}), store_error);
}

TEST_F(InventoryModels, ListIsSortedByName) {
  inv_.add_model({"A100", "a.conf", {}, ""});
  const auto models = inv_.list_models();
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  EXPECT_THAT(names, ElementsAre("A100", "G502N", "IP542N"));
}

TEST_F(InventoryModels, UpdateChangesOnlyTheGivenFields) {
  inv_.update_model("IP542N", {.config_file = "ip.conf"});
  const auto m = inv_.find_model("IP542N");
  EXPECT_EQ(m->config_file, "ip.conf");
  EXPECT_THAT(m->patterns, ElementsAre("fv$(MAU).conf"));
  EXPECT_EQ(m->template_text, "DBID_IPMODE=0\n");
}

TEST_F(InventoryModels, UpdateReplacesThePatternsInOrder) {
  inv_.update_model("IP542N", {.patterns = std::vector<std::string>{"b/$MA.conf", "a/$MAC.conf"}});
  EXPECT_THAT(inv_.find_model("IP542N")->patterns, ElementsAre("b/$MA.conf", "a/$MAC.conf"));
}

TEST_F(InventoryModels, UpdateWithEmptyPatternListRemovesThem) {
  inv_.update_model("IP542N", {.patterns = std::vector<std::string>{}});
  EXPECT_THAT(inv_.find_model("IP542N")->patterns, IsEmpty());
}

TEST_F(InventoryModels, UpdateFindsTheModelInAnyCase) {
  inv_.update_model("ip542N", {.template_text = "X=1\n"});
  EXPECT_EQ(inv_.find_model("IP542N")->template_text, "X=1\n");
}

TEST_F(InventoryModels, UpdateWithInvalidTemplateIsRefusedAndChangesNothing) {
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.update_model("IP542N", {.template_text = "no equals sign\n"}), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryModels, UpdateOfUnknownModelIsRefused) {
  EXPECT_THROW(inv_.update_model("SPA-112", {.config_file = "x.conf"}), store_error);
}

TEST_F(InventoryModels, RemoveDeletesTheModel) {
  inv_.remove_model("g502n");
  EXPECT_EQ(inv_.find_model("G502N"), std::nullopt);
}

TEST_F(InventoryModels, RemoveIsRefusedWhileDevicesUseIt) {
  inv_.add_device(device(mac_a));
  EXPECT_THROW(inv_.remove_model("IP542N"), store_error);
}

TEST_F(InventoryModels, RefusedRemoveChangesNothing) {
  inv_.add_device(device(mac_a));
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.remove_model("IP542N"), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryModels, RemoveDeletesItsParamsAndVariables) {
  inv_.set_param(scope::model("G502N"), "A", "1");
  inv_.set_variable(scope::model("G502N"), "V", "1");
  inv_.remove_model("G502N");
  EXPECT_THAT(inv_.list_params(), IsEmpty());
  EXPECT_THAT(inv_.list_variables(), IsEmpty());
}

TEST_F(InventoryModels, RemoveOfUnknownModelIsRefused) { EXPECT_THROW(inv_.remove_model("SPA-112"), store_error); }

// ---- devices -----------------------------------------------------------------

using InventoryDevices = InventoryTest;

TEST_F(InventoryDevices, AddedDeviceIsFoundWithEveryField) {
  device_record d = device(mac_a, "IP542N", "office");
  d.serial = "E3C08109000051";
  d.hw_version = "v1.0.1";
  d.sw_version = "v3.3.8";
  d.label = "reception desk";
  d.static_ip = "192.168.10.207";
  d.encryption_key = "123456";
  d.enabled = false;
  inv_.add_device(d);
  const auto found = inv_.find_device(mac_a);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->mac, mac_a);
  EXPECT_EQ(found->model, "IP542N");
  EXPECT_EQ(found->serial, "E3C08109000051");
  EXPECT_EQ(found->hw_version, "v1.0.1");
  EXPECT_EQ(found->sw_version, "v3.3.8");
  EXPECT_EQ(found->label, "reception desk");
  EXPECT_EQ(found->group, "office");
  EXPECT_EQ(found->static_ip, "192.168.10.207");
  EXPECT_EQ(found->encryption_key, "123456");
  EXPECT_FALSE(found->enabled);
  EXPECT_FALSE(found->created_at.empty());
}

TEST_F(InventoryDevices, ModelNameInOtherCaseIsStoredAsTheModelsName) {
  inv_.add_device(device(mac_a, "ip542n"));
  EXPECT_EQ(inv_.find_device(mac_a)->model, "IP542N");
}

TEST_F(InventoryDevices, UnknownDeviceIsNotFound) { EXPECT_EQ(inv_.find_device(mac_a), std::nullopt); }

TEST_F(InventoryDevices, DuplicateMacIsRefused) {
  inv_.add_device(device(mac_a));
  EXPECT_THROW(inv_.add_device(device(mac_a, "G502N")), store_error);
}

TEST_F(InventoryDevices, UnknownModelIsRefused) { EXPECT_THROW(inv_.add_device(device(mac_a, "SPA-112")), store_error); }

TEST_F(InventoryDevices, InvalidStaticIpIsRefused) {
  auto d = device(mac_a);
  d.static_ip = "192.168.10.300";
  EXPECT_THROW(inv_.add_device(d), store_error);
}

TEST_F(InventoryDevices, InvalidEncryptionKeyIsRefused) {
  auto d = device(mac_a);
  d.encryption_key = "has space";
  EXPECT_THROW(inv_.add_device(d), store_error);
}

TEST_F(InventoryDevices, InvalidGroupIsRefused) {
  EXPECT_THROW(inv_.add_device(device(mac_a, "IP542N", "front office")), store_error);
}

TEST_F(InventoryDevices, MultiLineLabelIsRefused) {
  auto d = device(mac_a);
  d.label = "line one\nline two";
  EXPECT_THROW(inv_.add_device(d), store_error);
}

TEST_F(InventoryDevices, UpdateChangesOnlyTheGivenFields) {
  auto d = device(mac_a, "IP542N", "office");
  d.serial = "S1";
  inv_.add_device(d);
  inv_.update_device(mac_a, {.label = "lobby"});
  const auto found = inv_.find_device(mac_a);
  EXPECT_EQ(found->label, "lobby");
  EXPECT_EQ(found->serial, "S1");
  EXPECT_EQ(found->group, "office");
  EXPECT_EQ(found->model, "IP542N");
}

TEST_F(InventoryDevices, UpdateMovesTheDeviceToAnotherModel) {
  inv_.add_device(device(mac_a));
  inv_.update_device(mac_a, {.model = "g502n"});
  EXPECT_EQ(inv_.find_device(mac_a)->model, "G502N");
}

TEST_F(InventoryDevices, UpdateToUnknownModelIsRefusedAndChangesNothing) {
  inv_.add_device(device(mac_a));
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.update_device(mac_a, {.model = "SPA-112"}), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryDevices, UpdateWithInvalidFieldIsRefusedAndChangesNothing) {
  inv_.add_device(device(mac_a));
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.update_device(mac_a, {.static_ip = "not an address"}), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryDevices, UpdateOfUnknownDeviceIsRefused) {
  EXPECT_THROW(inv_.update_device(mac_a, {.label = "x"}), store_error);
}

TEST_F(InventoryDevices, ListIsSortedByMac) {
  inv_.add_device(device(mac_c));
  inv_.add_device(device(mac_a));
  inv_.add_device(device(mac_b));
  EXPECT_THAT(macs_of(inv_.list_devices()), ElementsAre(mac_a.colon_lower(), mac_b.colon_lower(), mac_c.colon_lower()));
}

TEST_F(InventoryDevices, ListFiltersByModelInAnyCase) {
  inv_.add_device(device(mac_a, "IP542N"));
  inv_.add_device(device(mac_b, "G502N"));
  EXPECT_THAT(macs_of(inv_.list_devices({.model = "g502n"})), ElementsAre(mac_b.colon_lower()));
}

TEST_F(InventoryDevices, ListFiltersByGroup) {
  inv_.add_device(device(mac_a, "IP542N", "office"));
  inv_.add_device(device(mac_b, "IP542N", "lab"));
  EXPECT_THAT(macs_of(inv_.list_devices({.group = "lab"})), ElementsAre(mac_b.colon_lower()));
}

TEST_F(InventoryDevices, ListFiltersByModelAndGroupTogether) {
  inv_.add_device(device(mac_a, "IP542N", "lab"));
  inv_.add_device(device(mac_b, "G502N", "lab"));
  inv_.add_device(device(mac_c, "G502N", "office"));
  EXPECT_THAT(macs_of(inv_.list_devices({.model = "G502N", .group = "lab"})), ElementsAre(mac_b.colon_lower()));
}

TEST_F(InventoryDevices, RemoveDeletesTheDevice) {
  inv_.add_device(device(mac_a));
  inv_.remove_device(mac_a);
  EXPECT_EQ(inv_.find_device(mac_a), std::nullopt);
}

TEST_F(InventoryDevices, RemoveDeletesItsDeviceScopeParamsAndVariables) {
  inv_.add_device(device(mac_a));
  inv_.add_device(device(mac_b));
  inv_.set_param(scope::device(mac_a), "A", "1");
  inv_.set_variable(scope::device(mac_a), "V", "1");
  inv_.set_param(scope::device(mac_b), "B", "2");
  inv_.remove_device(mac_a);
  EXPECT_THAT(names_of(inv_.list_params()), ElementsAre("device " + mac_b.colon_lower() + " B=2"));
  EXPECT_THAT(inv_.list_variables(), IsEmpty());
}

TEST_F(InventoryDevices, ReaddedDeviceStartsWithoutTheOldDevicesParams) {
  inv_.add_device(device(mac_a));
  inv_.set_param(scope::device(mac_a), "A", "1");
  inv_.remove_device(mac_a);
  inv_.add_device(device(mac_a));
  EXPECT_THAT(inv_.list_params(scope::device(mac_a)), IsEmpty());
}

TEST_F(InventoryDevices, RemoveOfUnknownDeviceIsRefused) { EXPECT_THROW(inv_.remove_device(mac_a), store_error); }

// ---- add_devices: all or none ------------------------------------------------

class InventoryAddDevices : public InventoryTest {
protected:
  void SetUp() override {
    InventoryTest::SetUp();
    inv_.add_device(device(mac_a));
    inv_.set_param(scope::global(), "DBID_IPMODE", "0");
  }
};

TEST_F(InventoryAddDevices, AddsEveryDeviceOfAGoodBatch) {
  inv_.add_devices({device(mac_b), device(mac_c, "G502N")});
  EXPECT_EQ(inv_.list_devices().size(), 3u);
}

TEST_F(InventoryAddDevices, BatchWithAnExistingMacInTheMiddleChangesNothing) {
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.add_devices({device(mac_b), device(mac_a, "G502N"), device(mac_c)}), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryAddDevices, BatchWithTheSameMacTwiceChangesNothing) {
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.add_devices({device(mac_b), device(mac_b), device(mac_c)}), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryAddDevices, BatchWithAnUnknownModelInTheMiddleChangesNothing) {
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.add_devices({device(mac_b), device(mac_c, "SPA-112"), device(mac_of("02:00:00:00:00:01"))}),
               store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryAddDevices, BatchWithAnInvalidFieldInTheMiddleChangesNothing) {
  auto bad = device(mac_c);
  bad.static_ip = "999.1.1.1";
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.add_devices({device(mac_b), bad, device(mac_of("02:00:00:00:00:01"))}), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryAddDevices, FailedBatchLeavesTheRevisionCounterWhereItWas) {
  const auto revision = inv_.revision();
  EXPECT_THROW(inv_.add_devices({device(mac_b), device(mac_c, "SPA-112")}), store_error);
  EXPECT_EQ(inv_.revision(), revision);
}

TEST_F(InventoryAddDevices, FailedBatchLeavesTheOtherDevicesVersionWhereItWas) {
  const auto version = inv_.dbase_version(*inv_.find_device(mac_a));
  EXPECT_THROW(inv_.add_devices({device(mac_b), device(mac_c, "SPA-112")}), store_error);
  EXPECT_EQ(inv_.dbase_version(*inv_.find_device(mac_a)), version);
}

// ---- params ------------------------------------------------------------------

class InventoryParams : public InventoryTest {
protected:
  void SetUp() override {
    InventoryTest::SetUp();
    inv_.add_device(device(mac_a, "IP542N", "office"));
  }
};

TEST_F(InventoryParams, SetParamIsListedAtItsScope) {
  inv_.set_param(scope::group("office"), "DBID_SIP_ENABLE", "1\t0\t0\t0");
  EXPECT_THAT(names_of(inv_.list_params(scope::group("office"))), ElementsAre("group office DBID_SIP_ENABLE=1\t0\t0\t0"));
}

TEST_F(InventoryParams, SettingAgainReplacesTheValue) {
  inv_.set_param(scope::global(), "A", "1");
  inv_.set_param(scope::global(), "A", "2");
  EXPECT_THAT(names_of(inv_.list_params()), ElementsAre("global A=2"));
}

TEST_F(InventoryParams, SameKeyAtTwoScopesIsTwoParams) {
  inv_.set_param(scope::global(), "A", "1");
  inv_.set_param(scope::device(mac_a), "A", "2");
  EXPECT_EQ(inv_.list_params().size(), 2u);
}

TEST_F(InventoryParams, UnsetRemovesTheParam) {
  inv_.set_param(scope::global(), "A", "1");
  EXPECT_TRUE(inv_.unset_param(scope::global(), "A"));
  EXPECT_THAT(inv_.list_params(), IsEmpty());
}

TEST_F(InventoryParams, UnsetOfAMissingParamReturnsFalse) {
  EXPECT_FALSE(inv_.unset_param(scope::global(), "A"));
}

TEST_F(InventoryParams, UnsetOfAMissingParamChangesNothing) {
  const auto before = dump(inv_.db());
  inv_.unset_param(scope::global(), "A");
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryParams, ModelScopeIsStoredUnderTheModelsName) {
  inv_.set_param(scope::model("ip542n"), "A", "1");
  EXPECT_THAT(names_of(inv_.list_params()), ElementsAre("model IP542N A=1"));
}

TEST_F(InventoryParams, DeviceScopeAcceptsAnySpellingOfTheMac) {
  inv_.set_param(scope{scope_kind::device, "00-21-F2-01-1B-19"}, "A", "1");
  EXPECT_THAT(names_of(inv_.list_params()), ElementsAre("device 00:21:f2:01:1b:19 A=1"));
}

TEST_F(InventoryParams, UnknownModelScopeIsRefused) {
  EXPECT_THROW(inv_.set_param(scope::model("SPA-112"), "A", "1"), store_error);
}

TEST_F(InventoryParams, UnknownDeviceScopeIsRefused) {
  EXPECT_THROW(inv_.set_param(scope::device(mac_b), "A", "1"), store_error);
}

TEST_F(InventoryParams, UnparsableDeviceScopeIsRefused) {
  EXPECT_THROW(inv_.set_param(scope{scope_kind::device, "not-a-mac"}, "A", "1"), store_error);
}

TEST_F(InventoryParams, InvalidGroupScopeIsRefused) {
  EXPECT_THROW(inv_.set_param(scope::group("front office"), "A", "1"), store_error);
}

TEST_F(InventoryParams, EmptyGroupScopeIsRefused) {
  EXPECT_THROW(inv_.set_param(scope::group(""), "A", "1"), store_error);
}

TEST_F(InventoryParams, UnsetAtAnUnknownScopeIsRefused) {
  EXPECT_THROW(inv_.unset_param(scope::model("SPA-112"), "A"), store_error);
}

TEST_F(InventoryParams, InvalidKeyIsRefused) { EXPECT_THROW(inv_.set_param(scope::global(), "A B", "1"), store_error); }

TEST_F(InventoryParams, MultiLineValueIsRefused) {
  EXPECT_THROW(inv_.set_param(scope::global(), "A", "1\nB=2"), store_error);
}

TEST_F(InventoryParams, RefusedSetChangesNothing) {
  const auto before = dump(inv_.db());
  EXPECT_THROW(inv_.set_param(scope::model("SPA-112"), "A", "1"), store_error);
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(InventoryParams, ListIsLeastSpecificScopeFirst) {
  inv_.set_param(scope::device(mac_a), "D", "1");
  inv_.set_param(scope::model("IP542N"), "M", "1");
  inv_.set_param(scope::group("office"), "G", "1");
  inv_.set_param(scope::global(), "Z", "1");
  EXPECT_THAT(names_of(inv_.list_params()),
              ElementsAre("global Z=1", "group office G=1", "model IP542N M=1", "device 00:21:f2:01:1b:19 D=1"));
}

TEST_F(InventoryParams, ListAtOneScopeShowsOnlyThatScope) {
  inv_.set_param(scope::global(), "A", "1");
  inv_.set_param(scope::group("office"), "B", "1");
  inv_.set_param(scope::group("lab"), "C", "1");
  EXPECT_THAT(names_of(inv_.list_params(scope::group("lab"))), ElementsAre("group lab C=1"));
}

// ---- variables ---------------------------------------------------------------

using InventoryVariables = InventoryParams;

TEST_F(InventoryVariables, SetVariableIsListedAtItsScope) {
  inv_.set_variable(scope::model("IP542N"), "SIP_PROXY", "192.168.10.200");
  EXPECT_THAT(names_of(inv_.list_variables()), ElementsAre("model IP542N SIP_PROXY=192.168.10.200"));
}

TEST_F(InventoryVariables, UnsetRemovesTheVariable) {
  inv_.set_variable(scope::global(), "V", "1");
  EXPECT_TRUE(inv_.unset_variable(scope::global(), "V"));
  EXPECT_THAT(inv_.list_variables(), IsEmpty());
}

TEST_F(InventoryVariables, UnsetOfAMissingVariableReturnsFalse) {
  EXPECT_FALSE(inv_.unset_variable(scope::global(), "V"));
}

TEST_F(InventoryVariables, VariablesAndParamsAreSeparate) {
  inv_.set_variable(scope::global(), "V", "1");
  EXPECT_THAT(inv_.list_params(), IsEmpty());
}

TEST_F(InventoryVariables, InvalidNameIsRefused) {
  EXPECT_THROW(inv_.set_variable(scope::global(), "SIP-PROXY", "1"), store_error);
}

TEST_F(InventoryVariables, UnknownScopeIsRefused) {
  EXPECT_THROW(inv_.set_variable(scope::device(mac_b), "V", "1"), store_error);
}

TEST_F(InventoryVariables, MultiLineValueIsRefused) {
  EXPECT_THROW(inv_.set_variable(scope::global(), "V", "a\rb"), store_error);
}

class InventoryBuiltinVariableName : public InventoryTest, public ::testing::WithParamInterface<std::string_view> {};

TEST_P(InventoryBuiltinVariableName, CannotBeSet) {
  EXPECT_THROW(inv_.set_variable(scope::global(), GetParam(), "x"), store_error);
}

INSTANTIATE_TEST_SUITE_P(Inventory, InventoryBuiltinVariableName, ::testing::ValuesIn(profile::builtin_macro_names),
                         [](const ::testing::TestParamInfo<std::string_view>& p) { return std::string(p.param); });

// ---- load_profile_source -----------------------------------------------------

class InventoryProfileSource : public InventoryTest {
protected:
  void SetUp() override {
    InventoryTest::SetUp();
    inv_.add_device(device(mac_a, "IP542N", "office"));
    inv_.add_device(device(mac_b, "G502N", "lab"));
  }

  std::vector<std::string> layer_names(const profile_source& s) {
    std::vector<std::string> out;
    for (const auto& l : s.param_layers) out.push_back(l.scope);
    return out;
  }
};

TEST_F(InventoryProfileSource, UnknownDeviceHasNone) { EXPECT_EQ(inv_.load_profile_source(mac_c), std::nullopt); }

TEST_F(InventoryProfileSource, LayersAreGlobalGroupModelDevice) {
  const auto s = inv_.load_profile_source(mac_a);
  ASSERT_TRUE(s);
  EXPECT_THAT(layer_names(*s),
              ElementsAre("global", "group office", "model IP542N", "device 00:21:f2:01:1b:19"));
}

TEST_F(InventoryProfileSource, DeviceWithoutGroupHasNoGroupLayer) {
  inv_.add_device(device(mac_c));
  EXPECT_THAT(layer_names(*inv_.load_profile_source(mac_c)),
              ElementsAre("global", "model IP542N", "device 00:21:f2:01:1b:1b"));
}

TEST_F(InventoryProfileSource, EachLayerHoldsItsScopesParams) {
  inv_.set_param(scope::global(), "K", "global");
  inv_.set_param(scope::group("office"), "K", "group");
  inv_.set_param(scope::model("IP542N"), "K", "model");
  inv_.set_param(scope::device(mac_a), "K", "device");
  const auto s = inv_.load_profile_source(mac_a);
  ASSERT_EQ(s->param_layers.size(), 4u);
  EXPECT_THAT(s->param_layers[0].params, ElementsAre(profile::profile_entry{"K", "global"}));
  EXPECT_THAT(s->param_layers[1].params, ElementsAre(profile::profile_entry{"K", "group"}));
  EXPECT_THAT(s->param_layers[2].params, ElementsAre(profile::profile_entry{"K", "model"}));
  EXPECT_THAT(s->param_layers[3].params, ElementsAre(profile::profile_entry{"K", "device"}));
}

TEST_F(InventoryProfileSource, OtherGroupsModelsAndDevicesParamsAreLeftOut) {
  inv_.set_param(scope::group("lab"), "LAB", "1");
  inv_.set_param(scope::model("G502N"), "G502", "1");
  inv_.set_param(scope::device(mac_b), "B", "1");
  const auto s = inv_.load_profile_source(mac_a);
  for (const auto& layer : s->param_layers) EXPECT_THAT(layer.params, IsEmpty()) << layer.scope;
}

TEST_F(InventoryProfileSource, VariablesAreMostSpecificFirst) {
  inv_.set_variable(scope::global(), "V", "global");
  inv_.set_variable(scope::group("office"), "V", "group");
  inv_.set_variable(scope::model("IP542N"), "V", "model");
  inv_.set_variable(scope::device(mac_a), "V", "device");
  const auto s = inv_.load_profile_source(mac_a);
  std::vector<std::string> values;
  for (const auto& v : s->variables) values.push_back(v.value);
  EXPECT_THAT(values, ElementsAre("device", "model", "group", "global"));
}

TEST_F(InventoryProfileSource, CarriesTheDeviceAndItsModel) {
  const auto s = inv_.load_profile_source(mac_a);
  EXPECT_EQ(s->device.mac, mac_a);
  EXPECT_EQ(s->model.name, "IP542N");
  EXPECT_EQ(s->model.template_text, "DBID_IPMODE=0\n");
}

TEST_F(InventoryProfileSource, CarriesTheDevicesDbaseVersion) {
  inv_.set_param(scope::global(), "A", "1");
  const auto s = inv_.load_profile_source(mac_a);
  EXPECT_EQ(s->dbase_version, inv_.dbase_version(*inv_.find_device(mac_a)));
}

TEST_F(InventoryProfileSource, WritesNothing) {
  const auto before = dump(inv_.db());
  inv_.load_profile_source(mac_a);
  EXPECT_EQ(dump(inv_.db()), before);
}

}  // namespace
}  // namespace provbox::store
