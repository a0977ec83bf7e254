// The request path's in-memory view of the inventory must answer exactly as
// the SQL look-ups it replaces, and the change signals it relies on
// (data_version, total_changes) must move when, and only when, they should.
#include "store/snapshot.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store/certificates.hpp"
#include "store/firmware.hpp"
#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using test_support::temp_folder;

profile::mac_address mac_of(const char* text) { return *profile::mac_address::parse(text); }

const profile::mac_address phone = mac_of("00:21:f2:01:1b:19");
const profile::mac_address ata = mac_of("00:21:f2:22:ae:f1");
const profile::mac_address off = mac_of("00:21:f2:44:44:44");
const profile::mac_address stranger = mac_of("00:21:f2:99:99:99");

device_record device(const profile::mac_address& mac, std::string model, std::string ip) {
  device_record d;
  d.mac = mac;
  d.model = std::move(model);
  d.static_ip = std::move(ip);
  return d;
}

firmware_record image(std::string model, std::string version, std::string file_name) {
  firmware_record f;
  f.model = std::move(model);
  f.version = std::move(version);
  f.file_name = std::move(file_name);
  f.sha256 = std::string(64, 'a');
  f.size = 10;
  return f;
}

class snapshot_test : public ::testing::Test {
protected:
  void SetUp() override {
    inv_.add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf", "$(MA).cfg"}, "", 0});
    inv_.add_model({"G502N", "G502N.conf", {"fv$(MAU).conf"}, "", 0});
    inv_.add_device(device(phone, "IP542N", "192.0.2.10"));
    inv_.add_device(device(ata, "G502N", ""));
    inv_.add_device(device(off, "IP542N", "192.0.2.14"));
    device_changes disable;
    disable.enabled = false;
    inv_.update_device(off, disable);
    // G502N: 1.0.6 and 1.0.7 share a file name; 1.0.6 is made current last.
    add_firmware(inv_.db(), image("G502N", "1.0.6", "G502.bin"));
    add_firmware(inv_.db(), image("G502N", "1.0.7", "G502.bin"));
    add_firmware(inv_.db(), image("G502N", "1.0.8", "G502_new.bin"), false);
    set_current_firmware(inv_.db(), "G502N", "1.0.6");
    // IP542N: two versions of one name, neither current.
    add_firmware(inv_.db(), image("IP542N", "2.0", "IP542N.bin"), false);
    add_firmware(inv_.db(), image("IP542N", "2.1", "IP542N.bin"), false);
    certificates certs(inv_.db());
    certs.record({"8A01", phone.colon_lower(), certificate_kind::device, "a", "b"});
    certs.record({"8A02", phone.colon_lower(), certificate_kind::device, "a", "b"});
    certs.record({"9B01", "provbox server", certificate_kind::server, "a", "b"});
    certs.revoke("8A02");
  }

  temp_folder folder_;
  inventory inv_{(folder_.path() / "provbox.db").string()};
};

std::optional<std::string> version_of(const std::optional<firmware_record>& f) {
  if (!f) return std::nullopt;
  return f->model + " " + f->version + " " + f->file_name + (f->current ? " current" : "");
}

TEST_F(snapshot_test, devices_and_models_are_the_inventorys) {
  const auto s = inventory_snapshot::load(inv_);
  EXPECT_EQ(s.revision(), inv_.revision());
  EXPECT_EQ(s.device_count(), 3u);
  for (const auto& mac : {phone, ata, off, stranger}) {
    const auto* in_memory = s.find_device(mac);
    const auto in_sql = inv_.find_device(mac);
    ASSERT_EQ(in_memory != nullptr, in_sql.has_value()) << mac.colon_lower();
    if (!in_sql) continue;
    EXPECT_EQ(in_memory->model, in_sql->model);
    EXPECT_EQ(in_memory->static_ip, in_sql->static_ip);
    EXPECT_EQ(in_memory->enabled, in_sql->enabled);
    EXPECT_EQ(in_memory->revision, in_sql->revision);
  }
  for (const char* ip : {"192.0.2.10", "192.0.2.14", "192.0.2.99", ""}) {
    const auto* in_memory = s.find_device_by_address(ip);
    const auto in_sql = inv_.find_device_by_address(ip);
    ASSERT_EQ(in_memory != nullptr, in_sql.has_value()) << ip;
    if (in_sql) {
      EXPECT_EQ(in_memory->mac, in_sql->mac) << ip;
    }
  }
  const auto models = inv_.list_models();
  ASSERT_EQ(s.models().size(), models.size());
  for (std::size_t i = 0; i < models.size(); ++i) {
    EXPECT_EQ(s.models()[i].name, models[i].name);
    EXPECT_EQ(s.models()[i].config_file, models[i].config_file);
    EXPECT_EQ(s.models()[i].patterns, models[i].patterns);
  }
}

