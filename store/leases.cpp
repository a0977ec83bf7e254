#include "store/leases.hpp"

#include <arpa/inet.h>

#include "store/schema.hpp"

namespace provbox::store {
namespace {

constexpr std::string_view columns = "address, client_key, mac, state, expires_at, hostname, updated_at";

lease_row read_row(const statement& s) {
  lease_row r;
  r.address = static_cast<std::uint32_t>(s.integer(0));
  r.client_key = s.text(1);
  r.mac = s.text(2);
  r.state = s.text(3);
  r.expires_at = s.integer(4);
  r.hostname = s.text(5);
  r.updated_at = s.integer(6);
  return r;
}

database& migrated(database& db) {
  migrate(db);
  return db;
}

}  // namespace

std::string format_ipv4(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string(address >> 16 & 255) + "." +
         std::to_string(address >> 8 & 255) + "." + std::to_string(address & 255);
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  if (text.size() > 15) return std::nullopt;
  const std::string owned(text);
  in_addr a{};
  if (::inet_pton(AF_INET, owned.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

lease_table::lease_table(const std::string& path)
    : db_(path),
      begin_((migrated(db_), db_.handle()), "BEGIN IMMEDIATE"),
      commit_(db_.handle(), "COMMIT"),
      rollback_(db_.handle(), "ROLLBACK"),
      upsert_(db_.handle(),
              "INSERT INTO leases (address, client_key, mac, state, expires_at, hostname, updated_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO UPDATE SET client_key = excluded.client_key, "
              "mac = excluded.mac, state = excluded.state, expires_at = excluded.expires_at, "
              "hostname = excluded.hostname, updated_at = excluded.updated_at"),
      forget_(db_.handle(), "DELETE FROM leases WHERE address = ?"),
      data_version_(db_.handle(), "PRAGMA data_version") {
  // Every lease is on disk before its ACK leaves: this connection's commits
  // fsync the WAL (the inventory's connection stays at NORMAL).
  db_.exec("PRAGMA synchronous = FULL");
}

std::vector<lease_row> lease_table::load_all() { return list_leases(db_); }

void lease_table::commit(std::span<const write> writes) {
  if (writes.empty()) return;
  // Statements prepared once, BEGIN and COMMIT included: a commit costs no
  // SQL parsing, only the writes and the fsync.
  begin_.reset();
  begin_.run();
  try {
    for (const auto& w : writes) {
      const auto& r = w.row;
      if (w.forget) {
        forget_.reset();
        forget_.bind_all(std::int64_t{r.address});
        forget_.run();
        continue;
      }
      upsert_.reset();
      upsert_.bind_all(std::int64_t{r.address}, r.client_key, r.mac, r.state, r.expires_at, r.hostname,
                       r.updated_at);
      upsert_.run();
    }
    commit_.reset();
    commit_.run();
  } catch (...) {
    try {
      rollback_.reset();
      rollback_.run();
    } catch (...) {
      // The transaction may already be gone (SQLite rolls back on some errors).
    }
    throw;
  }
}

std::int64_t lease_table::data_version() {
  data_version_.reset();
  data_version_.step();
  const auto v = data_version_.integer(0);
  data_version_.reset();
  return v;
}

std::vector<lease_row> list_leases(database& db) {
  auto s = db.prepare("SELECT " + std::string(columns) + " FROM leases ORDER BY address");
  std::vector<lease_row> rows;
  while (s.step()) rows.push_back(read_row(s));
  return rows;
}

bool release_lease(database& db, std::uint32_t address, std::int64_t now) {
  auto s = db.prepare(
      "UPDATE leases SET state = 'released', expires_at = ?, updated_at = ? WHERE address = ? AND state = 'bound'");
  s.bind_all(now, now, std::int64_t{address});
  s.run();
  return db.changes() > 0;
}

std::optional<std::string> leased_mac(database& db, const std::string& ip, std::int64_t now) {
  const auto address = parse_ipv4(ip);
  if (!address) return std::nullopt;
  auto s = db.prepare("SELECT mac FROM leases WHERE address = ? AND state = 'bound' AND expires_at >= ?");
  s.bind_all(std::int64_t{*address}, now);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace provbox::store
