// DBID_DBASE_VERSION: a device re-reads its file only when the number rises,
// so every change that shapes a device's file must raise that device's
// version, and the version must never repeat (a device that saw N once would
// ignore a different file that also says N).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using test_support::temp_folder;

profile::mac_address mac_of(const char* text) { return *profile::mac_address::parse(text); }

// D is the device under watch. F shares D's model and group; E has its own.
const profile::mac_address mac_d = mac_of("00:21:f2:01:1b:19");
const profile::mac_address mac_e = mac_of("00:21:f2:01:1b:1a");
const profile::mac_address mac_f = mac_of("00:21:f2:01:1b:1b");
const profile::mac_address mac_new = mac_of("00:21:f2:01:1b:1c");

device_record device(const profile::mac_address& mac, std::string model, std::string group) {
  device_record d;
  d.mac = mac;
  d.model = std::move(model);
  d.group = std::move(group);
  return d;
}

void add_fixture(inventory& inv) {
  inv.add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, "DBID_IPMODE=0\n"});
  inv.add_model({"G502N", "G502N.conf", {"g$(MA).conf"}, "DBID_IPMODE=1\n"});
  inv.add_device(device(mac_d, "IP542N", "office"));
  inv.add_device(device(mac_e, "G502N", "lab"));
  inv.add_device(device(mac_f, "IP542N", "office"));
}

class VersionTest : public ::testing::Test {
protected:
  void SetUp() override { add_fixture(inv_); }
  std::uint64_t version_of(const profile::mac_address& mac) { return inv_.dbase_version(*inv_.find_device(mac)); }
  std::uint64_t version() { return version_of(mac_d); }

  temp_folder folder_;
  inventory inv_{folder_.file("provbox.db")};
};

// One change to the inventory, with what must exist before it (a param to
// unset, say).
struct change {
  const char* name;
  std::function<void(inventory&)> apply;
  std::function<void(inventory&)> prepare = [](inventory&) {};
};

void PrintTo(const change& c, std::ostream* os) { *os << c.name; }
std::string change_name(const ::testing::TestParamInfo<change>& info) { return info.param.name; }

// ---- every change that shapes D's file raises D's version --------------------

class VersionRaisedBy : public VersionTest, public ::testing::WithParamInterface<change> {};

TEST_P(VersionRaisedBy, TheChange) {
  GetParam().prepare(inv_);
  const auto before = version();
  GetParam().apply(inv_);
  EXPECT_GT(version(), before);
}

