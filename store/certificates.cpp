#include "store/certificates.hpp"

namespace provbox::store {
namespace {

constexpr std::string_view columns = "serial, subject, kind, not_before, not_after, issued_at, revoked_at";

certificate_record read_record(const statement& row) {
  certificate_record c;
  c.serial = row.text(0);
  c.subject = row.text(1);
  c.kind = row.text(2) == "server" ? certificate_kind::server : certificate_kind::device;
  c.not_before = row.text(3);
  c.not_after = row.text(4);
  c.issued_at = row.text(5);
  if (!row.is_null(6)) c.revoked_at = row.text(6);
  return c;
}

// The running daemon drops what it cached when this counter moves.
void move_revision(database& db) { db.exec("UPDATE meta SET value = value + 1 WHERE key = 'revision'"); }

}  // namespace

std::string_view to_string(certificate_kind kind) { return kind == certificate_kind::server ? "server" : "device"; }

std::optional<std::string> normalize_serial(std::string_view text) {
  if (text.starts_with("serial=")) text.remove_prefix(7);
  std::string serial;
  for (const char c : text) {
    if (c == ':') continue;
    if (c >= '0' && c <= '9') {
      serial += c;
    } else if (c >= 'a' && c <= 'f') {
      serial += static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'F') {
      serial += c;
    } else {
      return std::nullopt;
    }
  }
  // RFC 5280 §4.1.2.2: at most 20 octets.
  if (serial.empty() || serial.size() > 40) return std::nullopt;
  return serial;
}

void certificates::record(const certificate_record& certificate) {
  const auto serial = normalize_serial(certificate.serial);
  if (!serial) throw store_error("not a certificate serial number: '" + certificate.serial + "'");
  transaction tx(db_);
  db_.prepare("INSERT INTO certificates (serial, subject, kind, not_before, not_after) VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind_all(*serial, certificate.subject, to_string(certificate.kind), certificate.not_before,
                certificate.not_after)
      .run();
  // A cache of "who may connect" must see the new certificate too.
  move_revision(db_);
  tx.commit();
}

bool certificates::is_acceptable(std::string_view serial) {
  const auto normalized = normalize_serial(serial);
  if (!normalized) return false;
  auto stmt = db_.prepare(
      "SELECT 1 FROM certificates WHERE serial = ?1 AND kind = 'device' AND revoked_at IS NULL");
  stmt.bind_all(*normalized);
  return stmt.step();
}

std::optional<certificate_record> certificates::find(std::string_view serial) {
  const auto normalized = normalize_serial(serial);
  if (!normalized) return std::nullopt;
  auto stmt = db_.prepare("SELECT " + std::string(columns) + " FROM certificates WHERE serial = ?1");
  stmt.bind_all(*normalized);
  if (!stmt.step()) return std::nullopt;
  return read_record(stmt);
}

std::vector<certificate_record> certificates::list(std::optional<std::string_view> subject) {
  // One snapshot, even while the daemon or another CLI writes.
  transaction tx(db_, transaction::kind::read);
  auto stmt = db_.prepare("SELECT " + std::string(columns) + " FROM certificates" +
                          (subject ? " WHERE subject = ?1" : "") + " ORDER BY issued_at, serial");
  if (subject) stmt.bind_all(*subject);
  std::vector<certificate_record> out;
  while (stmt.step()) out.push_back(read_record(stmt));
  tx.commit();
  return out;
}

std::vector<std::string> certificates::revoke(std::string_view serial) {
  const auto normalized = normalize_serial(serial);
  if (!normalized) return {};
  return revoke_where("serial = ?1", *normalized);
}

std::vector<std::string> certificates::revoke_device(const profile::mac_address& mac) {
  return revoke_where("subject = ?1 AND kind = 'device'", mac.colon_lower());
}

std::vector<std::string> certificates::revoke_where(std::string_view condition, std::string_view value) {
  transaction tx(db_);
  auto stmt = db_.prepare(
      "UPDATE certificates SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE revoked_at IS NULL AND " +
      std::string(condition) + " RETURNING serial");
  stmt.bind_all(value);
  std::vector<std::string> revoked;
  while (stmt.step()) revoked.push_back(stmt.text(0));
  if (!revoked.empty()) move_revision(db_);
  tx.commit();
  return revoked;
}

}  // namespace provbox::store
