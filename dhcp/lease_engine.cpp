#include "dhcp/lease_engine.hpp"

#include <algorithm>

namespace provbox::dhcp {

namespace oc = option_code;

// ---- small values -------------------------------------------------------------

std::optional<address_range> address_range::parse(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto first = ipv4_address::parse(text.substr(0, dash));
    auto last = ipv4_address::parse(text.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    return address_range{*first, *last};
}

std::string_view to_string(lease_status status) {
    switch (status) {
        case lease_status::offered: return "offered";
        case lease_status::bound: return "bound";
        case lease_status::released: return "released";
        case lease_status::expired: return "expired";
        case lease_status::declined: return "declined";
    }
    return "?";
}

std::optional<lease_status> parse_lease_status(std::string_view text) {
    for (auto s : {lease_status::offered, lease_status::bound, lease_status::released, lease_status::expired,
                   lease_status::declined}) {
        if (to_string(s) == text) return s;
    }
    return std::nullopt;
}

std::string_view to_string(delivery d) {
    switch (d) {
        case delivery::relay: return "relay";
        case delivery::client: return "client";
        case delivery::broadcast: return "broadcast";
        case delivery::hardware: return "hardware";
    }
    return "?";
}

std::string_view to_string(silence s) {
    switch (s) {
        case silence::none: return "none";
        case silence::not_a_request: return "not a request";
        case silence::not_ethernet: return "not Ethernet";
        case silence::no_message_type: return "no DHCP message type";
        case silence::no_subnet: return "no subnet for this link";
        case silence::unknown_client: return "unknown client (known-only)";
        case silence::other_server: return "for another server";
        case silence::pool_exhausted: return "pool exhausted";
        case silence::reserved_for_known: return "the free addresses are kept for inventory devices";
        case silence::no_record: return "no record of this client";
        case silence::no_reply_expected: return "no reply expected";
    }
    return "?";
}

bool holds_address(const lease& l, std::int64_t now) {
    switch (l.status) {
        case lease_status::offered:
        case lease_status::bound:
        case lease_status::declined: return l.expires >= now;
        case lease_status::released:
        case lease_status::expired: return false;
    }
    return false;
}

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, std::span<const std::uint8_t> bytes) {
    for (const std::uint8_t b : bytes) {
        out += hex_digits[b >> 4];
        out += hex_digits[b & 15];
    }
}

}  // namespace

std::string client_key_of(const message& msg) {
    std::string key;
    if (const option* id = msg.find(oc::client_identifier); id != nullptr && !id->data.empty()) {
        key = "id:";
        append_hex(key, id->data);
        return key;
    }
    key = "hw:";
    const std::uint8_t htype = msg.htype;
    append_hex(key, std::span(&htype, 1));
    append_hex(key, std::span(msg.chaddr.data(), std::min<std::size_t>(msg.hlen, msg.chaddr.size())));
    return key;
}

// ---- subnets and devices --------------------------------------------------------

ipv4_address subnet_config::mask() const {
    if (prefix_length == 0) return ipv4_address(0);
    return ipv4_address(prefix_length >= 32 ? ~std::uint32_t{0} : ~((std::uint32_t{1} << (32 - prefix_length)) - 1));
}

ipv4_address subnet_config::broadcast() const {
    return ipv4_address((network.to_uint() & mask().to_uint()) | ~mask().to_uint());
}

bool subnet_config::contains(ipv4_address a) const {
    return (a.to_uint() & mask().to_uint()) == (network.to_uint() & mask().to_uint());
}

void known_devices::add(const mac_address& mac, known_device device) {
    if (auto old = by_mac.find(mac); old != by_mac.end()) {
        if (old->second.static_address.is_unspecified()) {
            --without_static_address;
        } else if (auto r = by_address.find(old->second.static_address); r != by_address.end() && r->second == mac) {
            by_address.erase(r);
        }
    }
    if (device.static_address.is_unspecified()) {
        ++without_static_address;
    } else {
        by_address[device.static_address] = mac;
    }
    by_mac[mac] = std::move(device);
}

