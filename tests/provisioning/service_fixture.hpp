#pragma once
// The provisioning service's test fixture: a real (temporary) SQLite
// inventory shaped like the demo (two models sharing fv$(MAU).conf) and a
// service over it. No sockets: requests are plain structs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "server/provisioning/device_file.hpp"
#include "server/provisioning/service.hpp"
#include "store/firmware.hpp"
#include "store/inventory.hpp"
#include "tests/support/temp_folder.hpp"

namespace provbox::provisioning::service_testing {

namespace fs = std::filesystem;
using profile::mac_address;

inline mac_address mac(std::string_view text) { return *mac_address::parse(text); }

// The demo inventory's shape (server/cli/demo_inventory.cpp): two models
// that share the per-device pattern fv$(MAU).conf, each with its own
// Config File Name.
inline constexpr const char* ip542n_template =
    "DBID_IPMODE=0\n"
    "DBID_SIP_ENABLE=1\t0\t0\t0\n"
    "DBID_WEB_SIP_SERVER=$(SIP_SERVER)\n"
    "DBID_SIP_ACCOUNT=$(SIP_USER)\n"
    "DBID_SIP_PASSWORD=$(SIP_PASSWORD)\n"
    "DBID_PRV_OPTION66_ENABLED=0\n";
inline constexpr const char* g502n_template =
    "DBID_IPMODE=0\n"
    "DBID_SIP_ENABLE=1\t1\n"
    "DBID_WEB_SIP_SERVER=$(SIP_SERVER)\n"
    "DBID_SIP_ACCOUNT=$(SIP_USER)\n";

inline const mac_address phone = mac("00:21:f2:01:1b:19");     // IP542N at 192.0.2.10
inline const mac_address ata = mac("00:21:f2:22:ae:f1");       // G502N at 192.0.2.11
inline const mac_address secret = mac("00:21:f2:33:33:33");    // G502N, encrypted profile
inline const mac_address unplugged = mac("00:21:f2:44:44:44");  // IP542N, disabled
inline const mac_address stranger = mac("00:21:f2:99:99:99");   // not in the inventory

inline constexpr const char* phone_address = "192.0.2.10";
inline constexpr const char* ata_address = "192.0.2.11";
inline constexpr const char* unknown_address = "198.51.100.7";

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class service_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_dir_ = root_ / "data";
    fs::create_directories(data_dir_);
    inventory_ = std::make_unique<store::inventory>(db_path());

    inventory_->add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, ip542n_template, 0});
    inventory_->add_model({"G502N", "G502N.conf", {"fv$(MAU).conf"}, g502n_template, 0});
    add_device(phone, "IP542N", phone_address);
    add_device(ata, "G502N", ata_address);
    add_device(secret, "G502N", "", "123456");
    add_device(unplugged, "IP542N", "192.0.2.14");
    store::device_changes disable;
    disable.enabled = false;
    inventory_->update_device(unplugged, disable);
    inventory_->set_variable(store::scope::global(), "SIP_SERVER", "192.168.10.200");
    inventory_->set_variable(store::scope::device(phone), "SIP_USER", "23103");
    inventory_->set_variable(store::scope::device(phone), "SIP_PASSWORD", "23103");
    inventory_->set_variable(store::scope::device(ata), "SIP_USER", "23104");

    service_ = std::make_unique<service>(*inventory_, service_options{data_dir_.string(), 200, false});
  }

  void TearDown() override {
    service_.reset();
    inventory_.reset();
  }

  std::string db_path() const { return (root_ / "provbox.db").string(); }

  void add_device(const mac_address& m, const std::string& model, const std::string& ip,
                  const std::string& key = "") {
    store::device_record d;
    d.mac = m;
    d.model = model;
    d.serial = "E3C0810900005" + std::to_string(m.bytes()[5] % 10);
    d.sw_version = "v3.3.8";
    d.hw_version = "v1.0.1";
    d.static_ip = ip;
    d.encryption_key = key;
    inventory_->add_device(d);
  }

  static request http_get(std::string path, std::string peer = unknown_address) {
    request r;
    r.via = transport::http;
    r.path = std::move(path);
    r.peer_address = std::move(peer);
    return r;
  }

  static request https_get(std::string path, const mac_address& identity, std::string peer = unknown_address) {
    request r = http_get(std::move(path), std::move(peer));
    r.via = transport::https;
    r.client_identity = identity;
    return r;
  }

  static std::string file_of(const mac_address& m) { return "fv" + m.upper_hex() + ".conf"; }

  std::string rendered(const mac_address& m) {
    auto file = render_device_file(*inventory_, m);
    if (!file) ADD_FAILURE() << "no device " << m.colon_lower();
    return file ? file->body : std::string();
  }

  // A firmware image for G502N at firmware/G502N/1.0.7/G502_F107_S334.bin.
  store::firmware_record add_g502n_firmware(const std::string& bytes = "G502N firmware image bytes") {
    const auto source = root_ / "upload.bin";
    std::ofstream(source, std::ios::binary) << bytes;
    store::firmware_record image;
    image.model = "G502N";
    image.version = "1.0.7";
    image.file_name = "G502_F107_S334.bin";
    return store::import_firmware(inventory_->db(), data_dir_, source, image);
  }

  test_support::temp_folder folder_{"provbox-service"};
  fs::path root_ = folder_.path();
  fs::path data_dir_;
  std::unique_ptr<store::inventory> inventory_;
  std::unique_ptr<service> service_;
};

}  // namespace provbox::provisioning::service_testing
