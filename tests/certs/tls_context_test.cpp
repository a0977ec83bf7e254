// The device HTTPS context, exercised without sockets or Asio: a server
// SSL_CTX from configure_server_tls and a client SSL_CTX acting as a phone,
// joined by an in-memory BIO pair and driven handshake step by handshake
// step on this thread.
#include "certs/tls_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <set>
#include <stdexcept>

#include "certs/pem_files.hpp"
#include "tests/certs/test_support.hpp"

namespace provbox::certs {
namespace {

using ::testing::HasSubstr;
using namespace test_support;
using ssl_ctx_ptr = openssl_ptr<SSL_CTX, SSL_CTX_free>;
using ssl_ptr = openssl_ptr<SSL, SSL_free>;

const auto phone = *profile::mac_address::parse("00:21:f2:01:1b:19");
const auto ata = *profile::mac_address::parse("00:21:f2:22:ae:f1");

// What one connection attempt came to, as the server saw it.
struct outcome {
  bool completed = false;  // both ends finished the handshake
  long verify_result = X509_V_OK;
  std::optional<profile::mac_address> identity;
  std::string serial;  // peer_serial: what an open connection is re-checked with
  bool resumed = false;
  int version = 0;
  int certificates_sent = 0;  // by the server, as the client received them
  ssl_session_ptr session;    // the client's, to resume with
};

outcome connect(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL_SESSION* resume = nullptr) {
  ssl_ptr server(SSL_new(server_ctx));
  ssl_ptr client(SSL_new(client_ctx));
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  if (!server || !client || BIO_new_bio_pair(&client_end, 0, &server_end, 0) != 1)
    throw std::runtime_error("test: cannot set up a connection");
  SSL_set_bio(client.get(), client_end, client_end);
  SSL_set_bio(server.get(), server_end, server_end);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  // The client checks the server as a phone should: chain and host name.
  SSL_set1_host(client.get(), "localhost");
  if (resume != nullptr) SSL_set_session(client.get(), resume);

  bool client_done = false;
  bool server_done = false;
  bool failed = false;
  auto step = [&](SSL* ssl, bool& done) {
    if (done || failed) return;
    const int result = SSL_do_handshake(ssl);
    if (result == 1) {
      done = true;
      return;
    }
    const int error = SSL_get_error(ssl, result);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) failed = true;
  };
  for (int round = 0; round < 50 && !failed && !(client_done && server_done); ++round) {
    step(client.get(), client_done);
    step(server.get(), server_done);
  }

  outcome out;
  // With TLS 1.3 the client finishes before the server has judged its
  // certificate, so only both ends together mean "accepted".
  out.completed = client_done && server_done && !failed;
  out.verify_result = SSL_get_verify_result(server.get());
  if (out.completed) {
    // TLS 1.3 tickets follow the handshake; the client takes them on a read.
    char byte;
    SSL_read(client.get(), &byte, 1);
    out.identity = peer_identity(server.get());
    out.serial = peer_serial(server.get());
    out.resumed = SSL_session_reused(server.get()) == 1;
    out.version = SSL_version(server.get());
    if (const auto* chain = SSL_get_peer_cert_chain(client.get())) out.certificates_sent = sk_X509_num(chain);
    // A close_notify each way: OpenSSL marks the session of a connection
    // that ended without one as not resumable.
    SSL_shutdown(client.get());
    SSL_shutdown(server.get());
    out.session.reset(SSL_get1_session(client.get()));
  }
  ERR_clear_error();
  return out;
}

struct client_options {
  int max_version = 0;  // 0: the newest
  bool legacy = false;  // TLS 1.0 and security level 0, as an old phone
  bool no_ticket = false;
};

// One CA, its server certificate, and the certificates the tests present,
// made once per test program, the rarely used ones on first use: RSA key
// generation is the slow part, and ctest runs every test in its own process.
struct pki {
  temp_folder folder;
  authority ca = authority::load_or_create(folder.path());
  server_certificate_files server = ensure_server_certificate(ca, folder.path(), {"localhost"}, {"127.0.0.1"});
  issued_certificate phone_certificate = ca.issue_device_certificate(phone);
  pkey_ptr ca_key = read_key_file(folder.path() / "ca" / "ca.key");