const known_device* known_devices::find(const mac_address& mac) const {
    auto it = by_mac.find(mac);
    return it == by_mac.end() ? nullptr : &it->second;
}

// ---- memory_leases ----------------------------------------------------------------

const lease* memory_leases::find_by_address(ipv4_address address) const {
    if (auto o = offers_.find(address.to_uint()); o != offers_.end()) return &o->second;
    auto it = leases_.find(address.to_uint());
    return it == leases_.end() ? nullptr : &it->second;
}

std::vector<const lease*> memory_leases::find_by_client(std::string_view client_key) const {
    std::vector<const lease*> found;
    const std::string key(client_key);
    if (auto o = offer_by_client_.find(key); o != offer_by_client_.end()) found.push_back(&offers_.at(o->second));
    if (auto own = leases_by_client_.find(key); own != leases_by_client_.end()) {
        for (const std::uint32_t address : own->second) found.push_back(&leases_.at(address));
    }
    return found;
}

void memory_leases::for_each(const std::function<void(const lease&)>& visit) const {
    for (const auto& [address, l] : leases_) {
        if (!offers_.contains(address)) visit(l);
    }
    for (const auto& [address, o] : offers_) visit(o);
}

std::size_t memory_leases::size() const {
    std::size_t n = leases_.size();
    for (const auto& [address, o] : offers_) n += leases_.contains(address) ? 0 : 1;
    return n;
}

std::optional<ipv4_address> memory_leases::find_free(std::span<const address_range> pools, std::int64_t now,
                                                     const std::function<bool(ipv4_address)>& unavailable) {
    std::uint64_t total = 0;
    for (const auto& p : pools) total += p.size();
    if (total == 0) return std::nullopt;
    auto at = [&](std::uint64_t index) {
        for (const auto& p : pools) {
            if (index < p.size()) return ipv4_address(p.first.to_uint() + static_cast<std::uint32_t>(index));
            index -= p.size();
        }
        return ipv4_address();
    };
    // Never-leased addresses first, from where the last search stopped, so
    // a burst of new clients costs one step each.
    for (std::uint64_t step = 0; step < total; ++step) {
        const std::uint64_t index = (cursor_ + step) % total;
        const ipv4_address candidate = at(index);
        if (leases_.contains(candidate.to_uint()) || offers_.contains(candidate.to_uint()) || unavailable(candidate)) {
            continue;
        }
        cursor_ = (index + 1) % total;
        return candidate;
    }
    // Then the one given up longest ago: its old client is least likely to
    // come back for it.
    std::optional<ipv4_address> best;
    std::int64_t best_expiry = 0;
    for_each([&](const lease& l) {
        if (holds_address(l, now)) return;
        if (std::none_of(pools.begin(), pools.end(), [&](const address_range& p) { return p.contains(l.address); })) {
            return;
        }
        if (unavailable(l.address)) return;
        if (!best || l.expires < best_expiry || (l.expires == best_expiry && l.address < *best)) {
            best = l.address;
            best_expiry = l.expires;
        }
    });
    return best;
}

void memory_leases::drop_offer(std::uint32_t address) {
    auto it = offers_.find(address);
    if (it == offers_.end()) return;
    if (auto owner = offer_by_client_.find(it->second.client_key);
        owner != offer_by_client_.end() && owner->second == address) {
        offer_by_client_.erase(owner);
    }
    offers_.erase(it);
}

void memory_leases::reserve(const lease& offered) {
    const std::uint32_t address = offered.address.to_uint();
    if (offered.status != lease_status::offered) {
        // The client gave the offer back (it chose another server).
        if (auto it = offers_.find(address); it != offers_.end() && it->second.client_key == offered.client_key) {
            drop_offer(address);
        }
        return;
    }
    if (auto previous = offer_by_client_.find(offered.client_key); previous != offer_by_client_.end()) {
        drop_offer(previous->second);
    }
    drop_offer(address);  // a lapsed offer to another client
    offers_[address] = offered;
    offer_by_client_[offered.client_key] = address;
}

void memory_leases::put(const lease& l) {
    const std::uint32_t address = l.address.to_uint();
    erase(l.address);
    leases_[address] = l;
    if (!l.client_key.empty()) leases_by_client_[l.client_key].push_back(address);
}

