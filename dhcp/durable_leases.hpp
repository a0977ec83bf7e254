#pragma once
// The lease state the daemon uses: memory_leases in front of the SQLite
// lease table. Lookups and allocation are in memory; commit() updates
// memory at once and queues the rows, and flush() writes every queued row in
// one transaction (one fsync). The server handles a batch of datagrams,
// flushes, and only then sends their replies: every lease is on disk before
// its ACK leaves, at one fsync per batch rather than per ACK.
//
// Memory and table hold the same rows, one per address: every row is loaded,
// whatever subnet or range it was leased from, and commit() writes each
// change's row and nothing else. Deciding which of a client's leases ends
// is the engine's, in changes of its own (lease_state).

#include "dhcp/lease_engine.hpp"
#include "store/leases.hpp"

#include <string>
#include <vector>

namespace provbox::dhcp {

class durable_leases : public lease_state {
public:
    // Opens the database at path (migrating it) and loads every lease.
    explicit durable_leases(const std::string& database_path);

    const lease* find_by_address(ipv4_address address) const override;
    std::vector<const lease*> find_by_client(std::string_view client_key) const override;
    void for_each(const std::function<void(const lease&)>& visit) const override;
    std::size_t size() const override { return memory_.size(); }
    std::optional<ipv4_address> find_free(std::span<const address_range> pools, std::int64_t now,
                                          const std::function<bool(ipv4_address)>& unavailable) override;
    void reserve(const lease& offered) override;
    void commit(std::span<const lease_change> changes) override;

    // Writes what commit() queued; throws store::store_error on failure, and
    // then memory is reloaded from the table (the batch's ACKs must not go).
    void flush();
    std::size_t pending() const { return pending_.size(); }

    // flush() in two halves, for a server that commits on another thread:
    // take_pending() on the owning thread, write() anywhere while the owning
    // thread goes on (it must not call refresh_if_changed, flush or reload
    // until write returns). After a failed write, call reload().
    std::vector<store::lease_table::write> take_pending();
    void write(std::span<const store::lease_table::write> writes);
    void reload();
    // Reloads when another connection (`provbox lease release`) changed the
    // database. Cheap (PRAGMA data_version); call it once per batch.
    void refresh_if_changed();
    // Bound leases past their end become expired, declines past their hold
    // are dropped; queued for the next flush. Returns how many changed.
    std::size_t reclaim(std::int64_t now);

    std::vector<lease> all() const { return memory_.all(); }

private:
    store::lease_table table_;
    memory_leases memory_;
    std::vector<store::lease_table::write> pending_;
    std::int64_t seen_version_ = 0;
};

store::lease_row to_row(const lease& l, std::int64_t now);
std::optional<lease> from_row(const store::lease_row& row);

}  // namespace provbox::dhcp
