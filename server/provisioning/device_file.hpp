#pragma once
// One device's configuration file, from the inventory to the bytes served:
// template + params + macros + DBID_DBASE_VERSION, encrypted when the device
// has a key. The CLI's `render` and every transport call this, so what an
// operator previews is what a device receives.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/profile/mac_address.hpp"
#include "store/inventory.hpp"

namespace provbox::provisioning {

struct device_file {
  std::string body;            // what is served: ciphertext when encrypted
  std::string plain;           // the KEY=VALUE text before encryption
  std::uint64_t dbase_version = 0;
  bool encrypted = false;
  std::vector<std::string> warnings;
};

// The $IP macro is the device's current address: the one the request came
// from when known, else its static address.
profile::render_request make_render_request(const store::profile_source& source, const std::string& ip);

// Nullopt when the inventory has no such device.
std::optional<device_file> render_device_file(store::inventory& inventory, const profile::mac_address& mac,
                                              const std::optional<std::string>& current_ip = std::nullopt);

}  // namespace provbox::provisioning