void memory_leases::erase(ipv4_address address) {
    auto it = leases_.find(address.to_uint());
    if (it == leases_.end()) return;
    if (auto owner = leases_by_client_.find(it->second.client_key); owner != leases_by_client_.end()) {
        std::erase(owner->second, address.to_uint());
        if (owner->second.empty()) leases_by_client_.erase(owner);
    }
    leases_.erase(it);
}

void memory_leases::clear() {
    leases_.clear();
    offers_.clear();
    leases_by_client_.clear();
    offer_by_client_.clear();
    cursor_ = 0;
}

void memory_leases::commit(std::span<const lease_change> changes) {
    for (const auto& c : changes) {
        if (c.kind != change_kind::reclaim) {
            // The lease decides its address from now on, and a binding ends
            // whatever its client was still being offered.
            drop_offer(c.value.address.to_uint());
            if (c.kind == change_kind::bind) {
                if (auto o = offer_by_client_.find(c.value.client_key); o != offer_by_client_.end()) {
                    drop_offer(o->second);
                }
            }
        }
        if (c.kind == change_kind::reclaim && c.value.status == lease_status::declined) {
            erase(c.value.address);  // a decline's hold ended: the address is free again
        } else {
            put(c.value);
        }
    }
}

std::vector<lease_change> memory_leases::reclaim(std::int64_t now) {
    std::vector<lease_change> changes;
    std::vector<std::uint32_t> lapsed, forget;
    for (const auto& [address, o] : offers_) {
        if (o.expires < now) lapsed.push_back(address);  // never persisted: nothing to tell the store
    }
    for (auto& [address, l] : leases_) {
        if (l.expires >= now) continue;
        if (l.status == lease_status::bound) {
            l.status = lease_status::expired;
            changes.push_back({change_kind::reclaim, l});
        } else if (l.status == lease_status::declined) {
            changes.push_back({change_kind::reclaim, l});
            forget.push_back(address);
        }
    }
    for (const auto address : lapsed) drop_offer(address);
    for (const auto address : forget) erase(ipv4_address(address));
    return changes;
}

std::vector<lease> memory_leases::all() const {
    std::vector<lease> out;
    out.reserve(leases_.size() + offers_.size());
    for_each([&](const lease& l) { out.push_back(l); });
    std::sort(out.begin(), out.end(), [](const lease& a, const lease& b) { return a.address < b.address; });
    return out;
}

// ---- the engine ---------------------------------------------------------------------

namespace {

struct exchange {
    const message& in;
    const receive_context& context;
    lease_state& leases;
    const known_devices& devices;
    const engine_config& config;
    const subnet_config& subnet;
    mac_address mac;
    std::string key;
    const known_device* device;  // null when not in the inventory
    ipv4_address server_id;

    bool in_pool(ipv4_address a) const {
        return std::any_of(subnet.pools.begin(), subnet.pools.end(),
                           [&](const address_range& p) { return p.contains(a); });
    }
    // The reservation of this client, when it is on this subnet.
    std::optional<ipv4_address> reservation() const {
        if (device == nullptr || device->static_address.is_unspecified()) return std::nullopt;
        if (!subnet.contains(device->static_address)) return std::nullopt;
        return device->static_address;
    }
    // Whether this client may have `a`: on this subnet, its reservation or in
    // a pool, not a network, broadcast, router or server address, not
    // reserved to another device, and not held by another client.
    bool may_have(ipv4_address a) const {
        if (!subnet.contains(a)) return false;
        if (a == subnet.network || a == subnet.broadcast() || a == server_id) return false;
        if (std::find(subnet.routers.begin(), subnet.routers.end(), a) != subnet.routers.end()) return false;
        if (auto reserved = devices.by_address.find(a); reserved != devices.by_address.end()) {
            return reserved->second == mac;
        }
        if (!in_pool(a)) return false;
        return free_for_us(a);
    }
    bool free_for_us(ipv4_address a) const {
        const lease* holder = leases.find_by_address(a);
        if (holder == nullptr) return true;
        if (holder->status == lease_status::declined) return holder->expires < context.now;
        return holder->client_key == key || !holds_address(*holder, context.now);
    }
    bool served(ipv4_address a) const {
        return std::any_of(config.subnets.begin(), config.subnets.end(),
                           [&](const subnet_config& s) { return s.contains(a); });
    }

