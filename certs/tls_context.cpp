#include "certs/tls_context.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "certs/openssl_handles.hpp"
#include "certs/pem_files.hpp"

namespace provbox::certs {
namespace {

using namespace detail;

// Sessions live a day: phones resync hourly to daily, and every resumption
// re-checks revocation, so a long life costs only cache memory (bounded by
// tls_settings::session_cache_size; tickets cost none).
constexpr long session_lifetime_seconds = 24 * 60 * 60;
// Any fixed bytes do; without them OpenSSL refuses to cache sessions of
// verified clients and every resumption attempt fails.
constexpr unsigned char session_id_context[] = "provbox-device-https";
constexpr int reissue_days_before_expiry = 30;

// Everything the callbacks need, owned by the SSL_CTX through its ex_data
// (freed when the context is), so callers keep no object alive.
struct tls_state {
  revocation_check is_acceptable;

  // The server session cache, kept here rather than in OpenSSL so a cached
  // session can be looked at before OpenSSL resumes it. OpenSSL's internal
  // cache is off entirely: with a remove callback set it also stored every
  // TLS 1.3 session (11 KB each, 20480 of them by default), which grew the
  // daemon by ~11 KB per handshake.
  //
  // What it holds: TLS 1.2 sessions of clients without tickets (resumed by
  // session id), and TLS 1.3 sessions behind stateful tickets. A stateful
  // ticket only names a session kept here; a stateless one carries the
  // session, and OpenSSL 3.0 makes it by serializing the session and
  // parsing it back, the device's certificate included: 150 us more per
  // full handshake. So a device gets a stateful ticket while there is room
  // (at most one session per device: its newest), and a stateless one when
  // the cache is full, which costs that CPU but no memory. Either resumes.
  // Expired sessions leave when a resumption or a newcomer finds them; TLS
  // 1.2 sessions beyond the cap push out the oldest. One reference per entry.
  struct cached_session {
    SSL_SESSION* session;
    std::uint64_t order;  // insertion number: the smallest is the oldest
    std::string device;   // the client's MAC, "" if it has none
  };
  std::mutex mutex;
  std::size_t capacity = 2048;
  std::uint64_t next_order = 0;
  std::unordered_map<std::string, cached_session> sessions;
  std::map<std::uint64_t, std::string> by_age;                 // order -> key
  std::unordered_map<std::string, std::string> key_of_device;  // MAC -> key of its newest session

  ~tls_state() {
    for (auto& entry : sessions) SSL_SESSION_free(entry.second.session);
  }

  // Takes over the caller's reference. Called with the mutex held.
  void keep(std::string key, SSL_SESSION* session, const std::string& device) {
    if (auto found = sessions.find(key); found != sessions.end()) forget(found);
    if (!device.empty()) {
      if (auto older = key_of_device.find(device); older != key_of_device.end()) forget(sessions.find(older->second));
    }
    drop_expired();
    while (!sessions.empty() && sessions.size() >= capacity) forget(sessions.find(by_age.begin()->second));
    if (capacity == 0) {
      SSL_SESSION_free(session);
      return;
    }
    const auto order = next_order++;
    by_age.emplace(order, key);
    if (!device.empty()) key_of_device[device] = key;
    sessions.emplace(std::move(key), cached_session{session, order, device});
  }

  void forget(std::unordered_map<std::string, cached_session>::iterator entry) {
    if (entry == sessions.end()) return;
    if (!entry->second.device.empty()) {
      const auto mine = key_of_device.find(entry->second.device);
      if (mine != key_of_device.end() && mine->second == entry->first) key_of_device.erase(mine);
    }
    SSL_SESSION_free(entry->second.session);
    by_age.erase(entry->second.order);
    sessions.erase(entry);
  }

  // Oldest first, so this stops at the first session still alive (all share
  // one lifetime). Called with the mutex held.
  void drop_expired() {
    const auto now = static_cast<long>(std::time(nullptr));
    while (!by_age.empty()) {
      const auto oldest = sessions.find(by_age.begin()->second);
      if (SSL_SESSION_get_time(oldest->second.session) + SSL_SESSION_get_timeout(oldest->second.session) > now) break;
      forget(oldest);
    }
  }

  // Whether this device's next TLS 1.3 ticket may be stateful (see above).
  bool room_for(const std::string& device) {
    std::lock_guard lock(mutex);
    if (key_of_device.contains(device)) return true;  // it replaces its own
    drop_expired();
    return sessions.size() < capacity;
  }

