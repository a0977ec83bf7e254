// A TFTP or HTTP request for the model's Config File Name (IP542N.conf) from
// an address the DHCP server leased resolves to the device with that MAC.
#include <gtest/gtest.h>

#include <chrono>

#include "server/provisioning/service.hpp"
#include "store/inventory.hpp"
#include "store/leases.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LeaseResolution : public ::testing::Test {
protected:
  void SetUp() override {
    inventory = std::make_unique<store::inventory>(folder.file("provbox.db"));
    inventory->add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, "DBID_X=1\n", 0});
    store::device_record d;
    d.mac = *profile::mac_address::parse("00:21:f2:01:1b:19");
    d.model = "IP542N";
    inventory->add_device(d);
    service = std::make_unique<provisioning::service>(*inventory, provisioning::service_options{folder.file("data"), 200, false});
  }

  void lease(const std::string& address, const std::string& state, std::int64_t expires_at) {
    store::lease_table table(folder.file("provbox.db"));
    store::lease_row row{*store::parse_ipv4(address), "hw:010021f2011b19", "00:21:f2:01:1b:19", state, expires_at, "",
                         unix_now()};
    const store::lease_table::write w{row, false};
    table.commit(std::span(&w, 1));
  }

  provisioning::answer tftp_get(const std::string& path, const std::string& peer) {
    provisioning::request r;
    r.via = provisioning::transport::tftp;
    r.path = path;
    r.peer_address = peer;
    return service->resolve(r);
  }

  store::test_support::temp_folder folder;
  std::unique_ptr<store::inventory> inventory;
  std::unique_ptr<provisioning::service> service;
};

TEST_F(LeaseResolution, LeasedAddressResolvesToItsDevice) {
  lease("10.77.1.5", "bound", unix_now() + 3600);
  const auto a = tftp_get("IP542N.conf", "10.77.1.5");
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.device->colon_lower(), "00:21:f2:01:1b:19");
}

TEST_F(LeaseResolution, ExpiredOrReleasedLeaseResolvesToNobody) {
  lease("10.77.1.5", "bound", unix_now() - 1);
  EXPECT_EQ(tftp_get("IP542N.conf", "10.77.1.5").status, 404);
  lease("10.77.1.5", "released", unix_now() + 3600);
  EXPECT_EQ(tftp_get("IP542N.conf", "10.77.1.5").status, 404);
}

TEST_F(LeaseResolution, UnleasedAddressResolvesToNobody) {
  lease("10.77.1.5", "bound", unix_now() + 3600);
  EXPECT_EQ(tftp_get("IP542N.conf", "10.77.1.6").status, 404);
}

}  // namespace
}  // namespace provbox