    // This client's offer and leases on this subnet, best first: what holds
    // an address (its offer before its binding: the newer intent), then what
    // it gave up last. What it has on other subnets (another link, or this
    // link before it was renumbered) is left as it is.
    std::vector<const lease*> own() const {
        std::vector<const lease*> found = leases.find_by_client(key);
        std::erase_if(found, [&](const lease* l) {
            return !subnet.contains(l->address) || l->status == lease_status::declined;
        });
        auto rank = [&](const lease* l) {
            if (!holds_address(*l, context.now)) return 2;
            return l->status == lease_status::offered ? 0 : 1;
        };
        std::sort(found.begin(), found.end(), [&](const lease* a, const lease* b) {
            if (rank(a) != rank(b)) return rank(a) < rank(b);
            if (a->expires != b->expires) return a->expires > b->expires;
            return a->address < b->address;
        });
        return found;
    }
    // Whether the offer or lease at `a` is this client's.
    bool is_mine(ipv4_address a) const {
        const lease* holder = leases.find_by_address(a);
        return holder != nullptr && holder->client_key == key && holder->status != lease_status::declined;
    }
    // Whether this client holds `a` now: giving it again takes nothing.
    bool holds(ipv4_address a) const {
        return is_mine(a) && holds_address(*leases.find_by_address(a), context.now);
    }

    // ---- clients outside the inventory ----
    //
    // Known devices must always find an address, so a client outside the
    // inventory takes a new one only while more of the subnet's pool
    // addresses are free than the reserve; it then holds at most the pool,
    // less what devices hold, less the reserve:
    //
    //   reserve = max(known_reserve, min(waiting, assignable / 2)), at most assignable
    //
    // waiting: inventory devices without a static address that hold no
    //   lease or offer on any subnet served. Each will ask for one. Counted
    //   over every subnet because the inventory is one list for all links:
    //   a phone placed on one link is not waiting for another.
    // known_reserve: the operator's floor, for devices not in the inventory
    //   yet: one added after a scan took the rest still gets an address at
    //   once, not when the scan's short leases run out.
    // assignable / 2: the count of waiting devices weighs at most half the
    //   pool, so an inventory that overstates who is coming (phones staged
    //   long before delivery, retired ones never removed, phones on another
    //   server's links) cannot shut every other client out. An operator
    //   who wants more kept says so with known_reserve.
    // Devices are never checked, and a client outside the inventory keeps
    // what it holds (its renewals are ACKed): taking the address of a
    // working PC would break it, and its short lease already bounds how
    // long a scan's addresses stay taken.
    bool room_for_unknown() const {
        std::uint64_t total = 0;
        for (const auto& p : subnet.pools) total += p.size();
        // Pool addresses no such client can have at all.
        std::vector<ipv4_address> excluded{subnet.network, subnet.broadcast(), server_id};
        excluded.insert(excluded.end(), subnet.routers.begin(), subnet.routers.end());
        for (const auto& p : subnet.pools) {
            for (auto r = devices.by_address.lower_bound(p.first); r != devices.by_address.end() && r->first <= p.last;
                 ++r) {
                excluded.push_back(r->first);
            }
        }
        std::erase_if(excluded, [&](ipv4_address a) { return !in_pool(a); });
        std::sort(excluded.begin(), excluded.end());
        excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
        const std::uint64_t assignable = total > excluded.size() ? total - excluded.size() : 0;
        auto reserve_for = [&](std::uint64_t waiting) {
            const std::uint64_t counted = std::min(waiting, assignable / 2);
            return std::min(assignable, std::max<std::uint64_t>(config.known_reserve, counted));
        };
        // Whatever is held, at most leases.size() addresses are: when even
        // that leaves more than the largest reserve, there is no need to count.
        const std::uint64_t most_held = leases.size();
        if (assignable > most_held + reserve_for(devices.without_static_address)) return true;

        std::uint64_t held = 0;
        std::vector<mac_address> placed;
        leases.for_each([&](const lease& l) {
            if (!holds_address(l, context.now)) return;
            if (in_pool(l.address) && !std::binary_search(excluded.begin(), excluded.end(), l.address)) ++held;
            const known_device* d = devices.find(l.mac);
            if (d != nullptr && d->static_address.is_unspecified() && served(l.address)) placed.push_back(l.mac);
        });
        std::sort(placed.begin(), placed.end());
        placed.erase(std::unique(placed.begin(), placed.end()), placed.end());
        const std::uint64_t waiting =
            devices.without_static_address - std::min(placed.size(), devices.without_static_address);
        return assignable - std::min(held, assignable) > reserve_for(waiting);
    }
    // Whether giving `a` to this client would take an address the reserve keeps.
    bool takes_from_reserve(ipv4_address a) const {
        return device == nullptr && !holds(a) && !room_for_unknown();
    }