const change changes_that_concern_d[] = {
    // The device's own fields, each one.
    {"device_serial", [](inventory& i) { i.update_device(mac_d, {.serial = "E3C08109000051"}); }},
    {"device_hw_version", [](inventory& i) { i.update_device(mac_d, {.hw_version = "v1.0.1"}); }},
    {"device_sw_version", [](inventory& i) { i.update_device(mac_d, {.sw_version = "v3.3.8"}); }},
    {"device_label", [](inventory& i) { i.update_device(mac_d, {.label = "lobby"}); }},
    {"device_static_ip", [](inventory& i) { i.update_device(mac_d, {.static_ip = "192.168.10.207"}); }},
    {"device_encryption_key", [](inventory& i) { i.update_device(mac_d, {.encryption_key = "123456"}); }},
    {"device_disabled", [](inventory& i) { i.update_device(mac_d, {.enabled = false}); }},
    {"device_enabled_again", [](inventory& i) { i.update_device(mac_d, {.enabled = true}); },
     [](inventory& i) { i.update_device(mac_d, {.enabled = false}); }},
    {"device_moved_to_another_group", [](inventory& i) { i.update_device(mac_d, {.group = "lab"}); }},
    {"device_moved_to_a_new_group", [](inventory& i) { i.update_device(mac_d, {.group = "annex"}); }},
    {"device_taken_out_of_its_group", [](inventory& i) { i.update_device(mac_d, {.group = ""}); }},
    {"device_moved_to_another_model", [](inventory& i) { i.update_device(mac_d, {.model = "G502N"}); }},
    // Its model.
    {"model_config_file", [](inventory& i) { i.update_model("IP542N", {.config_file = "ip542n-v2.conf"}); }},
    {"model_patterns",
     [](inventory& i) { i.update_model("IP542N", {.patterns = std::vector<std::string>{"prov/$PN/$MAU.conf"}}); }},
    {"model_template", [](inventory& i) { i.update_model("IP542N", {.template_text = "DBID_IPMODE=1\n"}); }},
    {"model_template_via_other_case_name",
     [](inventory& i) { i.update_model("ip542n", {.template_text = "DBID_IPMODE=2\n"}); }},
    // Params at each scope that reaches D.
    {"param_set_global", [](inventory& i) { i.set_param(scope::global(), "A", "1"); }},
    {"param_set_group", [](inventory& i) { i.set_param(scope::group("office"), "A", "1"); }},
    {"param_set_model", [](inventory& i) { i.set_param(scope::model("IP542N"), "A", "1"); }},
    {"param_set_model_other_case", [](inventory& i) { i.set_param(scope::model("ip542n"), "A", "1"); }},
    {"param_set_device", [](inventory& i) { i.set_param(scope::device(mac_d), "A", "1"); }},
    {"param_replaced_global", [](inventory& i) { i.set_param(scope::global(), "A", "2"); },
     [](inventory& i) { i.set_param(scope::global(), "A", "1"); }},
    {"param_unset_global", [](inventory& i) { i.unset_param(scope::global(), "A"); },
     [](inventory& i) { i.set_param(scope::global(), "A", "1"); }},
    {"param_unset_group", [](inventory& i) { i.unset_param(scope::group("office"), "A"); },
     [](inventory& i) { i.set_param(scope::group("office"), "A", "1"); }},
    {"param_unset_model", [](inventory& i) { i.unset_param(scope::model("IP542N"), "A"); },
     [](inventory& i) { i.set_param(scope::model("IP542N"), "A", "1"); }},
    {"param_unset_device", [](inventory& i) { i.unset_param(scope::device(mac_d), "A"); },
     [](inventory& i) { i.set_param(scope::device(mac_d), "A", "1"); }},
    // Variables at each scope that reaches D.
    {"variable_set_global", [](inventory& i) { i.set_variable(scope::global(), "V", "1"); }},
    {"variable_set_group", [](inventory& i) { i.set_variable(scope::group("office"), "V", "1"); }},
    {"variable_set_model", [](inventory& i) { i.set_variable(scope::model("IP542N"), "V", "1"); }},
    {"variable_set_device", [](inventory& i) { i.set_variable(scope::device(mac_d), "V", "1"); }},
    {"variable_unset_global", [](inventory& i) { i.unset_variable(scope::global(), "V"); },
     [](inventory& i) { i.set_variable(scope::global(), "V", "1"); }},
    {"variable_unset_group", [](inventory& i) { i.unset_variable(scope::group("office"), "V"); },
     [](inventory& i) { i.set_variable(scope::group("office"), "V", "1"); }},
    {"variable_unset_model", [](inventory& i) { i.unset_variable(scope::model("IP542N"), "V"); },
     [](inventory& i) { i.set_variable(scope::model("IP542N"), "V", "1"); }},
    {"variable_unset_device", [](inventory& i) { i.unset_variable(scope::device(mac_d), "V"); },
     [](inventory& i) { i.set_variable(scope::device(mac_d), "V", "1"); }},
    // Bumps.
    {"bump_device", [](inventory& i) { i.bump({scope::device(mac_d)}); }},
    {"bump_model", [](inventory& i) { i.bump({scope::model("IP542N")}); }},
    {"bump_group", [](inventory& i) { i.bump({scope::group("office")}); }},
    {"bump_all", [](inventory& i) { i.bump({scope::global()}); }},
    {"bump_several_scopes_including_device",
     [](inventory& i) { i.bump({scope::device(mac_e), scope::device(mac_d)}); }},
    // The floor.
    {"raise_version_floor", [](inventory& i) { i.raise_version_floor(i.version_floor() + 1); }},
    {"raise_version_floor_far", [](inventory& i) { i.raise_version_floor(1'000'000); }},
};

INSTANTIATE_TEST_SUITE_P(Version, VersionRaisedBy, ::testing::ValuesIn(changes_that_concern_d), change_name);

// ---- changes that do not concern D leave its version alone -------------------

class VersionUnchangedBy : public VersionTest, public ::testing::WithParamInterface<change> {};