  const issued_certificate& ata_certificate() {
    if (!ata_) ata_ = ca.issue_device_certificate(ata);
    return *ata_;
  }
  // The same MAC, from a CA the server does not trust.
  const authority& other_ca() {
    if (!other_ca_) other_ca_ = std::make_unique<authority>(authority::load_or_create(other_folder_.path()));
    return *other_ca_;
  }
  const issued_certificate& other_ca_phone_certificate() {
    if (!other_phone_) other_phone_ = other_ca().issue_device_certificate(phone);
    return *other_phone_;
  }

private:
  std::optional<issued_certificate> ata_;
  temp_folder other_folder_;
  std::unique_ptr<authority> other_ca_;
  std::optional<issued_certificate> other_phone_;
};

class TlsContextTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { pki_ = new pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static pki* pki_;

  // The revocation check the server asks: serials in this set are
  // acceptable. Tests add and remove serials as the store would.
  std::set<std::string, std::less<>> acceptable_{pki_->phone_certificate.serial_hex};
  int checks_ = 0;

  tls_settings settings(bool legacy = false) const {
    return {pki_->server.certificate_file, pki_->server.key_file, pki_->ca.certificate_file(), legacy};
  }

  ssl_ctx_ptr server_context(bool legacy = false, std::size_t session_cache_size = 2048) {
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    auto tls = settings(legacy);
    tls.session_cache_size = session_cache_size;
    configure_server_tls(ctx.get(), tls, [this](std::string_view serial) {
      ++checks_;
      return acceptable_.find(serial) != acceptable_.end();
    });
    return ctx;
  }

  static ssl_ctx_ptr client_context(X509* certificate, EVP_PKEY* key, const client_options& options = {}) {
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), pki_->ca.certificate());
    if (certificate != nullptr) {
      EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), certificate), 1);
      EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key), 1);
    }
    if (options.legacy) {
      SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
      SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
    }
    if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
    if (options.no_ticket) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    return ctx;
  }

  static ssl_ctx_ptr client_context(const issued_certificate& issued, const client_options& options = {}) {
    return client_context(parse_certificate(issued.certificate_pem).get(), parse_key(issued.private_key_pem).get(),
                          options);
  }
};

pki* TlsContextTest::pki_ = nullptr;

// ---- who may connect -------------------------------------------------------

TEST_F(TlsContextTest, DeviceWithItsCertificateConnectsAndIsKnownByMac) {
  auto server = server_context();
  auto client = client_context(pki_->phone_certificate);
  const auto result = connect(server.get(), client.get());
  ASSERT_TRUE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_OK);
  EXPECT_EQ(result.identity, phone);
  EXPECT_EQ(result.serial, pki_->phone_certificate.serial_hex);
  EXPECT_EQ(result.version, TLS1_3_VERSION);
  EXPECT_FALSE(result.resumed);
  EXPECT_EQ(checks_, 1);
}

TEST_F(TlsContextTest, ServerSendsItsCertificateFileNotTheCaFromItsTrustStore) {
  // The device CA is in the server's store (it checks client certificates
  // with it) and signed the server's certificate: OpenSSL would complete the
  // chain with it on every handshake. The device has it already.
  auto server = server_context();
  auto client = client_context(pki_->phone_certificate);
  const auto result = connect(server.get(), client.get());
  ASSERT_TRUE(result.completed);
  EXPECT_EQ(result.certificates_sent, 1) << "the server's certificate alone, as its file holds it";
}

