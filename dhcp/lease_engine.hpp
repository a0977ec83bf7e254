#pragma once
// The DHCPv4 lease engine (RFC 2131 §3, §4.3): one decoded message plus the
// lease state in, the reply, where it goes (§4.1) and the lease changes to
// persist out. Pure: no sockets, no clock (the caller passes `now`), no
// database; the state sits behind lease_state so tests run whole DORA
// exchanges in memory and the daemon puts SQLite behind it.

#include "dhcp/options.hpp"
#include "dhcp/packet.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace provbox::dhcp {

// RFC 2131 §4.1: servers listen on 67, clients on 68.
inline constexpr std::uint16_t server_port = 67;
inline constexpr std::uint16_t client_port = 68;

struct address_range {
    ipv4_address first;
    ipv4_address last;  // inclusive
    bool contains(ipv4_address a) const { return first <= a && a <= last; }
    std::uint32_t size() const { return last.to_uint() - first.to_uint() + 1; }
    // "10.0.0.100-10.0.0.200"; nullopt when malformed or first > last.
    static std::optional<address_range> parse(std::string_view text);
};

// ---- leases -----------------------------------------------------------------

enum class lease_status : std::uint8_t {
    offered,   // held for a client between OFFER and REQUEST; never persisted
    bound,     // ACKed; expired once `expires` has passed
    released,  // the client gave it back (RELEASE); kept so it gets it again
    expired,   // reclaimed after expiry; kept so the client gets it again
    declined,  // a client saw it in use (DECLINE); nobody's until `expires`
};
std::string_view to_string(lease_status status);  // "bound", ...
std::optional<lease_status> parse_lease_status(std::string_view text);

struct lease {
    ipv4_address address;
    std::string client_key;  // client_key_of(); "" for a declined address
    mac_address mac{};
    lease_status status = lease_status::bound;
    std::int64_t expires = 0;  // Unix seconds: end of lease, offer hold or decline hold
    std::string hostname;      // option 12, for people reading `lease list`
    friend bool operator==(const lease&, const lease&) = default;
};

// Whether a lease still keeps its address from everyone but its client.
bool holds_address(const lease& l, std::int64_t now);

// RFC 2131 §4.2: the client identifier (61) when sent, else chaddr.
// "id:" + hex of option 61, or "hw:" + hex of htype and chaddr[0..hlen).
std::string client_key_of(const message& msg);

enum class change_kind : std::uint8_t { bind, release, decline, reclaim };
struct lease_change {
    change_kind kind = change_kind::bind;
    lease value;  // the lease as it is after the change
    friend bool operator==(const lease_change&, const lease_change&) = default;
};

// What the engine reads and writes. A lease is kept by its address, one row
// per address as in the table; a client may have one on each subnet (a
// phone moved to another link, or whose link was renumbered, keeps the lease
// it had there). The engine only looks at the ones on the subnet it serves
// the client on, and ends one only by a change it returns. Pointers are
// valid until the next reserve or commit.
class lease_state {
public:
    virtual ~lease_state() = default;
    // What holds `address`: an offer (live or lapsed), else its lease.
    virtual const lease* find_by_address(ipv4_address address) const = 0;
    // All this client has, on every subnet: its offer, if any, and its leases.
    virtual std::vector<const lease*> find_by_client(std::string_view client_key) const = 0;
    // Every address's find_by_address(), once each, in no order.
    virtual void for_each(const std::function<void(const lease&)>& visit) const = 0;
    virtual std::size_t size() const = 0;  // the addresses for_each visits
    // An address in `pools` that no lease holds and `unavailable` does not
    // refuse: one never leased first, else the one longest released or
    // expired. nullopt when the pools are full.
    virtual std::optional<ipv4_address> find_free(std::span<const address_range> pools, std::int64_t now,
                                                  const std::function<bool(ipv4_address)>& unavailable) = 0;
    // An OFFER's hold: memory only, lost on restart (the client asks again).
    // It covers the lease at its address without changing it (that lease
    // is back once the offer ends) and replaces the client's previous
    // offer. A lease in another state ends the client's offer at its address.
    virtual void reserve(const lease& offered) = 0;
    // Bindings, releases, declines, reclaims: each writes the lease at its
    // address (a reclaimed decline removes it) and touches no other address,
    // so what is kept and what is written are the same rows. Durable once
    // this returns (durable_leases: once flushed).
    virtual void commit(std::span<const lease_change> changes) = 0;
};

// The lease state in memory: the engine's test double and the index the
// SQLite-backed state keeps in front of its table.
class memory_leases : public lease_state {
public:
    const lease* find_by_address(ipv4_address address) const override;
    std::vector<const lease*> find_by_client(std::string_view client_key) const override;
    void for_each(const std::function<void(const lease&)>& visit) const override;
    std::size_t size() const override;
    std::optional<ipv4_address> find_free(std::span<const address_range> pools, std::int64_t now,
                                          const std::function<bool(ipv4_address)>& unavailable) override;
    void reserve(const lease& offered) override;
    void commit(std::span<const lease_change> changes) override;

    // Sets the lease at its address as it is, replacing only what was
    // there: the client's leases at other addresses stay.
    void put(const lease& l);
    void erase(ipv4_address address);  // the lease at `address` (not an offer)
    void clear();
    // Bound leases past their end become expired; declines past their hold
    // are forgotten; lapsed offers end. Returns the changes made, to persist them.
    std::vector<lease_change> reclaim(std::int64_t now);
    std::vector<lease> all() const;  // for_each's leases, by address

private:
    void drop_offer(std::uint32_t address);

