#include "tftp/transfer_table.hpp"

namespace provbox::tftp {

transfer_table::admission transfer_table::admit(std::string_view address, const table_limits& limits) {
  admission a;
  if (from(address) >= limits.max_transfers_per_address) {
    a.outcome = verdict::address_busy;
    return a;
  }
  if (entries_.size() >= limits.max_transfers) {
    if (unconfirmed_.empty()) {
      a.outcome = verdict::busy;
      return a;
    }
    const auto oldest = unconfirmed_.front();
    forget(entries_.find(oldest));
    a.evicted = oldest;
  }
  a.outcome = verdict::admitted;
  a.entry = next_id_++;
  auto [it, inserted] = entries_.emplace(a.entry, entry{std::string(address), false, {}});
  it->second.queued = unconfirmed_.insert(unconfirmed_.end(), a.entry);
  auto counted = per_address_.find(address);
  if (counted == per_address_.end()) counted = per_address_.emplace(std::string(address), 0).first;
  ++counted->second;
  return a;
}

void transfer_table::confirm(entry_id id) {
  const auto it = entries_.find(id);
  if (it == entries_.end() || it->second.confirmed) return;
  it->second.confirmed = true;
  unconfirmed_.erase(it->second.queued);
}

void transfer_table::remove(entry_id id) {
  const auto it = entries_.find(id);
  if (it != entries_.end()) forget(it);
}

std::size_t transfer_table::from(std::string_view address) const {
  const auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

void transfer_table::forget(std::unordered_map<entry_id, entry>::iterator it) {
  if (!it->second.confirmed) unconfirmed_.erase(it->second.queued);
  // Addresses with nothing in flight are dropped, so a flood from many
  // addresses leaves no trace once its transfers have ended.
  const auto counted = per_address_.find(it->second.address);
  if (--counted->second == 0) per_address_.erase(counted);
  entries_.erase(it);
}

}  // namespace provbox::tftp