  // Chooses the kind of TLS 1.3 ticket this connection will send. The
  // choice is read when the ticket is made, after the client's certificate
  // (or the resumed session) told who it is.
  void choose_ticket(SSL* ssl, const X509* peer) noexcept {
    if (ssl == nullptr || SSL_version(ssl) != TLS1_3_VERSION) return;  // TLS 1.2 decided in its hello
    try {
      const auto identity = peer ? device_identity(peer) : std::nullopt;
      if (identity && room_for(identity->colon_lower())) SSL_set_options(ssl, SSL_OP_NO_TICKET);
      else SSL_clear_options(ssl, SSL_OP_NO_TICKET);
    } catch (...) {
      SSL_clear_options(ssl, SSL_OP_NO_TICKET);
    }
  }

  // Never throw: these run inside OpenSSL's C callbacks, and an exception
  // there would unwind through C frames. Any failure refuses the client.
  bool serial_acceptable(const std::string& serial) noexcept {
    try {
      return !serial.empty() && is_acceptable(serial);
    } catch (...) {
      return false;
    }
  }

  // The whole client check: a MAC identity and an acceptable serial.
  bool acceptable(const X509* leaf) noexcept {
    try {
      return leaf != nullptr && device_identity(leaf).has_value() && serial_acceptable(serial_hex(leaf));
    } catch (...) {
      return false;
    }
  }
};

void free_state(void*, void* state, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<tls_state*>(state); }

int state_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

tls_state* state_of(const SSL_CTX* ctx) { return static_cast<tls_state*>(SSL_CTX_get_ex_data(ctx, state_index())); }

std::string session_key(const SSL_SESSION* session) {
  unsigned int length = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &length);
  return std::string(reinterpret_cast<const char*>(id), length);
}

// Replaces OpenSSL's call to X509_verify_cert for client certificates:
// OpenSSL's chain check first (anchor, signatures, dates, purpose
// sslclient, depth), then ours on the leaf.
int verify_client(X509_STORE_CTX* store, void* arg) {
  if (X509_verify_cert(store) <= 0) return 0;
  auto* state = static_cast<tls_state*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  X509_STORE_CTX_set_error_depth(store, 0);
  X509_STORE_CTX_set_current_cert(store, leaf);
  std::optional<profile::mac_address> identity;
  std::string serial;
  try {
    identity = device_identity(leaf);
    serial = serial_hex(leaf);
  } catch (...) {
    identity.reset();
  }
  if (!identity) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (!state->serial_acceptable(serial)) {
    // Unknown serials too: a certificate the store never recorded (a lost
    // database, a stolen CA key) is treated as revoked.
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);
    return 0;
  }
  state->choose_ticket(static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx())),
                       leaf);
  return 1;
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* state = state_of(SSL_get_SSL_CTX(ssl));
  if (state == nullptr) return 0;
  // A stateless TLS 1.3 ticket carries its session; nothing to keep.
  if (SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION && (SSL_get_options(ssl) & SSL_OP_NO_TICKET) == 0)
    return 0;
  try {
    auto key = session_key(session);
    if (key.empty()) return 0;
    const auto* peer = SSL_SESSION_get0_peer(session);
    const auto identity = peer ? device_identity(peer) : std::nullopt;
    std::lock_guard lock(state->mutex);
    state->keep(std::move(key), session, identity ? identity->colon_lower() : std::string());
    return 1;  // we keep the reference OpenSSL took for us
  } catch (...) {
    return 0;
  }
}

void on_remove_session(SSL_CTX* ctx, SSL_SESSION* session) {
  auto* state = state_of(ctx);
  if (state == nullptr) return;
  try {
    std::lock_guard lock(state->mutex);
    const auto entry = state->sessions.find(session_key(session));
    if (entry != state->sessions.end() && entry->second.session == session) state->forget(entry);
  } catch (...) {
  }
}

SSL_SESSION* on_get_session(SSL* ssl, const unsigned char* id, int length, int* copy) {
  *copy = 0;  // the reference taken below becomes the caller's
  auto* state = state_of(SSL_get_SSL_CTX(ssl));
  if (state == nullptr || length <= 0) return nullptr;
  SSL_SESSION* session = nullptr;
  try {
    std::lock_guard lock(state->mutex);
    const auto entry =
        state->sessions.find(std::string(reinterpret_cast<const char*>(id), static_cast<std::size_t>(length)));
    if (entry == state->sessions.end()) return nullptr;
    session = entry->second.session;
    SSL_SESSION_up_ref(session);
  } catch (...) {
    return nullptr;
  }
  // Checked outside the lock: the revocation check may read the database.
  if (!state->acceptable(SSL_SESSION_get0_peer(session))) {
    SSL_SESSION_free(session);
    return nullptr;  // a full handshake follows, and refuses the certificate
  }
  state->choose_ticket(ssl, SSL_SESSION_get0_peer(session));
  return session;
}