    // Option 51 and the offer hold: shorter for clients outside the inventory.
    std::uint32_t lease_time() const {
        if (device != nullptr || config.unknown_lease_time == 0) return config.lease_time;
        return std::min(config.unknown_lease_time, config.lease_time);
    }
    std::uint32_t offer_hold() const {
        if (device != nullptr || config.unknown_offer_hold == 0) return config.offer_hold;
        return std::min(config.unknown_offer_hold, config.offer_hold);
    }
    // T1 and T2 as configured for the configured lease; for a shorter one,
    // RFC 2131 §4.4.5's defaults, as configured times could exceed it.
    std::uint32_t t1() const {
        const bool configured = lease_time() == config.lease_time && config.renewal_time != 0;
        return configured ? config.renewal_time : lease_time() / 2;
    }
    std::uint32_t t2() const {
        const bool configured = lease_time() == config.lease_time && config.rebinding_time != 0;
        return configured ? config.rebinding_time
                          : static_cast<std::uint32_t>(std::uint64_t{lease_time()} * 7 / 8);
    }

    std::string boot_file() const {
        if (device != nullptr && !device->boot_file.empty()) return device->boot_file;
        std::string vendor_class;
        if (const option* v = in.find(oc::vendor_class_identifier)) {
            vendor_class = as_string(v->data).value_or("");
        }
        for (const auto& rule : config.model_rules) {
            if (!rule.vendor_class_prefix.empty() && !vendor_class.starts_with(rule.vendor_class_prefix)) continue;
            if (rule.oui && !std::equal(rule.oui->begin(), rule.oui->end(), mac.begin())) continue;
            return rule.boot_file;
        }
        return subnet.boot_file;
    }

    // The fixed part of every reply (RFC 2131 §4.3.1 table 3).
    message reply_head(message_type type) const {
        message out;
        out.op = op_code::boot_reply;
        out.htype = in.htype;
        out.hlen = in.hlen;
        out.xid = in.xid;
        out.flags = in.flags;
        out.giaddr = in.giaddr;
        out.chaddr = in.chaddr;
        out.set_type(type);
        return out;
    }