TEST_P(VersionUnchangedBy, TheChange) {
  GetParam().prepare(inv_);
  const auto before = version();
  GetParam().apply(inv_);
  EXPECT_EQ(version(), before);
}

const change changes_that_do_not_concern_d[] = {
    {"param_of_another_device_in_the_same_group_and_model",
     [](inventory& i) { i.set_param(scope::device(mac_f), "A", "1"); }},
    {"param_unset_of_another_device", [](inventory& i) { i.unset_param(scope::device(mac_f), "A"); },
     [](inventory& i) { i.set_param(scope::device(mac_f), "A", "1"); }},
    {"variable_of_another_device", [](inventory& i) { i.set_variable(scope::device(mac_f), "V", "1"); }},
    {"field_of_another_device", [](inventory& i) { i.update_device(mac_f, {.label = "x"}); }},
    {"param_of_another_group", [](inventory& i) { i.set_param(scope::group("lab"), "A", "1"); }},
    {"param_of_a_group_without_devices", [](inventory& i) { i.set_param(scope::group("annex"), "A", "1"); }},
    {"variable_of_another_group", [](inventory& i) { i.set_variable(scope::group("lab"), "V", "1"); }},
    {"template_of_another_model", [](inventory& i) { i.update_model("G502N", {.template_text = "X=1\n"}); }},
    {"param_of_another_model", [](inventory& i) { i.set_param(scope::model("G502N"), "A", "1"); }},
    {"variable_of_another_model", [](inventory& i) { i.set_variable(scope::model("G502N"), "V", "1"); }},
    {"bump_of_another_device", [](inventory& i) { i.bump({scope::device(mac_f)}); }},
    {"bump_of_another_group", [](inventory& i) { i.bump({scope::group("lab")}); }},
    {"bump_of_another_model", [](inventory& i) { i.bump({scope::model("G502N")}); }},
    {"bump_of_no_scopes", [](inventory& i) { i.bump({}); }},
    {"adding_another_device", [](inventory& i) { i.add_device(device(mac_new, "IP542N", "office")); }},
    {"removing_another_device", [](inventory& i) { i.remove_device(mac_f); }},
    {"adding_another_model", [](inventory& i) { i.add_model({"SPA-112", "spa112.cfg", {}, ""}); }},
    {"removing_another_model", [](inventory& i) { i.remove_model("SPA-112"); },
     [](inventory& i) { i.add_model({"SPA-112", "spa112.cfg", {}, ""}); }},
    {"unset_of_a_param_that_is_not_there", [](inventory& i) { i.unset_param(scope::global(), "MISSING"); }},
    {"refused_change_of_the_device",
     [](inventory& i) {
       try {
         i.update_device(mac_d, {.static_ip = "not an address"});
       } catch (const store_error&) {
       }
     }},
    {"reading_the_profile_source", [](inventory& i) { i.load_profile_source(mac_d); }},
};

INSTANTIATE_TEST_SUITE_P(Version, VersionUnchangedBy, ::testing::ValuesIn(changes_that_do_not_concern_d),
                         change_name);

// ---- moving between groups ---------------------------------------------------

TEST_F(VersionTest, AfterLeavingAGroupItsParamsNoLongerCount) {
  inv_.update_device(mac_d, {.group = "lab"});
  const auto before = version();
  inv_.set_param(scope::group("office"), "A", "1");
  EXPECT_EQ(version(), before);
}

TEST_F(VersionTest, AfterJoiningAGroupItsParamsCount) {
  inv_.update_device(mac_d, {.group = "lab"});
  const auto before = version();
  inv_.set_param(scope::group("lab"), "A", "1");
  EXPECT_GT(version(), before);
}

TEST_F(VersionTest, AfterChangingModelTheOldModelsTemplateNoLongerCounts) {
  inv_.update_device(mac_d, {.model = "G502N"});
  const auto before = version();
  inv_.update_model("IP542N", {.template_text = "X=1\n"});
  EXPECT_EQ(version(), before);
}

TEST_F(VersionTest, AfterChangingModelTheNewModelsParamsCount) {
  inv_.update_device(mac_d, {.model = "G502N"});
  const auto before = version();
  inv_.set_param(scope::model("G502N"), "A", "1");
  EXPECT_GT(version(), before);
}

// ---- the floor ---------------------------------------------------------------

TEST_F(VersionTest, DefaultFloorIs10000) { EXPECT_EQ(inv_.version_floor(), 10000u); }