SSL_TICKET_RETURN on_decrypt_ticket(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                    SSL_TICKET_STATUS status, void* arg) {
  // Empty or undecryptable tickets: what OpenSSL does without a callback.
  if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW) return SSL_TICKET_RETURN_IGNORE_RENEW;
  auto* state = static_cast<tls_state*>(arg);
  if (!state->acceptable(SSL_SESSION_get0_peer(session))) return SSL_TICKET_RETURN_IGNORE_RENEW;
  state->choose_ticket(ssl, SSL_SESSION_get0_peer(session));
  return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

// A TLS 1.3 client resuming offers its ticket as the first PSK identity:
// a stateful ticket is a session id (32 bytes), a stateless one carries the
// whole session (about a kilobyte). OpenSSL looks one kind up in the session
// cache and decrypts the other, choosing by SSL_OP_NO_TICKET, so that option
// is set here from what the client offers; the kind of the ticket sent next
// is chosen later, once the client is known (tls_state::choose_ticket).
int on_client_hello(SSL* ssl, int*, void*) {
  const unsigned char* psk = nullptr;
  std::size_t length = 0;
  bool stateful = false;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &psk, &length) == 1 && length >= 4) {
    const std::size_t identity_length = (std::size_t{psk[2]} << 8) | psk[3];
    stateful = identity_length > 0 && identity_length <= SSL_MAX_SSL_SESSION_ID_LENGTH;
  }
  if (stateful) SSL_set_options(ssl, SSL_OP_NO_TICKET);
  else SSL_clear_options(ssl, SSL_OP_NO_TICKET);
  return SSL_CLIENT_HELLO_SUCCESS;
}

int no_passphrase(char*, int, int, void*) { return 0; }

void load_server_certificate(SSL_CTX* ctx, const tls_settings& settings) {
  if (SSL_CTX_use_certificate_chain_file(ctx, settings.certificate_file.c_str()) != 1)
    throw_openssl_error("cannot use the server certificate " + settings.certificate_file.string());
  // Read here rather than with SSL_CTX_use_PrivateKey_file, which would
  // prompt on the terminal for an encrypted key's passphrase.
  bio_ptr bio(BIO_new_file(settings.key_file.c_str(), "r"));
  if (!bio) throw_openssl_error("cannot open the server key " + settings.key_file.string());
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) throw_openssl_error("no unencrypted PEM private key in " + settings.key_file.string());
  check(SSL_CTX_use_PrivateKey(ctx, key.get()), "cannot use the server key " + settings.key_file.string());
  check(SSL_CTX_check_private_key(ctx), "the server key " + settings.key_file.string() +
                                            " does not belong to the certificate " +
                                            settings.certificate_file.string());
}

void trust_only_device_ca(SSL_CTX* ctx, const std::filesystem::path& ca_file) {
  // A fresh store rather than the context's: whatever anchors it had (the
  // system's, if someone called set_default_verify_paths) must not vouch
  // for devices.
  x509_store_ptr store(check_not_null(X509_STORE_new(), "cannot allocate a certificate store"));
  check(X509_STORE_load_file(store.get(), ca_file.c_str()), "cannot load the device CA " + ca_file.string());
  SSL_CTX_set_cert_store(ctx, store.release());
  // The CA names sent in CertificateRequest: phones with several client
  // certificates pick the one issued by this CA.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (names == nullptr) throw_openssl_error("no CA certificate in " + ca_file.string());
  SSL_CTX_set_client_CA_list(ctx, names);
}

// Why the certificate at `files` must be issued again, or "" when it is fine.
std::string reason_to_reissue(const authority& ca, const server_certificate_files& files, const alt_names& wanted) {
  if (!std::filesystem::exists(files.certificate_file) || !std::filesystem::exists(files.key_file))
    return "no server certificate yet";
  bio_ptr certificate_bio(BIO_new_file(files.certificate_file.c_str(), "r"));
  x509_ptr certificate(certificate_bio ? PEM_read_bio_X509(certificate_bio.get(), nullptr, nullptr, nullptr)
                                       : nullptr);
  bio_ptr key_bio(BIO_new_file(files.key_file.c_str(), "r"));
  pkey_ptr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  // These files are ours; an unreadable one is replaced, not reported.
  drain_openssl_errors();
  if (!certificate) return "unreadable certificate";
  if (!key) return "unreadable key";
  if (X509_check_private_key(certificate.get(), key.get()) != 1) {
    drain_openssl_errors();
    return "key does not match the certificate";
  }
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.certificate());
  if (X509_check_issued(ca.certificate(), certificate.get()) != X509_V_OK || ca_key == nullptr ||
      X509_verify(certificate.get(), ca_key) != 1) {
    drain_openssl_errors();
    return "issued by another CA";
  }
  auto have = subject_alt_names(certificate.get());
  auto want = wanted;
  for (auto* names : {&have, &want}) {
    std::sort(names->dns_names.begin(), names->dns_names.end());
    std::sort(names->ip_addresses.begin(), names->ip_addresses.end());
  }
  if (have != want) return "host names or addresses changed";
  std::time_t soon = std::time(nullptr) + std::time_t{reissue_days_before_expiry} * 24 * 60 * 60;
  if (X509_cmp_time(X509_get0_notAfter(certificate.get()), &soon) <= 0)
    return "expires within 30 days";
  return "";
}

}  // namespace