TEST_F(snapshot_test, firmware_look_ups_answer_as_the_sql_ones) {
  const auto s = inventory_snapshot::load(inv_);
  const std::vector<std::string> paths = {
      "firmware/G502N/1.0.7/G502.bin",  "/firmware/G502N/1.0.6/G502.bin", "firmware/g502n/1.0.7/G502.bin",
      "firmware/G502N/1.0.7/G502_new.bin", "firmware/G502N/1.0.9/G502.bin", "firmware/G502N/1.0.8/G502_new.bin",
      "firmware/NOPE/1.0/x.bin",        "G502.bin",                        "firmware/G502N/1.0.7",
      "firmware/IP542N/2.0/IP542N.bin", "firmware/G502N/1.0.7/g502.bin"};
  for (const auto& path : paths)
    EXPECT_EQ(version_of(s.find_firmware_by_path(path)), version_of(find_firmware_by_path(inv_.db(), path))) << path;
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"G502N", "G502.bin"},     {"g502n", "G502.bin"},   {"G502N", "G502_new.bin"}, {"G502N", "IP542N.bin"},
      {"IP542N", "IP542N.bin"},  {"IP542N", "../x.bin"},  {"NOPE", "G502.bin"},      {"G502N", ""}};
  for (const auto& [model, name] : requests)
    EXPECT_EQ(version_of(s.find_firmware_by_request(model, name)),
              version_of(find_firmware_by_request(inv_.db(), model, name)))
        << model << " " << name;
  EXPECT_EQ(version_of(s.find_firmware_by_request("G502N", "G502.bin")), "G502N 1.0.6 G502.bin current");
  EXPECT_EQ(version_of(s.find_firmware_by_request("IP542N", "IP542N.bin")), "IP542N 2.1 IP542N.bin");
}

TEST_F(snapshot_test, certificates_as_the_handshake_asks) {
  const auto s = inventory_snapshot::load(inv_);
  certificates certs(inv_.db());
  for (const char* serial : {"8A01", "8a:01", "serial=8A01", "8A02", "9B01", "7777", "not hex", ""}) {
    EXPECT_EQ(s.is_acceptable_certificate(serial), certs.is_acceptable(serial)) << serial;
  }
  EXPECT_TRUE(s.is_acceptable_certificate("8a:01"));
  EXPECT_FALSE(s.is_acceptable_certificate("8A02")) << "revoked";
  EXPECT_FALSE(s.is_acceptable_certificate("9B01")) << "the server's own certificate is no device's";
}

TEST_F(snapshot_test, a_snapshot_does_not_follow_later_changes) {
  const auto s = inventory_snapshot::load(inv_);
  inv_.remove_device(ata);
  EXPECT_NE(s.find_device(ata), nullptr) << "the owner reloads when the revision moves";
  EXPECT_NE(inv_.revision(), s.revision());
  EXPECT_EQ(inventory_snapshot::load(inv_).find_device(ata), nullptr);
}

TEST(database_change_signals, data_version_moves_for_other_connections_total_changes_for_our_own) {
  temp_folder folder;
  const auto path = (folder.path() / "provbox.db").string();
  inventory daemon(path);
  const auto version = daemon.db().data_version();
  const auto changes = daemon.db().total_changes();
  EXPECT_EQ(daemon.db().data_version(), version) << "nothing happened";

  daemon.add_model({"IP542N", "IP542N.conf", {}, "", 0});
  EXPECT_EQ(daemon.db().data_version(), version) << "our own commit does not move data_version";
  EXPECT_GT(daemon.db().total_changes(), changes) << "but it moves total_changes";

  const auto changes_before_cli = daemon.db().total_changes();
  {
    inventory cli(path);
    cli.add_model({"G502N", "G502N.conf", {}, "", 0});
  }
  EXPECT_NE(daemon.db().data_version(), version) << "another connection's commit moves data_version";
  EXPECT_EQ(daemon.db().total_changes(), changes_before_cli);
}

}  // namespace
}  // namespace provbox::store
