#pragma once
// The HTTPS server's TLS settings on a raw SSL_CTX (an asio::ssl::context's
// native_handle()), so this folder needs no Asio: mutual TLS against the
// device CA, revocation looked up on every handshake (resumed ones too),
// session resumption for resync storms, and a legacy switch for old phones.
#include <openssl/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/authority.hpp"
#include "server/profile/mac_address.hpp"

namespace provbox::certs {

struct tls_settings {
  std::filesystem::path certificate_file;  // the server's certificate (a chain file may follow it)
  std::filesystem::path key_file;          // its unencrypted private key
  std::filesystem::path ca_file;           // the device CA: the only trust anchor for client certificates
  // TLS 1.0 and OpenSSL security level 0 for phones that know nothing newer.
  bool legacy = false;
  // Sessions the server keeps: one per device behind a stateful TLS 1.3
  // ticket (cheaper to make than a stateless one), and TLS 1.2 sessions of
  // clients without tickets. Each holds the device's certificate, about
  // 11 KB, so this bounds that memory: once full, TLS 1.3 devices get
  // stateless tickets (no memory, 150 us more CPU per full handshake) and
  // TLS 1.2 sessions push out the oldest.
  std::size_t session_cache_size = 2048;
};

// Whether a client certificate with this serial (uppercase hex) may connect:
// known and not revoked. It must not throw; if it does, the client is refused.
// Runs on the thread doing the handshake, once per full or resumed handshake.
using revocation_check = std::function<bool(std::string_view serial_hex)>;

// Sessions the server holds now (for /metrics and tests); 0 for a context
// configure_server_tls did not set up.
std::size_t cached_sessions(SSL_CTX* ctx);

// Sets `ctx` up for device HTTPS:
// - the server certificate and key (checked to match);
// - client certificates required (verify_peer and fail-if-no-peer-cert),
//   `settings.ca_file` as the only trust anchor and as the CA list sent to
//   clients, verify depth 2;
// - after OpenSSL's own chain check passes, the leaf is refused unless
//   device_identity finds a MAC and `is_acceptable(serial)` says yes
//   (SSL_get_verify_result then reports X509_V_ERR_CERT_REVOKED or
//   X509_V_ERR_APPLICATION_VERIFICATION);
// - TLS 1.2 at least, or TLS 1.0 and "DEFAULT:@SECLEVEL=0" when legacy;
// - server-side session cache and session tickets, with the revocation
//   check repeated before any session is resumed, so revoking takes effect
//   on the next connection without a restart;
// - no client-initiated renegotiation.
// Throws std::runtime_error (file names and OpenSSL's reason) when a file is
// unreadable or the key does not match; std::logic_error when called twice
// on one context. Do not change the verify mode or callbacks afterwards.
void configure_server_tls(SSL_CTX* ctx, const tls_settings& settings, revocation_check is_acceptable);

// The device behind a completed handshake: the verified peer certificate's
// device_identity, or nullopt (no certificate, or verification failed).
std::optional<profile::mac_address> peer_identity(const SSL* ssl);
// That certificate's serial (uppercase hex, as is_acceptable gets it), or ""
// under the same conditions. A connection keeps it to ask is_acceptable
// again later: a revocation must also end connections already open.
std::string peer_serial(const SSL* ssl);

struct server_certificate_files {
  std::filesystem::path certificate_file;  // <data_dir>/tls/server.pem
  std::filesystem::path key_file;          // <data_dir>/tls/server.key (0600)
  // Set when this call issued a new certificate (to record in the store),
  // with why: "no server certificate yet", "host names or addresses
  // changed", "expires within 30 days", "issued by another CA", ...
  std::optional<issued_certificate> issued;
  std::string reason;
};

// Makes sure `<data_dir>/tls/server.pem` and `server.key` exist, were
// issued by `ca`, match each other, name exactly these host names and
// addresses (in any order and spelling), and stay valid for 30 more days;
// otherwise issues and writes a new pair. std::invalid_argument for a
// malformed name or address, std::runtime_error for a file that cannot be
// written.
server_certificate_files ensure_server_certificate(const authority& ca, const std::filesystem::path& data_dir,
                                                   const std::vector<std::string>& dns_names,
                                                   const std::vector<std::string>& ip_addresses);

}  // namespace provbox::certs