TEST_F(VersionTest, NewDeviceStartsAboveTheFloor) { EXPECT_GT(version(), inv_.version_floor()); }

TEST_F(VersionTest, RaisedFloorIsKept) {
  inv_.raise_version_floor(20000);
  EXPECT_EQ(inv_.version_floor(), 20000u);
}

TEST_F(VersionTest, RaisingTheFloorPutsEveryDeviceAboveIt) {
  inv_.raise_version_floor(20000);
  EXPECT_GT(version_of(mac_d), 20000u);
  EXPECT_GT(version_of(mac_e), 20000u);
}

TEST_F(VersionTest, RaisingTheFloorRaisesAnotherDeviceToo) {
  const auto before = version_of(mac_e);
  inv_.raise_version_floor(inv_.version_floor() + 1);
  EXPECT_GT(version_of(mac_e), before);
}

TEST_F(VersionTest, LoweringTheFloorIsRefused) {
  EXPECT_THROW(inv_.raise_version_floor(inv_.version_floor() - 1), store_error);
}

TEST_F(VersionTest, RefusedLoweringKeepsTheFloor) {
  inv_.raise_version_floor(20000);
  EXPECT_THROW(inv_.raise_version_floor(15000), store_error);
  EXPECT_EQ(inv_.version_floor(), 20000u);
}

TEST_F(VersionTest, RefusedLoweringKeepsTheVersion) {
  const auto before = version();
  EXPECT_THROW(inv_.raise_version_floor(0), store_error);
  EXPECT_EQ(version(), before);
}

TEST_F(VersionTest, AbsurdlyLargeFloorIsRefused) {
  EXPECT_THROW(inv_.raise_version_floor(std::uint64_t{1} << 62), store_error);
}

TEST_F(VersionTest, UnknownDeviceHasNoVersion) {
  EXPECT_THROW(inv_.dbase_version(device(mac_new, "IP542N", "")), store_error);
}

// ---- never a repeat ----------------------------------------------------------

