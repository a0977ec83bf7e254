#include "certs/authority.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <ctime>
#include <regex>
#include <set>

#include "tests/certs/test_support.hpp"

namespace provbox::certs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_support;

const auto phone = *profile::mac_address::parse("00:21:F2:01:1B:19");

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

std::time_t time_of(const ASN1_TIME* time) {
  std::tm parts{};
  ASN1_TIME_to_tm(time, &parts);
  return timegm(&parts);
}

std::string entry_text(const X509* certificate, int nid) {
  const X509_NAME* name = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "(none)";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

bool extension_is_critical(const X509* certificate, int nid) {
  const int index = X509_get_ext_by_NID(certificate, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(certificate, index)) == 1;
}

std::string key_id_hex(const ASN1_OCTET_STRING* id) {
  if (id == nullptr) return "(none)";
  std::string out;
  for (int i = 0; i < ASN1_STRING_length(id); ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02X", ASN1_STRING_get0_data(id)[i]);
    out += byte;
  }
  return out;
}

class AuthorityTest : public ::testing::Test {
protected:
  temp_folder folder_;
  std::filesystem::path data_dir_ = folder_.path() / "data";
};

// ---- the CA ----------------------------------------------------------------

TEST_F(AuthorityTest, FirstUseCreatesTheCaFilesPrivately) {
  const auto ca = authority::load_or_create(data_dir_);
  EXPECT_TRUE(ca.created());
  EXPECT_EQ(ca.certificate_file(), data_dir_ / "ca" / "ca.pem");
  EXPECT_EQ(mode_of(data_dir_ / "ca"), 0700u);
  EXPECT_EQ(mode_of(data_dir_ / "ca" / "ca.key"), 0600u);
  EXPECT_EQ(read_file(data_dir_ / "ca" / "ca.pem"), ca.certificate_pem());
  // No temporary folder is left beside it.
  std::vector<std::string> entries;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_)) entries.push_back(entry.path().filename());
  EXPECT_THAT(entries, ElementsAre("ca"));
}

TEST_F(AuthorityTest, CaIsRsa2048Sha256SelfSignedForTwentyYears) {
  const auto ca = authority::load_or_create(data_dir_);
  X509* c = ca.certificate();
  EXPECT_EQ(entry_text(c, NID_commonName), "provbox device CA");
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(c)), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(c)), 2048);
  EXPECT_EQ(X509_get_signature_nid(c), NID_sha256WithRSAEncryption);
  EXPECT_EQ(X509_verify(c, X509_get0_pubkey(c)), 1);
  const double years = std::difftime(time_of(X509_get0_notAfter(c)), std::time(nullptr)) / (365.25 * 86400);
  EXPECT_NEAR(years, 20.0, 0.1);
}