    // Options for an OFFER, ACK (lease_time set) or INFORM's ACK (not set),
    // in the order and within the size the client asked for.
    void add_options(message& out, std::optional<std::uint32_t> lease_time) const {
        std::vector<option> available;
        available.push_back(*out.find(oc::message_type));
        available.push_back({oc::server_identifier, from_ipv4(server_id)});
        if (lease_time) {
            available.push_back({oc::lease_time, from_u32(*lease_time)});
            available.push_back({oc::renewal_time, from_u32(t1())});
            available.push_back({oc::rebinding_time, from_u32(t2())});
        }
        available.push_back({oc::subnet_mask, from_ipv4(subnet.mask())});
        if (!subnet.routers.empty()) available.push_back({oc::routers, from_ipv4_list(subnet.routers)});
        if (!subnet.dns_servers.empty()) {
            available.push_back({oc::domain_name_servers, from_ipv4_list(subnet.dns_servers)});
        }
        if (!subnet.domain_name.empty()) available.push_back({oc::domain_name, from_string(subnet.domain_name)});
        available.push_back({oc::broadcast_address, from_ipv4(subnet.broadcast())});
        const std::string tftp = subnet.tftp_server.empty() ? server_id.to_string() : subnet.tftp_server;
        available.push_back({oc::tftp_server_name, from_string(tftp)});
        // RFC 2131 §2: siaddr, the next server, for clients that read the
        // header rather than option 66; only when 66 is an address.
        if (auto next_server = ipv4_address::parse(tftp)) out.siaddr = *next_server;
        if (const std::string file = boot_file(); !file.empty()) {
            available.push_back({oc::boot_file_name, from_string(file)});
        }
        for (const auto& o : subnet.options) available.push_back(o);
        // RFC 3046 §2.2: the relay agent information goes back unchanged.
        if (const option* relay = in.find(oc::relay_agent_information); relay != nullptr && !in.giaddr.is_unspecified()) {
            available.push_back(*relay);
        }

        std::vector<std::uint8_t> requested;
        if (const option* prl = in.find(oc::parameter_request_list)) requested = prl->data;
        std::size_t max_size = min_max_message_size;
        if (const option* mms = in.find(oc::max_message_size)) {
            if (auto v = as_u16(mms->data)) max_size = *v;
        }
        out.options = order_reply_options(available, requested, max_size);
    }

    // RFC 2131 §4.1 for a reply that is not a NAK.
    destination destination_of(const message& out) const {
        destination d;
        if (!in.giaddr.is_unspecified()) {
            d.how = delivery::relay;
            d.address = in.giaddr;
            d.port = server_port;
        } else if (!in.ciaddr.is_unspecified()) {
            d.how = delivery::client;
            d.address = in.ciaddr;
        } else if (in.broadcast() || out.yiaddr.is_unspecified()) {
            d.how = delivery::broadcast;
            d.address = ipv4_address(255, 255, 255, 255);
        } else {
            d.how = delivery::hardware;
            d.address = out.yiaddr;
            d.mac = mac;
        }
        return d;
    }

    lease new_lease(ipv4_address a, lease_status status, std::int64_t expires) const {
        lease l;
        l.address = a;
        l.client_key = key;
        l.mac = mac;
        l.status = status;
        l.expires = expires;
        if (const option* name = in.find(oc::host_name)) l.hostname = as_string(name->data).value_or("");
        return l;
    }

    // ---- the message types ----

    engine_result discover() {
        engine_result r;
        std::optional<ipv4_address> chosen;
        if (auto reserved = reservation(); reserved && free_for_us(*reserved)) {
            chosen = reserved;
        } else {
            // Sticky: the same client gets its address back.
            for (const lease* l : own()) {
                if (may_have(l->address)) {
                    chosen = l->address;
                    break;
                }
            }
            if (const option* requested = in.find(oc::requested_address); !chosen && requested != nullptr) {
                if (auto a = as_ipv4(requested->data); a && may_have(*a)) chosen = a;
            }
        }
        if (!chosen) {
            chosen = leases.find_free(subnet.pools, context.now, [&](ipv4_address a) { return !may_have(a); });
        }
        if (!chosen) {
            r.why = silence::pool_exhausted;
            r.note = "no address to offer";
            return r;
        }
        if (takes_from_reserve(*chosen)) {
            r.why = silence::reserved_for_known;
            r.note = "no offer to a client outside the inventory: the free addresses are kept for devices";
            return r;
        }
        message out = reply_head(message_type::offer);
        out.yiaddr = *chosen;
        add_options(out, lease_time());
        r.to = destination_of(out);
        r.reply = std::move(out);
        // A bound lease already holds the address for this client.
        const lease* holder = leases.find_by_address(*chosen);
        if (holder == nullptr || holder->client_key != key || !holds_address(*holder, context.now) ||
            holder->status != lease_status::bound) {
            r.offer = new_lease(*chosen, lease_status::offered, context.now + offer_hold());
        }
        r.note = "offer " + chosen->to_string();
        return r;
    }

