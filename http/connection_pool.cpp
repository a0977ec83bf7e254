#include "http/connection_pool.hpp"

#include <algorithm>

namespace provbox::http {

connection_pool::admission connection_pool::admit(std::string_view address, handle& out) {
  std::string key(address);
  if (limit_.max_per_address > 0) {
    const auto mine = addresses_.find(key);
    if (mine != addresses_.end() && mine->second.open >= limit_.max_per_address) {
      if (mine->second.idle == 0) {
        ++refused_["address_full"];
        return admission::address_full;
      }
      // Oldest first; only reached when this address has an idle one.
      const auto oldest = std::find_if(idle_.begin(), idle_.end(),
                                       [&](const auto& entry) { return entry.second->address == key; });
      give_way(oldest->second);
    }
  }
  if (open_ >= limit_.max_connections) {
    if (idle_.empty()) {
      ++refused_["listener_full"];
      return admission::listener_full;
    }
    give_way(idle_.begin()->second);
  }
  out = connections_.insert(connections_.end(), connection{key, phase::opening, {}, {}, false, 0});
  ++addresses_[std::move(key)].open;
  ++open_;
  peak_ = std::max(peak_, open_);
  return admission::admitted;
}

void connection_pool::set_phase(handle c, phase p) {
  if (c->at == p) return;
  if (!c->leaving && c->at == phase::idle) leave_idle(c);
  c->at = p;
  if (c->leaving || p != phase::idle) return;
  c->idle_since = next_idle_++;
  idle_.emplace(c->idle_since, c);
  ++addresses_[c->address].idle;
  notify_if_room();
}

void connection_pool::remove(handle c) {
  release(c);
  connections_.erase(c);
  notify_if_room();
}

void connection_pool::close(handle c, std::string_view reason) {
  if (c->leaving) return;
  ++closed_[std::string(reason)];
  release(c);
  // Only ends pending I/O: the session resumes later and calls remove().
  if (c->close) c->close();
  notify_if_room();
}

void connection_pool::close_all_but_busy() {
  for (auto c = connections_.begin(); c != connections_.end(); ++c) {
    if (c->at == phase::busy) continue;
    // Not counted as closed: stopping is not a reason an operator watches.
    release(c);
    if (c->close) c->close();
  }
  notify_if_room();
}

void connection_pool::set_limits(limits limit) {
  limit_ = limit;
  notify_if_room();
}

std::size_t connection_pool::open_from(std::string_view address) const {
  const auto found = addresses_.find(std::string(address));
  return found == addresses_.end() ? 0 : found->second.open;
}

void connection_pool::release(handle c) {
  if (c->leaving) return;
  if (c->at == phase::idle) leave_idle(c);
  c->leaving = true;
  --open_;
  const auto entry = addresses_.find(c->address);
  if (entry != addresses_.end() && --entry->second.open == 0) addresses_.erase(entry);
}

void connection_pool::give_way(handle c) { close(c, "gave_way"); }

void connection_pool::leave_idle(handle c) {
  idle_.erase(c->idle_since);
  const auto entry = addresses_.find(c->address);
  if (entry != addresses_.end() && entry->second.idle > 0) --entry->second.idle;
}

void connection_pool::notify_if_room() {
  if (on_room_ && has_room()) on_room_();
}

}  // namespace provbox::http