TEST_F(AuthorityTest, CaExtensionsMakeItACertificateSigner) {
  const auto ca = authority::load_or_create(data_dir_);
  X509* c = ca.certificate();
  EXPECT_TRUE(X509_get_extension_flags(c) & EXFLAG_CA);
  EXPECT_TRUE(extension_is_critical(c, NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(c), static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(c), nullptr);
}

TEST_F(AuthorityTest, LaterUseLoadsTheSameCa) {
  const auto first = authority::load_or_create(data_dir_);
  const auto second = authority::load_or_create(data_dir_);
  EXPECT_FALSE(second.created());
  EXPECT_EQ(second.certificate_pem(), first.certificate_pem());
  // And it signs with the same key: its certificates verify with the first.
  const auto issued = second.issue_device_certificate(phone);
  EXPECT_EQ(X509_verify(parse_certificate(issued.certificate_pem).get(), X509_get0_pubkey(first.certificate())), 1);
}

TEST_F(AuthorityTest, CaWithAMissingFileIsRefusedNotReplaced) {
  authority::load_or_create(data_dir_);
  const auto key_before = read_file(data_dir_ / "ca" / "ca.key");
  std::filesystem::remove(data_dir_ / "ca" / "ca.pem");
  try {
    authority::load_or_create(data_dir_);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ca.pem is missing"));
  }
  EXPECT_EQ(read_file(data_dir_ / "ca" / "ca.key"), key_before);
  EXPECT_FALSE(std::filesystem::exists(data_dir_ / "ca" / "ca.pem"));
}

TEST_F(AuthorityTest, LoadRefusesAKeyOfAnotherCertificate) {
  authority::load_or_create(data_dir_);
  authority::load_or_create(folder_.path() / "other");
  EXPECT_THROW(authority::load(data_dir_ / "ca" / "ca.pem", folder_.path() / "other" / "ca" / "ca.key"),
               std::runtime_error);
}

TEST_F(AuthorityTest, LoadRefusesACertificateThatIsNoCa) {
  const auto ca = authority::load_or_create(data_dir_);
  const auto issued = ca.issue_device_certificate(phone);
  std::filesystem::create_directories(folder_.path() / "leaf");
  std::FILE* f = std::fopen((folder_.path() / "leaf" / "cert.pem").c_str(), "w");
  std::fputs(issued.certificate_pem.c_str(), f);
  std::fclose(f);
  f = std::fopen((folder_.path() / "leaf" / "key.pem").c_str(), "w");
  std::fputs(issued.private_key_pem.c_str(), f);
  std::fclose(f);
  try {
    authority::load(folder_.path() / "leaf" / "cert.pem", folder_.path() / "leaf" / "key.pem");
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not a CA certificate"));
  }
}

TEST_F(AuthorityTest, LoadOfMissingFilesNamesTheFile) {
  try {
    authority::load(folder_.path() / "nope.pem", folder_.path() / "nope.key");
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("nope.pem"));
  }
}

// ---- device certificates ---------------------------------------------------

class DeviceCertificateTest : public AuthorityTest {
protected:
  authority ca_ = authority::load_or_create(data_dir_);
  issued_certificate issued_ = ca_.issue_device_certificate(phone);
  x509_ptr certificate_ = parse_certificate(issued_.certificate_pem);
};

TEST_F(DeviceCertificateTest, SubjectIsTheMacInColonLowerForm) {
  EXPECT_EQ(entry_text(certificate_.get(), NID_commonName), "00:21:f2:01:1b:19");
  EXPECT_EQ(entry_text(certificate_.get(), NID_organizationName), "provbox");
  EXPECT_EQ(device_identity(certificate_.get()), phone);
}