TEST_F(TlsContextTest, ServerSeesThePeerCertificatesMac) {
  auto server_ctx = server_context();
  acceptable_.insert(pki_->ata_certificate().serial_hex);
  auto client_ctx = client_context(pki_->ata_certificate());
  // The same through the raw API the HTTPS session will use.
  ssl_ptr server(SSL_new(server_ctx.get()));
  ssl_ptr client(SSL_new(client_ctx.get()));
  BIO* a = nullptr;
  BIO* b = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&a, 0, &b, 0), 1);
  SSL_set_bio(client.get(), a, a);
  SSL_set_bio(server.get(), b, b);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  int server_result = 0;
  for (int i = 0; i < 20 && server_result != 1; ++i) {
    SSL_do_handshake(client.get());
    server_result = SSL_do_handshake(server.get());
  }
  ASSERT_EQ(server_result, 1);
  X509* peer = SSL_get_peer_certificate(server.get());
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(device_identity(peer), ata);
  X509_free(peer);
}

TEST_F(TlsContextTest, ClientWithoutCertificateIsRefused) {
  auto server = server_context();
  auto client = client_context(nullptr, nullptr);
  const auto result = connect(server.get(), client.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(checks_, 0);
}

TEST_F(TlsContextTest, CertificateFromAnotherCaIsRefusedEvenWithAKnownSerial) {
  acceptable_.insert(pki_->other_ca_phone_certificate().serial_hex);
  auto server = server_context();
  auto client = client_context(pki_->other_ca_phone_certificate());
  const auto result = connect(server.get(), client.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_EQ(checks_, 0) << "the revocation check runs only after the chain check passed";
}

TEST_F(TlsContextTest, RevokedCertificateIsRefusedOthersStillConnect) {
  acceptable_.insert(pki_->ata_certificate().serial_hex);
  acceptable_.erase(pki_->phone_certificate.serial_hex);
  auto server = server_context();
  auto revoked = client_context(pki_->phone_certificate);
  const auto result = connect(server.get(), revoked.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_ERR_CERT_REVOKED);
  auto fine = client_context(pki_->ata_certificate());
  EXPECT_TRUE(connect(server.get(), fine.get()).completed);
}

TEST_F(TlsContextTest, RevocationTakesEffectOnTheNextHandshakeWithoutNewContext) {
  auto server = server_context();
  auto client = client_context(pki_->phone_certificate, {.no_ticket = true});
  ASSERT_TRUE(connect(server.get(), client.get()).completed);
  acceptable_.erase(pki_->phone_certificate.serial_hex);
  EXPECT_FALSE(connect(server.get(), client.get()).completed);
}

TEST_F(TlsContextTest, CertificateWithoutAMacIsRefused) {
  const auto no_mac = make_certificate({.common_names = {"lobby phone"}, .serial = 0x1234}, pki_->ca.certificate(),
                                       pki_->ca_key.get());
  acceptable_.insert(serial_hex(no_mac.get()));
  auto server = server_context();
  auto client = client_context(no_mac.get(), shared_test_key());
  const auto result = connect(server.get(), client.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_ERR_APPLICATION_VERIFICATION);
}

TEST_F(TlsContextTest, ExpiredCertificateIsRefused) {
  const auto expired = make_certificate(
      {.common_names = {"00:21:f2:01:1b:19"}, .valid_from_seconds = -86400 * 10, .valid_until_seconds = -86400,
       .serial = 0x2345},
      pki_->ca.certificate(), pki_->ca_key.get());
  acceptable_.insert(serial_hex(expired.get()));
  auto server = server_context();
  auto client = client_context(expired.get(), shared_test_key());
  const auto result = connect(server.get(), client.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(TlsContextTest, ServerCertificateCannotServeAsAClientCertificate) {
  const auto certificate = read_certificate_file(pki_->server.certificate_file);
  const auto key = read_key_file(pki_->server.key_file);
  acceptable_.insert(serial_hex(certificate.get()));
  auto server = server_context();
  auto client = client_context(certificate.get(), key.get());
  const auto result = connect(server.get(), client.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_ERR_INVALID_PURPOSE);
}

TEST_F(TlsContextTest, RevocationCheckThatThrowsRefusesTheClient) {
  ssl_ctx_ptr server(SSL_CTX_new(TLS_server_method()));
  configure_server_tls(server.get(), settings(), [](std::string_view) -> bool {
    throw std::runtime_error("database is locked");
  });
  auto client = client_context(pki_->phone_certificate);
  const auto result = connect(server.get(), client.get());
  EXPECT_FALSE(result.completed);
  EXPECT_EQ(result.verify_result, X509_V_ERR_CERT_REVOKED);
}

// ---- resumption ------------------------------------------------------------

struct resumption_case {
  const char* name;
  client_options options;
  int version;
  std::size_t session_cache_size = 2048;  // 0: every TLS 1.3 ticket is stateless
};

void PrintTo(const resumption_case& c, std::ostream* out) { *out << c.name; }

class ResumptionTest : public TlsContextTest, public ::testing::WithParamInterface<resumption_case> {};

TEST_P(ResumptionTest, SecondConnectionResumesTheFirstsSession) {
  auto server = server_context(false, GetParam().session_cache_size);
  auto client = client_context(pki_->phone_certificate, GetParam().options);
  const auto first = connect(server.get(), client.get());
  ASSERT_TRUE(first.completed);
  EXPECT_EQ(first.version, GetParam().version);
  EXPECT_FALSE(first.resumed);
  ASSERT_NE(first.session, nullptr);
  ASSERT_EQ(SSL_SESSION_is_resumable(first.session.get()), 1);

  const auto second = connect(server.get(), client.get(), first.session.get());
  ASSERT_TRUE(second.completed);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.identity, phone) << "a resumed session still knows its device";
  EXPECT_EQ(second.serial, pki_->phone_certificate.serial_hex) << "and its certificate, to check it again later";
  EXPECT_EQ(checks_, 2) << "the resumption asked the revocation check again";
}

TEST_P(ResumptionTest, RevokedDeviceCannotResumeItsSession) {
  auto server = server_context(false, GetParam().session_cache_size);
  auto client = client_context(pki_->phone_certificate, GetParam().options);
  const auto first = connect(server.get(), client.get());
  ASSERT_TRUE(first.completed);
  ASSERT_NE(first.session, nullptr);
  ASSERT_EQ(SSL_SESSION_is_resumable(first.session.get()), 1);
  acceptable_.erase(pki_->phone_certificate.serial_hex);

  const auto second = connect(server.get(), client.get(), first.session.get());
  EXPECT_FALSE(second.completed);
  EXPECT_FALSE(second.resumed);
  EXPECT_EQ(second.verify_result, X509_V_ERR_CERT_REVOKED) << "refused by the full handshake that followed";
}

INSTANTIATE_TEST_SUITE_P(
    EveryWayToResume, ResumptionTest,
    ::testing::Values(resumption_case{"Tls13Ticket", {}, TLS1_3_VERSION},
                      resumption_case{"Tls13StatelessTicket", {}, TLS1_3_VERSION, 0},
                      resumption_case{"Tls12Ticket", {.max_version = TLS1_2_VERSION}, TLS1_2_VERSION},
                      resumption_case{"Tls12SessionId", {.max_version = TLS1_2_VERSION, .no_ticket = true},
                                      TLS1_2_VERSION}),
    [](const ::testing::TestParamInfo<resumption_case>& test) { return std::string(test.param.name); });

// ---- what the server keeps -------------------------------------------------

TEST_F(TlsContextTest, ServerKeepsOneSessionPerDevice) {
  // Every full handshake used to leave its session (11 KB with the device's
  // certificate) in OpenSSL's internal cache, up to 20480 of them. Now a
  // device has at most one: its newest, behind a stateful ticket.
  auto server = server_context();
  ssl_session_ptr last;
  for (int i = 0; i < 5; ++i) {
    auto client = client_context(pki_->phone_certificate);
    auto result = connect(server.get(), client.get());
    ASSERT_TRUE(result.completed);
    last = std::move(result.session);
  }
  EXPECT_EQ(cached_sessions(server.get()), 1u);
  EXPECT_EQ(SSL_CTX_sess_number(server.get()), 0) << "nothing in OpenSSL's own cache";
  auto client = client_context(pki_->phone_certificate);
  EXPECT_TRUE(connect(server.get(), client.get(), last.get()).resumed) << "the newest session resumes";
}

TEST_F(TlsContextTest, FullCacheGivesTheNextDeviceAStatelessTicketThatResumes) {
  acceptable_.insert(pki_->ata_certificate().serial_hex);
  auto server = server_context(false, 1);
  auto phone_client = client_context(pki_->phone_certificate);
  ASSERT_TRUE(connect(server.get(), phone_client.get()).completed);
  ASSERT_EQ(cached_sessions(server.get()), 1u);

  auto ata_client = client_context(pki_->ata_certificate());
  auto first = connect(server.get(), ata_client.get());
  ASSERT_TRUE(first.completed);
  EXPECT_EQ(cached_sessions(server.get()), 1u) << "the full cache took no session: the ticket carries it";
  ASSERT_NE(first.session, nullptr);
  const auto second = connect(server.get(), ata_client.get(), first.session.get());
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.identity, ata);
  EXPECT_EQ(cached_sessions(server.get()), 1u);
}

TEST_F(TlsContextTest, SessionIdCacheDropsTheOldestWhenFull) {
  acceptable_.insert(pki_->ata_certificate().serial_hex);
  auto server = server_context(false, 1);
  const client_options tls12_without_tickets{.max_version = TLS1_2_VERSION, .no_ticket = true};
  auto phone_client = client_context(pki_->phone_certificate, tls12_without_tickets);
  auto phone_first = connect(server.get(), phone_client.get());
  ASSERT_TRUE(phone_first.completed);
  auto ata_client = client_context(pki_->ata_certificate(), tls12_without_tickets);
  auto ata_first = connect(server.get(), ata_client.get());
  ASSERT_TRUE(ata_first.completed);
  EXPECT_EQ(cached_sessions(server.get()), 1u);

  // The newest first: the phone's failed resumption is a full handshake
  // whose new session would push the ATA's out in turn.
  EXPECT_TRUE(connect(server.get(), ata_client.get(), ata_first.session.get()).resumed) << "the newest stayed";
  EXPECT_FALSE(connect(server.get(), phone_client.get(), phone_first.session.get()).resumed) << "the oldest went";
}

// ---- protocol versions -----------------------------------------------------

TEST_F(TlsContextTest, WithoutLegacyATls11ClientIsRefused) {
  auto server = server_context(false);
  auto client = client_context(pki_->phone_certificate, {.max_version = TLS1_1_VERSION, .legacy = true});
  EXPECT_FALSE(connect(server.get(), client.get()).completed);
}

TEST_F(TlsContextTest, WithLegacyATls10PhoneConnectsAndIsStillChecked) {
  auto server = server_context(true);
  auto client = client_context(pki_->phone_certificate, {.max_version = TLS1_VERSION, .legacy = true});
  const auto result = connect(server.get(), client.get());
  ASSERT_TRUE(result.completed);
  EXPECT_EQ(result.version, TLS1_VERSION);
  EXPECT_EQ(result.identity, phone);
  acceptable_.erase(pki_->phone_certificate.serial_hex);
  EXPECT_FALSE(connect(server.get(), client.get()).completed);
}

// ---- the context's settings ------------------------------------------------

TEST_F(TlsContextTest, RequiresAPeerCertificateAndSendsTheDeviceCaName) {
  auto server = server_context();
  EXPECT_EQ(SSL_CTX_get_verify_mode(server.get()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_EQ(SSL_CTX_get_verify_depth(server.get()), 2);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server.get()), TLS1_2_VERSION);
  EXPECT_TRUE(SSL_CTX_get_session_cache_mode(server.get()) & SSL_SESS_CACHE_SERVER);
  EXPECT_FALSE(SSL_CTX_get_options(server.get()) & SSL_OP_NO_TICKET);
  const auto* names = SSL_CTX_get_client_CA_list(server.get());
  ASSERT_EQ(sk_X509_NAME_num(names), 1);
  EXPECT_EQ(X509_NAME_cmp(sk_X509_NAME_value(names, 0), X509_get_subject_name(pki_->ca.certificate())), 0);
}

TEST_F(TlsContextTest, DeviceCaIsTheOnlyTrustAnchorEvenAfterSystemDefaults) {
  ssl_ctx_ptr server(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_default_verify_paths(server.get());
  // The other CA's certificate as an extra anchor the caller had added.
  X509_STORE_add_cert(SSL_CTX_get_cert_store(server.get()), pki_->other_ca().certificate());
  configure_server_tls(server.get(), settings(), [](std::string_view) { return true; });
  auto client = client_context(pki_->other_ca_phone_certificate());
  EXPECT_FALSE(connect(server.get(), client.get()).completed);
}

TEST_F(TlsContextTest, ConfigureRefusesMistakes) {
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  EXPECT_THROW(configure_server_tls(ctx.get(), settings(), nullptr), std::invalid_argument);
  EXPECT_THROW(configure_server_tls(nullptr, settings(), [](std::string_view) { return true; }),
               std::invalid_argument);

  auto missing = settings();
  missing.ca_file = pki_->folder.path() / "missing.pem";
  try {
    ssl_ctx_ptr fresh(SSL_CTX_new(TLS_server_method()));
    configure_server_tls(fresh.get(), missing, [](std::string_view) { return true; });
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.pem"));
  }

  auto mismatched = settings();
  mismatched.key_file = pki_->folder.path() / "ca" / "ca.key";
  ssl_ctx_ptr other(SSL_CTX_new(TLS_server_method()));
  EXPECT_THROW(configure_server_tls(other.get(), mismatched, [](std::string_view) { return true; }),
               std::runtime_error);

  configure_server_tls(ctx.get(), settings(), [](std::string_view) { return true; });
  EXPECT_THROW(configure_server_tls(ctx.get(), settings(), [](std::string_view) { return true; }), std::logic_error);
}

// ---- the server certificate ------------------------------------------------

class ServerCertificateTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ca_folder_ = new temp_folder();
    ca_ = new authority(authority::load_or_create(ca_folder_->path()));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete ca_folder_;
  }
  static temp_folder* ca_folder_;
  static authority* ca_;
  temp_folder data_;

  server_certificate_files ensure(const std::vector<std::string>& names, const std::vector<std::string>& ips) {
    return ensure_server_certificate(*ca_, data_.path(), names, ips);
  }
};

temp_folder* ServerCertificateTest::ca_folder_ = nullptr;
authority* ServerCertificateTest::ca_ = nullptr;

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? info.st_mode & 07777 : 0;
}

