#pragma once
// DHCP leases in SQLite (the `leases` table, schema version 3). The DHCP
// server keeps its own connection (lease_table) with synchronous=FULL, so a
// commit is on disk when it returns: the ACK is sent after that. The CLI and
// the provisioning service read and change leases through the free
// functions on any connection.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace provbox::store {

struct lease_row {
  std::uint32_t address = 0;  // IPv4, host byte order
  std::string client_key;
  std::string mac;    // 00:21:f2:01:1b:19
  std::string state;  // bound, released, expired, declined
  std::int64_t expires_at = 0;
  std::string hostname;
  std::int64_t updated_at = 0;
  friend bool operator==(const lease_row&, const lease_row&) = default;
};

std::string format_ipv4(std::uint32_t address);
std::optional<std::uint32_t> parse_ipv4(std::string_view text);  // strict dotted quad

// The DHCP server's connection. Statements are prepared once; commit() is
// one transaction and, with synchronous=FULL in WAL mode, one fsync.
class lease_table {
public:
  // Opens (creating and migrating if needed) the database at path.
  explicit lease_table(const std::string& path);
  lease_table(const lease_table&) = delete;
  lease_table& operator=(const lease_table&) = delete;

  std::vector<lease_row> load_all();

  struct write {
    lease_row row;
    bool forget = false;  // delete the address's row instead of writing it
  };
  // All or nothing: one transaction, one fsync. A written row replaces its
  // address's row and no other: a client may have rows at several
  // addresses (one per subnet it was leased on), which this table keeps.
  void commit(std::span<const write> writes);

  // Moves when another connection (the CLI) changed the database.
  std::int64_t data_version();
  database& db() { return db_; }

private:
  database db_;
  statement begin_;
  statement commit_;
  statement rollback_;
  statement upsert_;
  statement forget_;
  statement data_version_;
};

// For the CLI and the provisioning service, on any connection.
std::vector<lease_row> list_leases(database& db);
// Makes a bound lease released (its client gets the address again if it
// comes back, anyone else once the pool is short). False if no such lease.
bool release_lease(database& db, std::uint32_t address, std::int64_t now);
// The MAC holding `ip` under a bound, unexpired lease.
std::optional<std::string> leased_mac(database& db, const std::string& ip, std::int64_t now);

}  // namespace provbox::store