TEST_F(DeviceCertificateTest, IsAClientCertificateSignedByTheCa) {
  X509* c = certificate_.get();
  EXPECT_EQ(X509_verify(c, X509_get0_pubkey(ca_.certificate())), 1);
  EXPECT_EQ(X509_check_issued(ca_.certificate(), c), X509_V_OK);
  EXPECT_FALSE(X509_get_extension_flags(c) & EXFLAG_CA);
  EXPECT_TRUE(extension_is_critical(c, NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(c), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(c), static_cast<std::uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_purpose(c, X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(key_id_hex(X509_get0_authority_key_id(c)), key_id_hex(X509_get0_subject_key_id(ca_.certificate())));
  EXPECT_EQ(X509_get_signature_nid(c), NID_sha256WithRSAEncryption);
}

TEST_F(DeviceCertificateTest, KeyIsAFreshRsa2048KeyInPkcs1Pem) {
  EXPECT_THAT(issued_.private_key_pem, StartsWith("-----BEGIN RSA PRIVATE KEY-----\n"));
  const auto key = parse_key(issued_.private_key_pem);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
  EXPECT_EQ(X509_check_private_key(certificate_.get(), key.get()), 1);
  EXPECT_NE(EVP_PKEY_eq(key.get(), X509_get0_pubkey(ca_.certificate())), 1);
}

TEST_F(DeviceCertificateTest, SerialIsRandom128BitUppercaseHex) {
  EXPECT_TRUE(std::regex_match(issued_.serial_hex, std::regex("[89A-F][0-9A-F]{31}"))) << issued_.serial_hex;
  EXPECT_EQ(serial_hex(certificate_.get()), issued_.serial_hex);
  std::set<std::string> serials{issued_.serial_hex};
  for (int i = 0; i < 3; ++i) serials.insert(ca_.issue_device_certificate(phone).serial_hex);
  EXPECT_EQ(serials.size(), 4u);
}

TEST_F(DeviceCertificateTest, ValidityIsReportedInIso8601AndLastsTheDaysAsked) {
  EXPECT_TRUE(std::regex_match(issued_.not_before, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  const double days = std::difftime(time_of(X509_get0_notAfter(certificate_.get())), std::time(nullptr)) / 86400;
  EXPECT_NEAR(days, 3650, 1);
  // Backdated a little for clocks that run behind, never into the future.
  EXPECT_LT(time_of(X509_get0_notBefore(certificate_.get())), std::time(nullptr));
  const auto short_lived = ca_.issue_device_certificate(phone, 7);
  EXPECT_NEAR(std::difftime(time_of(X509_get0_notAfter(parse_certificate(short_lived.certificate_pem).get())),
                            std::time(nullptr)) / 86400,
              7, 0.1);
}

TEST_F(DeviceCertificateTest, ValidityNeverOutlastsTheCa) {
  const auto long_lived = ca_.issue_device_certificate(phone, 36500);
  const auto c = parse_certificate(long_lived.certificate_pem);
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(c.get()), X509_get0_notAfter(ca_.certificate())), 0);
}

TEST_F(DeviceCertificateTest, NonPositiveDaysAreRefused) {
  EXPECT_THROW(ca_.issue_device_certificate(phone, 0), std::invalid_argument);
  EXPECT_THROW(ca_.issue_device_certificate(phone, -1), std::invalid_argument);
}

// ---- server certificates ---------------------------------------------------

TEST_F(AuthorityTest, ServerCertificateNamesEveryHostAndAddress) {
  const auto ca = authority::load_or_create(data_dir_);
  const auto issued =
      ca.issue_server_certificate({"Prov.Example.com", "localhost"}, {"192.0.2.10", "2001:db8::0:1"});
  const auto c = parse_certificate(issued.certificate_pem);
  const auto names = subject_alt_names(c.get());
  EXPECT_THAT(names.dns_names, ElementsAre("prov.example.com", "localhost"));
  EXPECT_THAT(names.ip_addresses, ElementsAre("192.0.2.10", "2001:db8::1"));
  EXPECT_EQ(entry_text(c.get(), NID_commonName), "prov.example.com");
  EXPECT_EQ(X509_get_extended_key_usage(c.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_host(c.get(), "prov.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(c.get(), "192.0.2.10", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(c.get(), "2001:db8::1", 0), 1);
  EXPECT_EQ(X509_verify(c.get(), X509_get0_pubkey(ca.certificate())), 1);
  const double days = std::difftime(time_of(X509_get0_notAfter(c.get())), std::time(nullptr)) / 86400;
  EXPECT_NEAR(days, 825, 1);
  // A server certificate names no device.
  EXPECT_EQ(device_identity(c.get()), std::nullopt);
}

TEST_F(AuthorityTest, ServerCertificateWithOnlyAnAddressUsesItAsCommonName) {
  const auto ca = authority::load_or_create(data_dir_);
  const auto c = parse_certificate(ca.issue_server_certificate({}, {"127.0.0.1"}).certificate_pem);
  EXPECT_EQ(entry_text(c.get(), NID_commonName), "127.0.0.1");
}

TEST_F(AuthorityTest, ServerCertificateRefusesMalformedNames) {
  const auto ca = authority::load_or_create(data_dir_);
  EXPECT_THROW(ca.issue_server_certificate({}, {}), std::invalid_argument);
  EXPECT_THROW(ca.issue_server_certificate({"bad name"}, {}), std::invalid_argument);
  EXPECT_THROW(ca.issue_server_certificate({"a,DNS:evil.example"}, {}), std::invalid_argument);
  EXPECT_THROW(ca.issue_server_certificate({"-leading.example"}, {}), std::invalid_argument);
  EXPECT_THROW(ca.issue_server_certificate({"double..dot"}, {}), std::invalid_argument);
  EXPECT_THROW(ca.issue_server_certificate({"host"}, {"300.1.1.1"}), std::invalid_argument);
  EXPECT_THROW(ca.issue_server_certificate({"host"}, {"example.com"}), std::invalid_argument);
}

TEST(CanonicalAltNames, LowersNamesCanonicalisesAddressesAndDropsDuplicates) {
  const auto names = canonical_alt_names({"A.example", "a.EXAMPLE", "*.b.example"}, {"::0001", "::1", "10.0.0.1"});
  EXPECT_THAT(names.dns_names, ElementsAre("a.example", "*.b.example"));
  EXPECT_THAT(names.ip_addresses, ElementsAre("::1", "10.0.0.1"));
}

// ---- identity and serial of any certificate --------------------------------

class IdentityTest : public ::testing::Test {
protected:
  x509_ptr make(certificate_spec spec) { return make_certificate(spec, nullptr, shared_test_key()); }
};

TEST_F(IdentityTest, AcceptsEveryCommonMacSpellingInTheCommonName) {
  for (const char* spelling : {"00:21:f2:01:1b:19", "00:21:F2:01:1B:19", "00-21-f2-01-1b-19", "0021F2011B19",
                               "0021f2011b19", "0021.f201.1b19"}) {
    EXPECT_EQ(device_identity(make({.common_names = {spelling}}).get()), phone) << spelling;
  }
}

TEST_F(IdentityTest, FallsBackToAMacInADnsAltName) {
  EXPECT_EQ(device_identity(make({.common_names = {"Lobby phone"}, .dns_names = {"0021f2011b19"}}).get()), phone);
  EXPECT_EQ(device_identity(make({.dns_names = {"phone.example", "00-21-f2-01-1b-19"}}).get()), phone);
}

TEST_F(IdentityTest, CommonNameWinsOverAltNames) {
  EXPECT_EQ(device_identity(make({.common_names = {"0021f2011b19"}, .dns_names = {"0021f2aaaaaa"}}).get()), phone);
}

TEST_F(IdentityTest, NoMacMeansNoIdentity) {
  EXPECT_EQ(device_identity(make({.common_names = {"provbox.example"}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({.common_names = {"0021f2011b1"}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({.common_names = {"00:21:f2:01:1b:19 "}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(nullptr), std::nullopt);
}

TEST_F(IdentityTest, AddressesNoDeviceCanHaveAreNoIdentity) {
  EXPECT_EQ(device_identity(make({.common_names = {"ff:ff:ff:ff:ff:ff"}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({.common_names = {"00:00:00:00:00:00"}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({.common_names = {"01:00:5e:00:00:01"}}).get()), std::nullopt);
}

TEST_F(IdentityTest, AmbiguousCertificatesNameNoDevice) {
  EXPECT_EQ(device_identity(make({.common_names = {"0021f2011b19", "0021f2011b20"}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({.common_names = {"0021f2011b19", "0021f2011b19"}}).get()), std::nullopt);
  EXPECT_EQ(device_identity(make({.dns_names = {"0021f2011b19", "0021f2011b20"}}).get()), std::nullopt);
}

TEST_F(IdentityTest, SerialHexIsWhatOpensslX509SerialPrints) {
  EXPECT_EQ(serial_hex(make({.serial = 0x0A01}).get()), "0A01");
  EXPECT_EQ(serial_hex(make({.serial = 0x80}).get()), "80");
  EXPECT_EQ(serial_hex(make({.serial = 0xABCDEF}).get()), "ABCDEF");
  EXPECT_EQ(serial_hex(make({.serial = 0}).get()), "00");
}

}  // namespace
}  // namespace provbox::certs
