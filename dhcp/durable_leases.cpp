#include "dhcp/durable_leases.hpp"

#include <chrono>

namespace provbox::dhcp {

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<mac_address> parse_mac(std::string_view text) {
    // "00:21:f2:01:1b:19", as to_string(mac_address) writes it.
    if (text.size() != 17) return std::nullopt;
    mac_address mac{};
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < 6; ++i) {
        const int hi = nibble(text[i * 3]);
        const int lo = nibble(text[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) return std::nullopt;
        mac[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return mac;
}

}  // namespace

store::lease_row to_row(const lease& l, std::int64_t now) {
    store::lease_row r;
    r.address = l.address.to_uint();
    r.client_key = l.client_key;
    r.mac = to_string(l.mac);
    r.state = std::string(to_string(l.status));
    r.expires_at = l.expires;
    r.hostname = l.hostname;
    r.updated_at = now;
    return r;
}

std::optional<lease> from_row(const store::lease_row& row) {
    const auto status = parse_lease_status(row.state);
    const auto mac = parse_mac(row.mac);
    if (!status || !mac || *status == lease_status::offered) return std::nullopt;
    lease l;
    l.address = ipv4_address(row.address);
    l.client_key = row.client_key;
    l.mac = *mac;
    l.status = *status;
    l.expires = row.expires_at;
    l.hostname = row.hostname;
    return l;
}

durable_leases::durable_leases(const std::string& database_path) : table_(database_path) { reload(); }

void durable_leases::reload() {
    memory_.clear();
    pending_.clear();
    seen_version_ = table_.data_version();
    // Every row, in any order: a client's rows on several subnets (its link
    // renumbered) are all kept, none replaces another.
    for (const auto& row : table_.load_all()) {
        if (auto l = from_row(row)) memory_.put(*l);
    }
}

const lease* durable_leases::find_by_address(ipv4_address address) const {
    return memory_.find_by_address(address);
}

std::vector<const lease*> durable_leases::find_by_client(std::string_view client_key) const {
    return memory_.find_by_client(client_key);
}

void durable_leases::for_each(const std::function<void(const lease&)>& visit) const { memory_.for_each(visit); }

std::optional<ipv4_address> durable_leases::find_free(std::span<const address_range> pools, std::int64_t now,
                                                      const std::function<bool(ipv4_address)>& unavailable) {
    return memory_.find_free(pools, now, unavailable);
}

void durable_leases::reserve(const lease& offered) { memory_.reserve(offered); }

void durable_leases::commit(std::span<const lease_change> changes) {
    const std::int64_t now = unix_now();
    // Row for row what memory does: no row is dropped or rewritten that the
    // changes do not name.
    for (const auto& c : changes) {
        const bool forget = c.kind == change_kind::reclaim && c.value.status == lease_status::declined;
        pending_.push_back({to_row(c.value, now), forget});
    }
    memory_.commit(changes);
}

void durable_leases::flush() {
    if (pending_.empty()) return;
    try {
        table_.commit(pending_);
    } catch (...) {
        reload();
        throw;
    }
    pending_.clear();
    // Our own commit moved data_version too; what we wrote is what we hold.
    seen_version_ = table_.data_version();
}

std::vector<store::lease_table::write> durable_leases::take_pending() {
    std::vector<store::lease_table::write> taken;
    taken.swap(pending_);
    return taken;
}

void durable_leases::write(std::span<const store::lease_table::write> writes) { table_.commit(writes); }

void durable_leases::refresh_if_changed() {
    if (table_.data_version() != seen_version_ && pending_.empty()) reload();
}

std::size_t durable_leases::reclaim(std::int64_t now) {
    const auto changes = memory_.reclaim(now);
    const std::int64_t stamp = unix_now();
    for (const auto& c : changes) {
        pending_.push_back({to_row(c.value, stamp), c.value.status == lease_status::declined});
    }
    return changes.size();
}

}  // namespace provbox::dhcp
