#pragma once
// The certificates the device CA issued, and which of them are revoked. The
// HTTPS handshake asks is_acceptable for every client certificate, so a
// revocation here takes effect on the next connection. Every change is one
// transaction and moves the inventory's revision, so a running daemon sees
// that something changed.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/profile/mac_address.hpp"
#include "store/database.hpp"

namespace provbox::store {

enum class certificate_kind { device, server };
std::string_view to_string(certificate_kind kind);

struct certificate_record {
  std::string serial = {};   // uppercase hex, as `openssl x509 -serial` prints it
  std::string subject = {};  // a device's MAC (00:21:f2:01:1b:19) or the server's name
  certificate_kind kind = certificate_kind::device;
  std::string not_before = {};  // ISO 8601 UTC
  std::string not_after = {};
  std::string issued_at = {};                 // set by the store
  std::optional<std::string> revoked_at = {};  // set by revoke
};

// The serial in the stored spelling: hex digits upper-cased, with the
// colons of `openssl x509 -text` and a "serial=" prefix dropped. nullopt
// for anything else.
std::optional<std::string> normalize_serial(std::string_view text);

class certificates {
public:
  // `db` must be migrated (store::inventory does that) and outlive this.
  explicit certificates(database& db) : db_(db) {}

  // Records an issued certificate (issued_at and revoked_at are ignored).
  // A serial already recorded, or one not in hex, is a store_error.
  void record(const certificate_record& certificate);

  // The handshake's question: a recorded device certificate, not revoked.
  bool is_acceptable(std::string_view serial);

  std::optional<certificate_record> find(std::string_view serial);
  // Oldest first; only `subject`'s when given.
  std::vector<certificate_record> list(std::optional<std::string_view> subject = std::nullopt);

  // Both return the serials this call revoked: empty when nothing matched
  // or everything that matched was revoked already (the revision then
  // stays as it was).
  std::vector<std::string> revoke(std::string_view serial);
  std::vector<std::string> revoke_device(const profile::mac_address& mac);

private:
  std::vector<std::string> revoke_where(std::string_view condition, std::string_view value);

  database& db_;
};

}  // namespace provbox::store