    engine_result nak(std::string reason) const {
        engine_result r;
        message out = reply_head(message_type::nak);
        out.options.push_back({oc::server_identifier, from_ipv4(server_id)});
        out.options.push_back({oc::message, from_string(reason)});
        if (!in.giaddr.is_unspecified()) {
            // RFC 2131 §4.3.2: a relayed NAK asks the relay to broadcast it.
            out.set_broadcast(true);
            r.to = {delivery::relay, in.giaddr, server_port, {}};
        } else {
            r.to = {delivery::broadcast, ipv4_address(255, 255, 255, 255), client_port, {}};
        }
        r.reply = std::move(out);
        r.note = "nak: " + reason;
        return r;
    }

    engine_result ack(ipv4_address a) const {
        engine_result r;
        message out = reply_head(message_type::ack);
        out.ciaddr = in.ciaddr;
        out.yiaddr = a;
        add_options(out, lease_time());
        r.to = destination_of(out);
        r.reply = std::move(out);
        r.changes.push_back(
            {change_kind::bind, new_lease(a, lease_status::bound, context.now + std::int64_t{lease_time()})});
        // One address per client on a link: one it still held here (its
        // address went out of the ranges, it has a reservation now) is
        // released, and kept, so it gets it back if it returns to it.
        for (const lease* other : own()) {
            if (other->address == a || other->status != lease_status::bound || !holds_address(*other, context.now)) {
                continue;
            }
            lease given_up = *other;
            given_up.status = lease_status::released;
            given_up.expires = context.now;
            r.changes.push_back({change_kind::release, given_up});
        }
        r.note = "ack " + a.to_string();
        return r;
    }
    // An ACK, or a NAK when a client outside the inventory would take an
    // address the reserve keeps (it then finds no offer: the reserve holds).
    engine_result grant(ipv4_address a) const {
        if (takes_from_reserve(a)) return nak("address " + a.to_string() + " is kept for inventory devices");
        return ack(a);
    }

    engine_result request() {
        const option* sid = in.find(oc::server_identifier);
        const option* req = in.find(oc::requested_address);
        const std::optional<ipv4_address> requested = req ? as_ipv4(req->data) : std::nullopt;
        const std::vector<const lease*> mine = own();

        if (sid != nullptr) {
            // SELECTING (§4.3.2): the client chose among the OFFERs.
            if (as_ipv4(sid->data) != server_id) {
                engine_result r;
                r.why = silence::other_server;
                r.note = "client chose another server";
                // Let our offer go at once.
                for (const lease* l : mine) {
                    if (l->status != lease_status::offered) continue;
                    lease given_back = *l;
                    given_back.status = lease_status::released;
                    given_back.expires = context.now;
                    r.offer = given_back;
                }
                return r;
            }
            if (!requested) return nak("no requested address");
            if (may_have(*requested)) return grant(*requested);
            return nak("address " + requested->to_string() + " is not available");
        }
        if (requested && in.ciaddr.is_unspecified()) {
            // INIT-REBOOT: a client that remembers an address.
            if (!subnet.contains(*requested)) return nak("wrong network");
            if (is_mine(*requested) && may_have(*requested)) return grant(*requested);
            if (!mine.empty()) return nak("address " + requested->to_string() + " is not this client's");
            if (auto reserved = reservation(); reserved == requested && may_have(*requested)) return ack(*requested);
            engine_result r;
            r.why = silence::no_record;
            r.note = "init-reboot for " + requested->to_string() + " of an unknown client";
            return r;
        }
        if (!in.ciaddr.is_unspecified()) {
            // RENEWING (unicast) or REBINDING (broadcast): extend ciaddr.
            const ipv4_address a = in.ciaddr;
            if (!subnet.contains(a)) return nak("wrong network");
            if (is_mine(a) && may_have(a)) return grant(a);
            if (mine.empty() && may_have(a)) return grant(a);  // a lease we lost track of
            if (!mine.empty() || !free_for_us(a)) return nak("address " + a.to_string() + " is not this client's");
            engine_result r;
            r.why = silence::no_record;
            r.note = "renewal of " + a.to_string() + " outside the pools";
            return r;
        }
        return nak("request without an address");
    }