TEST_F(ServerCertificateTest, FirstCallIssuesAPairWithAPrivateKey) {
  const auto files = ensure({"prov.example"}, {"192.0.2.1"});
  ASSERT_TRUE(files.issued.has_value());
  EXPECT_EQ(files.reason, "no server certificate yet");
  EXPECT_EQ(files.certificate_file, data_.path() / "tls" / "server.pem");
  EXPECT_EQ(files.key_file, data_.path() / "tls" / "server.key");
  EXPECT_EQ(mode_of(files.key_file), 0600u);
  EXPECT_EQ(mode_of(data_.path() / "tls"), 0700u);
  const auto certificate = read_certificate_file(files.certificate_file);
  EXPECT_EQ(X509_check_private_key(certificate.get(), read_key_file(files.key_file).get()), 1);
  EXPECT_EQ(serial_hex(certificate.get()), files.issued->serial_hex);
  EXPECT_EQ(subject_alt_names(certificate.get()), (alt_names{{"prov.example"}, {"192.0.2.1"}}));
}

TEST_F(ServerCertificateTest, KeepsACertificateThatStillFits) {
  const auto first = ensure({"prov.example", "localhost"}, {"192.0.2.1", "::1"});
  const auto pem = read_file(first.certificate_file);
  // Same set in another order and spelling.
  const auto second = ensure({"LOCALHOST", "prov.example"}, {"0:0::1", "192.0.2.1"});
  EXPECT_FALSE(second.issued.has_value()) << second.reason;
  EXPECT_EQ(read_file(second.certificate_file), pem);
}