    std::unordered_map<std::uint32_t, lease> leases_;  // by address, as in the table
    // Offers by address, over the lease (if any) at their address.
    std::unordered_map<std::uint32_t, lease> offers_;
    std::unordered_map<std::string, std::vector<std::uint32_t>> leases_by_client_;
    std::unordered_map<std::string, std::uint32_t> offer_by_client_;  // one offer per client
    std::uint64_t cursor_ = 0;  // where the next search for a never-used address starts
};

// ---- configuration ----------------------------------------------------------

struct subnet_config {
    ipv4_address network;  // 10.77.0.0
    std::uint8_t prefix_length = 24;
    std::vector<address_range> pools;
    std::vector<ipv4_address> routers;      // 3
    std::vector<ipv4_address> dns_servers;  // 6
    std::string domain_name;                // 15
    // 66: "" means the address of the interface the request came in on.
    std::string tftp_server;
    // 67 for a client whose model is not known (inventory or rules); "" sends none.
    std::string boot_file;
    // Configured options (parse_option_value): 150, 160, 43, 60, 42 ...
    // sent when requested (55), or always when the table says so.
    std::vector<option> options;

    ipv4_address mask() const;
    ipv4_address broadcast() const;
    bool contains(ipv4_address a) const;
};

// Names a client's model, hence its option 67, when the inventory does not:
// by vendor class (60) prefix, or by the MAC's first three bytes.
struct model_rule {
    std::string vendor_class_prefix;                   // "" matches any
    std::optional<std::array<std::uint8_t, 3>> oui;    // none matches any
    std::string boot_file;                             // the model's Config File Name
};

struct engine_config {
    std::vector<subnet_config> subnets;
    std::uint32_t lease_time = 3600;  // 51, seconds
    std::uint32_t renewal_time = 0;   // 58 (T1); 0: half the lease (RFC 2131 §4.4.5)
    std::uint32_t rebinding_time = 0; // 59 (T2); 0: 7/8 of the lease
    std::uint32_t offer_hold = 30;    // seconds an OFFERed address waits for its REQUEST
    std::uint32_t decline_hold = 3600;  // seconds a DECLINEd address is set aside
    bool known_only = false;          // answer only devices in the inventory
    std::vector<model_rule> model_rules;

    // Clients outside the inventory (known_devices): shorter leases and
    // offer holds, never longer than lease_time and offer_hold, so a scan
    // with random MACs gives its addresses back within minutes. 0: as for
    // devices.
    // Their T1 and T2 are half and 7/8 of their lease (RFC 2131 §4.4.5).
    std::uint32_t unknown_lease_time = 0;
    std::uint32_t unknown_offer_hold = 0;
    // Free addresses of each subnet's pools that such clients never take,
    // at the least; room_for_unknown in lease_engine.cpp has the whole rule.
    std::uint32_t known_reserve = 0;
};

// The inventory as the engine sees it: known MACs, their static address
// (a reservation) and their model's Config File Name.
struct known_device {
    ipv4_address static_address;  // unspecified: none
    std::string boot_file;
};
struct known_devices {
    std::map<mac_address, known_device> by_mac;
    std::map<ipv4_address, mac_address> by_address;  // reservations
    std::size_t without_static_address = 0;          // the devices that need a pool address
    // Adds a device, or replaces what was known of its MAC.
    void add(const mac_address& mac, known_device device);
    const known_device* find(const mac_address& mac) const;
};

// ---- one message in, one decision out ----------------------------------------

struct receive_context {
    // This server's address on the interface the message came in on: the
    // server identifier (54), option 66 by default, and the subnet served to
    // clients on that link (a relayed message picks its subnet by giaddr).
    ipv4_address interface_address;
    std::int64_t now = 0;  // Unix seconds
};

// RFC 2131 §4.1, in its order of precedence.
enum class delivery : std::uint8_t {
    relay,         // giaddr, port 67
    client,        // ciaddr, port 68
    broadcast,     // 255.255.255.255:68: the broadcast flag, or any NAK not relayed
    hardware,      // yiaddr:68 at chaddr; the server broadcasts if it cannot
};
std::string_view to_string(delivery d);

struct destination {
    delivery how = delivery::broadcast;
    ipv4_address address;  // where the datagram is addressed
    std::uint16_t port = client_port;
    mac_address mac{};     // for delivery::hardware
};

// Why no reply: a value, for counters and the log.
enum class silence : std::uint8_t {
    none,               // a reply is in `reply`
    not_a_request,      // op is BOOTREPLY
    not_ethernet,       // htype/hlen other than 1/6
    no_message_type,    // BOOTP, or no 53, or a server-only type
    no_subnet,          // the link or giaddr matches no configured subnet
    unknown_client,     // known-only and not in the inventory
    other_server,       // REQUEST or DECLINE for another server's offer
    pool_exhausted,     // DISCOVER and no address to offer
    reserved_for_known, // DISCOVER of a client outside the inventory; what is free is kept for devices
    no_record,          // INIT-REBOOT/REBINDING of a client we know nothing of (§4.3.2)
    no_reply_expected,  // RELEASE, DECLINE (handled; nothing to send)
};
std::string_view to_string(silence s);

struct engine_result {
    std::optional<message> reply;
    destination to;
    silence why = silence::none;
    std::optional<lease> offer;        // to reserve() before sending
    std::vector<lease_change> changes; // to commit() before sending
    std::string note;                  // one line for the log: what was decided
};

// Reads `leases` (and moves its allocation cursor) but changes no lease:
// the caller applies the result.
engine_result handle(const message& request, const receive_context& context, lease_state& leases,
                     const known_devices& devices, const engine_config& config);

// Runs handle() and applies its result to `leases`: reserve the offer,
// commit the changes. What a server does before sending the reply.
engine_result handle_and_apply(const message& request, const receive_context& context, lease_state& leases,
                               const known_devices& devices, const engine_config& config);

}  // namespace provbox::dhcp