    engine_result decline() {
        engine_result r;
        r.why = silence::no_reply_expected;
        const option* sid = in.find(oc::server_identifier);
        if (sid != nullptr && as_ipv4(sid->data) != server_id) {
            r.why = silence::other_server;
            return r;
        }
        const option* req = in.find(oc::requested_address);
        const auto a = req ? as_ipv4(req->data) : std::nullopt;
        const lease* holder = a ? leases.find_by_address(*a) : nullptr;
        if (holder == nullptr || holder->client_key != key) {
            r.note = "decline of an address this client does not hold";
            return r;
        }
        lease set_aside = *holder;
        set_aside.client_key.clear();
        set_aside.status = lease_status::declined;
        set_aside.expires = context.now + config.decline_hold;
        r.changes.push_back({change_kind::decline, set_aside});
        r.note = "declined " + a->to_string();
        return r;
    }

    engine_result release() {
        engine_result r;
        r.why = silence::no_reply_expected;
        const option* sid = in.find(oc::server_identifier);
        if (sid != nullptr && as_ipv4(sid->data) != server_id) {
            r.why = silence::other_server;
            return r;
        }
        const lease* mine = leases.find_by_address(in.ciaddr);
        if (mine == nullptr || mine->client_key != key || mine->status != lease_status::bound) {
            r.note = "release of an address this client does not hold";
            return r;
        }
        lease released = *mine;
        released.status = lease_status::released;
        released.expires = context.now;
        r.changes.push_back({change_kind::release, released});
        r.note = "released " + in.ciaddr.to_string();
        return r;
    }

    engine_result inform() const {
        // RFC 2131 §4.3.5: configuration only, no lease, no yiaddr.
        engine_result r;
        message out = reply_head(message_type::ack);
        out.ciaddr = in.ciaddr;
        add_options(out, std::nullopt);
        r.to = destination_of(out);
        if (r.to.how == delivery::hardware) r.to.how = delivery::broadcast;  // no ciaddr: nowhere else
        r.reply = std::move(out);
        r.note = "inform";
        return r;
    }
};

const subnet_config* subnet_for(const engine_config& config, ipv4_address link) {
    for (const auto& s : config.subnets) {
        if (s.contains(link)) return &s;
    }
    return nullptr;
}

}  // namespace

engine_result handle(const message& request, const receive_context& context, lease_state& leases,
                     const known_devices& devices, const engine_config& config) {
    engine_result quiet;
    if (request.op != op_code::boot_request) {
        quiet.why = silence::not_a_request;
        return quiet;
    }
    const auto mac = request.mac();
    if (!mac) {
        quiet.why = silence::not_ethernet;
        return quiet;
    }
    const auto type = request.type();
    if (!type || *type == message_type::offer || *type == message_type::ack || *type == message_type::nak) {
        quiet.why = silence::no_message_type;
        return quiet;
    }
    // RFC 2131 §4.3.1: a relayed message's subnet is giaddr's; else the link's.
    const ipv4_address link = request.giaddr.is_unspecified() ? context.interface_address : request.giaddr;
    const subnet_config* subnet = subnet_for(config, link);
    if (subnet == nullptr) {
        quiet.why = silence::no_subnet;
        quiet.note = "no subnet for " + link.to_string();
        return quiet;
    }
    const known_device* device = devices.find(*mac);
    if (config.known_only && device == nullptr) {
        quiet.why = silence::unknown_client;
        return quiet;
    }
    exchange x{request, context, leases, devices, config, *subnet, *mac, client_key_of(request), device,
               context.interface_address};
    switch (*type) {
        case message_type::discover: return x.discover();
        case message_type::request: return x.request();
        case message_type::decline: return x.decline();
        case message_type::release: return x.release();
        case message_type::inform: return x.inform();
        default: break;
    }
    quiet.why = silence::no_message_type;
    return quiet;
}

engine_result handle_and_apply(const message& request, const receive_context& context, lease_state& leases,
                               const known_devices& devices, const engine_config& config) {
    engine_result r = handle(request, context, leases, devices, config);
    if (r.offer) leases.reserve(*r.offer);
    if (!r.changes.empty()) leases.commit(r.changes);
    return r;
}

}  // namespace provbox::dhcp