void configure_server_tls(SSL_CTX* ctx, const tls_settings& settings, revocation_check is_acceptable) {
  if (ctx == nullptr) throw std::invalid_argument("configure_server_tls: no SSL_CTX");
  // Without a check every certificate the CA ever issued would be accepted
  // forever; refuse to run that way rather than fail open.
  if (!is_acceptable) throw std::invalid_argument("configure_server_tls: no revocation check");
  if (state_index() < 0) throw_openssl_error("cannot allocate SSL_CTX ex_data");
  if (state_of(ctx) != nullptr) throw std::logic_error("configure_server_tls: this SSL_CTX is already configured");

  load_server_certificate(ctx, settings);
  trust_only_device_ca(ctx, settings.ca_file);

  check(SSL_CTX_set_min_proto_version(ctx, settings.legacy ? TLS1_VERSION : TLS1_2_VERSION),
        "cannot set the minimum TLS version");
  // OpenSSL 3 refuses TLS 1.0/1.1 and SHA-1 signatures from security level
  // 1 up; the phones that need legacy need level 0 as well.
  if (settings.legacy) check(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"), "cannot set the legacy ciphers");
  // Client-initiated renegotiation costs the server a full handshake each
  // time and no phone needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Send the chain the certificate file has, nothing more. Otherwise OpenSSL
  // completes it from the trust store, which holds the device CA (for the
  // clients' certificates): each handshake then re-verified the server's own
  // certificate and sent the CA too, 820 bytes the device already has as
  // its trust anchor and parses for nothing. An operator's intermediate CA
  // goes in the certificate file, after the server's certificate.
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);

  auto state = std::make_unique<tls_state>();
  state->is_acceptable = std::move(is_acceptable);
  state->capacity = settings.session_cache_size;
  check(SSL_CTX_set_ex_data(ctx, state_index(), state.get()), "cannot attach state to the SSL_CTX");
  auto* shared = state.release();  // the SSL_CTX owns it now (free_state)

  // verify_peer alone lets a client that sends no certificate in.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx, 2);
  SSL_CTX_set_cert_verify_callback(ctx, verify_client, shared);

  check(SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1),
        "cannot set the session id context");
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  SSL_CTX_sess_set_remove_cb(ctx, on_remove_session);
  SSL_CTX_sess_set_get_cb(ctx, on_get_session);
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, nullptr);
  SSL_CTX_set_timeout(ctx, session_lifetime_seconds);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  // TLS 1.3 sends two tickets by default, each costing a few hundred
  // microseconds to make; a device resumes with one.
  check(SSL_CTX_set_num_tickets(ctx, 1), "cannot set the number of session tickets");
  check(SSL_CTX_set_session_ticket_cb(ctx, nullptr, on_decrypt_ticket, shared), "cannot set the ticket callback");
}

std::size_t cached_sessions(SSL_CTX* ctx) {
  auto* state = state_of(ctx);
  if (state == nullptr) return 0;
  std::lock_guard lock(state->mutex);
  return state->sessions.size();
}

std::optional<profile::mac_address> peer_identity(const SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  return device_identity(SSL_get0_peer_certificate(ssl));
}

std::string peer_serial(const SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  const X509* peer = SSL_get0_peer_certificate(ssl);
  return peer ? serial_hex(peer) : std::string();
}

server_certificate_files ensure_server_certificate(const authority& ca, const std::filesystem::path& data_dir,
                                                   const std::vector<std::string>& dns_names,
                                                   const std::vector<std::string>& ip_addresses) {
  const auto folder = data_dir / "tls";
  server_certificate_files files{folder / "server.pem", folder / "server.key", std::nullopt, ""};
  const auto wanted = canonical_alt_names(dns_names, ip_addresses);
  if (wanted.dns_names.empty() && wanted.ip_addresses.empty())
    throw std::invalid_argument("the server certificate needs at least one host name or address");
  files.reason = reason_to_reissue(ca, files, wanted);
  if (files.reason.empty()) return files;

  if (std::filesystem::create_directories(folder))
    std::filesystem::permissions(folder, std::filesystem::perms::owner_all);
  files.issued = ca.issue_server_certificate(wanted.dns_names, wanted.ip_addresses);
  // A crash between the two writes leaves a mismatched pair, which the next
  // call detects and replaces.
  write_file_atomically(files.key_file, files.issued->private_key_pem, 0600);
  write_file_atomically(files.certificate_file, files.issued->certificate_pem, 0644);
  return files;
}

}  // namespace provbox::certs
