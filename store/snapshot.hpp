#pragma once
// What the request path asks of the inventory, held in memory: devices by
// MAC and by static address, models with their file names, firmware rows,
// and the device certificates a handshake may accept. A request then costs
// no SQLite reads; the owner reloads the snapshot when the revision moves
// (every inventory, firmware and certificate change moves it).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/profile/mac_address.hpp"
#include "server/profile/macro.hpp"
#include "store/firmware.hpp"
#include "store/inventory.hpp"

namespace provbox::store {

struct snapshot_model {
  std::string name;
  std::string config_file;
  std::vector<std::string> patterns;
  std::vector<std::vector<profile::macro_token>> pattern_tokens;  // patterns, split once
};

class inventory_snapshot {
public:
  // Everything read in one read transaction, so it is one consistent state.
  static inventory_snapshot load(inventory& inventory);

  std::uint64_t revision() const { return revision_; }
  // In name order, as list_models returns them.
  const std::vector<snapshot_model>& models() const { return models_; }
  std::size_t device_count() const { return devices_.size(); }

  // The same answers as inventory::find_device / find_device_by_address and
  // store::find_firmware_by_path / find_firmware_by_request, from memory.
  // Pointers stay valid as long as this snapshot does.
  const device_record* find_device(const profile::mac_address& mac) const;
  const device_record* find_device_by_address(std::string_view ip) const;
  std::optional<firmware_record> find_firmware_by_path(std::string_view url_path) const;
  std::optional<firmware_record> find_firmware_by_request(std::string_view model, std::string_view file_name) const;
  // certificates::is_acceptable: a recorded device certificate, not revoked.
  bool is_acceptable_certificate(std::string_view serial) const;

private:
  std::uint64_t revision_ = 0;
  std::vector<snapshot_model> models_;
  std::map<profile::mac_address, device_record> devices_;
  std::map<std::string, profile::mac_address, std::less<>> device_by_address_;
  // Keyed by the model's name folded to lower case (model names compare
  // without case in the store); rows in the order they were added.
  std::map<std::string, std::vector<firmware_record>, std::less<>> firmware_by_model_;
  std::set<std::string, std::less<>> acceptable_serials_;
};

}  // namespace provbox::store