TEST_F(ServerCertificateTest, ReissuesWhenTheNamesChange) {
  ensure({"prov.example"}, {"192.0.2.1"});
  const auto files = ensure({"prov.example"}, {"192.0.2.2"});
  ASSERT_TRUE(files.issued.has_value());
  EXPECT_EQ(files.reason, "host names or addresses changed");
  EXPECT_EQ(subject_alt_names(read_certificate_file(files.certificate_file).get()).ip_addresses,
            std::vector<std::string>{"192.0.2.2"});
}

TEST_F(ServerCertificateTest, ReissuesWhenExpiringWithinThirtyDays) {
  const auto files = ensure({"prov.example"}, {});
  const auto short_lived = ca_->issue_server_certificate({"prov.example"}, {}, 29);
  write_file_atomically(files.certificate_file, short_lived.certificate_pem, 0644);
  write_file_atomically(files.key_file, short_lived.private_key_pem, 0600);
  const auto again = ensure({"prov.example"}, {});
  ASSERT_TRUE(again.issued.has_value());
  EXPECT_EQ(again.reason, "expires within 30 days");

  // 31 days left is still fine.
  const auto enough = ca_->issue_server_certificate({"prov.example"}, {}, 31);
  write_file_atomically(files.certificate_file, enough.certificate_pem, 0644);
  write_file_atomically(files.key_file, enough.private_key_pem, 0600);
  EXPECT_FALSE(ensure({"prov.example"}, {}).issued.has_value());
}