TEST_F(VersionTest, NeverRepeatsAcrossAMixedSequenceOfChanges) {
  // Every change of the sequence, related to D or not. After each, D's
  // version must have risen (related) or stayed (unrelated), so no value
  // D ever shows appears twice.
  struct step {
    bool concerns_d;
    std::function<void()> apply;
  };
  auto& i = inv_;
  const std::vector<step> steps = {
      {true, [&] { i.set_param(scope::global(), "A", "1"); }},
      {false, [&] { i.set_param(scope::device(mac_e), "A", "1"); }},
      {true, [&] { i.set_param(scope::group("office"), "A", "1"); }},
      {true, [&] { i.set_param(scope::model("IP542N"), "A", "1"); }},
      {true, [&] { i.set_param(scope::device(mac_d), "A", "1"); }},
      {true, [&] { i.unset_param(scope::device(mac_d), "A"); }},
      {false, [&] { i.set_param(scope::group("lab"), "B", "1"); }},
      {true, [&] { i.unset_param(scope::model("IP542N"), "A"); }},
      {true, [&] { i.unset_param(scope::group("office"), "A"); }},
      {true, [&] { i.unset_param(scope::global(), "A"); }},
      {true, [&] { i.set_variable(scope::global(), "V", "1"); }},
      {true, [&] { i.set_variable(scope::device(mac_d), "V", "2"); }},
      {false, [&] { i.set_variable(scope::device(mac_f), "V", "3"); }},
      {true, [&] { i.unset_variable(scope::global(), "V"); }},
      {true, [&] { i.unset_variable(scope::device(mac_d), "V"); }},
      {true, [&] { i.update_device(mac_d, {.serial = "S1"}); }},
      {true, [&] { i.update_device(mac_d, {.label = "lobby"}); }},
      {false, [&] { i.update_device(mac_f, {.label = "hall"}); }},
      {true, [&] { i.update_device(mac_d, {.group = "lab"}); }},
      {true, [&] { i.set_param(scope::group("lab"), "B", "2"); }},
      {false, [&] { i.set_param(scope::group("office"), "C", "1"); }},
      {true, [&] { i.update_device(mac_d, {.group = "office"}); }},
      {true, [&] { i.update_device(mac_d, {.model = "G502N"}); }},
      {false, [&] { i.update_model("IP542N", {.template_text = "X=1\n"}); }},
      {true, [&] { i.update_model("G502N", {.template_text = "Y=1\n"}); }},
      {true, [&] { i.update_device(mac_d, {.model = "IP542N"}); }},
      {true, [&] { i.bump({scope::device(mac_d)}); }},
      {false, [&] { i.bump({scope::device(mac_e)}); }},
      {true, [&] { i.bump({scope::model("IP542N")}); }},
      {true, [&] { i.bump({scope::group("office")}); }},
      {true, [&] { i.bump({scope::global()}); }},
      {false, [&] { i.bump({}); }},
      {true, [&] { i.raise_version_floor(i.version_floor() + 5); }},
      {true, [&] { i.update_model("IP542N", {.config_file = "x.conf"}); }},
      {true, [&] { i.update_model("IP542N", {.patterns = std::vector<std::string>{"$MA.cfg"}}); }},
      {false, [&] { i.add_device(device(mac_new, "IP542N", "office")); }},
      {true, [&] { i.set_param(scope::global(), "DBID_IPMODE", "0"); }},
      {false, [&] { i.remove_device(mac_new); }},
      {true, [&] { i.update_device(mac_d, {.static_ip = "192.168.10.207"}); }},
      {true, [&] { i.update_device(mac_d, {.encryption_key = "123456"}); }},
      {true, [&] { i.update_device(mac_d, {.enabled = false}); }},
      {true, [&] { i.update_device(mac_d, {.enabled = true}); }},
      {true, [&] { i.update_device(mac_d, {.hw_version = "v1.0.1"}); }},
      {true, [&] { i.update_device(mac_d, {.sw_version = "v3.3.8"}); }},
      {false, [&] { i.set_param(scope::model("G502N"), "Z", "1"); }},
      {true, [&] { i.set_variable(scope::model("IP542N"), "W", "1"); }},
      {true, [&] { i.set_variable(scope::group("office"), "W", "1"); }},
      {true, [&] { i.unset_variable(scope::group("office"), "W"); }},
      {true, [&] { i.unset_variable(scope::model("IP542N"), "W"); }},
      {true, [&] { i.set_param(scope::device(mac_d), "LAST", "1"); }},
  };
  ASSERT_GE(steps.size(), 50u);

  std::vector<std::uint64_t> seen{version()};
  for (std::size_t n = 0; n < steps.size(); ++n) {
    steps[n].apply();
    const auto now = version();
    if (steps[n].concerns_d) {
      EXPECT_GT(now, seen.back()) << "step " << n;
    } else {
      EXPECT_EQ(now, seen.back()) << "step " << n;
    }
    seen.push_back(now);
  }
  std::set<std::uint64_t> distinct(seen.begin(), seen.end());
  const auto related = static_cast<std::size_t>(std::count_if(steps.begin(), steps.end(), [](const step& s) { return s.concerns_d; }));
  EXPECT_EQ(distinct.size(), related + 1);
}

// ---- a device that comes back ------------------------------------------------

TEST_F(VersionTest, ReaddedDeviceIsAboveEveryVersionItHadBefore) {
  std::uint64_t highest = version();
  inv_.set_param(scope::device(mac_d), "A", "1");
  highest = std::max(highest, version());
  inv_.bump({scope::device(mac_d)});
  highest = std::max(highest, version());
  inv_.remove_device(mac_d);
  inv_.add_device(device(mac_d, "IP542N", "office"));
  EXPECT_GT(version(), highest);
}

TEST_F(VersionTest, ReaddedDeviceInAnotherModelAndNoGroupIsStillAbove) {
  inv_.set_param(scope::device(mac_d), "A", "1");
  const auto highest = version();
  inv_.remove_device(mac_d);
  inv_.add_device(device(mac_d, "G502N", ""));
  EXPECT_GT(version(), highest);
}

TEST_F(VersionTest, ReaddedDeviceAfterOtherChangesIsStillAbove) {
  inv_.bump({scope::device(mac_d)});
  const auto highest = version();
  inv_.remove_device(mac_d);
  inv_.set_param(scope::device(mac_e), "A", "1");
  inv_.add_device(device(mac_d, "IP542N", "office"));
  EXPECT_GT(version(), highest);
}

}  // namespace
}  // namespace provbox::store
