#include "store/snapshot.hpp"

#include "store/certificates.hpp"

namespace provbox::store {
namespace {

// SQLite's NOCASE folds ASCII only; so does this.
std::string fold_case(std::string_view text) {
  std::string folded(text);
  for (auto& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return folded;
}

}  // namespace

inventory_snapshot inventory_snapshot::load(inventory& inventory) {
  auto& db = inventory.db();
  transaction read(db, transaction::kind::read);
  inventory_snapshot s;
  s.revision_ = inventory.revision();
  for (auto& m : inventory.list_models()) {
    snapshot_model model{std::move(m.name), std::move(m.config_file), std::move(m.patterns), {}};
    for (const auto& pattern : model.patterns) model.pattern_tokens.push_back(profile::tokenize_macros(pattern));
    s.models_.push_back(std::move(model));
  }
  for (auto& d : inventory.list_devices()) {
    if (!d.static_ip.empty()) s.device_by_address_.emplace(d.static_ip, d.mac);
    const auto mac = d.mac;
    s.devices_.emplace(mac, std::move(d));
  }
  // list_firmware orders by model, then by id: the order rows were added.
  for (auto& f : list_firmware(db)) s.firmware_by_model_[fold_case(f.model)].push_back(std::move(f));
  for (auto& c : certificates(db).list())
    if (c.kind == certificate_kind::device && !c.revoked_at) s.acceptable_serials_.insert(std::move(c.serial));
  return s;
}

const device_record* inventory_snapshot::find_device(const profile::mac_address& mac) const {
  const auto it = devices_.find(mac);
  return it == devices_.end() ? nullptr : &it->second;
}

const device_record* inventory_snapshot::find_device_by_address(std::string_view ip) const {
  if (ip.empty()) return nullptr;
  const auto it = device_by_address_.find(ip);
  return it == device_by_address_.end() ? nullptr : find_device(it->second);
}

std::optional<firmware_record> inventory_snapshot::find_firmware_by_path(std::string_view url_path) const {
  const auto parsed = parse_firmware_url_path(url_path);
  if (!parsed) return std::nullopt;
  const auto rows = firmware_by_model_.find(fold_case(parsed->model));
  if (rows == firmware_by_model_.end()) return std::nullopt;
  for (const auto& f : rows->second) {
    // The version picks the row; the file name must still be the one the
    // rule names (as in store::find_firmware_by_path).
    if (f.version != parsed->version) continue;
    if (f.file_name != parsed->file_name) return std::nullopt;
    return f;
  }
  return std::nullopt;
}

std::optional<firmware_record> inventory_snapshot::find_firmware_by_request(std::string_view model,
                                                                            std::string_view file_name) const {
  if (!is_valid_firmware_file_name(file_name)) return std::nullopt;
  const auto rows = firmware_by_model_.find(fold_case(model));
  if (rows == firmware_by_model_.end()) return std::nullopt;
  // The current image if it has this name, else the newest that has it.
  const firmware_record* newest = nullptr;
  for (const auto& f : rows->second) {
    if (f.file_name != file_name) continue;
    if (f.current) return f;
    newest = &f;
  }
  if (!newest) return std::nullopt;
  return *newest;
}

bool inventory_snapshot::is_acceptable_certificate(std::string_view serial) const {
  const auto normalized = normalize_serial(serial);
  return normalized && acceptable_serials_.contains(*normalized);
}

}  // namespace provbox::store