TEST_F(ServerCertificateTest, ReissuesWhenIssuedByAnotherCa) {
  temp_folder other_folder;
  const auto other = authority::load_or_create(other_folder.path());
  const auto files = ensure_server_certificate(other, data_.path(), {"prov.example"}, {});
  const auto again = ensure({"prov.example"}, {});
  ASSERT_TRUE(again.issued.has_value());
  EXPECT_EQ(again.reason, "issued by another CA");
  EXPECT_EQ(X509_verify(read_certificate_file(files.certificate_file).get(), X509_get0_pubkey(ca_->certificate())), 1);
}

TEST_F(ServerCertificateTest, ReplacesDamagedFiles) {
  const auto files = ensure({"prov.example"}, {});
  write_file_atomically(files.certificate_file, "not a certificate\n", 0644);
  EXPECT_EQ(ensure({"prov.example"}, {}).reason, "unreadable certificate");
  write_file_atomically(files.key_file, ca_->issue_server_certificate({"x.example"}, {}).private_key_pem, 0600);
  EXPECT_EQ(ensure({"prov.example"}, {}).reason, "key does not match the certificate");
  EXPECT_FALSE(ensure({"prov.example"}, {}).issued.has_value());
}

TEST_F(ServerCertificateTest, RefusesNoNamesAndMalformedOnes) {
  EXPECT_THROW(ensure({}, {}), std::invalid_argument);
  EXPECT_THROW(ensure({"bad name"}, {}), std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(data_.path() / "tls" / "server.pem"));
}

}  // namespace
}  // namespace provbox::certs
