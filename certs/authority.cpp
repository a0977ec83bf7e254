#include "certs/authority.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <system_error>

#include "certs/openssl_handles.hpp"
#include "certs/pem_files.hpp"

namespace provbox::certs {
namespace {

using namespace detail;

constexpr int rsa_bits = 2048;            // old phones handle RSA better than EC
constexpr int ca_validity_days = 7305;    // 20 years: the CA outlives the phones
constexpr long backdate_seconds = 3600;   // clocks that run a little behind still accept a new certificate
constexpr const char* organization = "provbox";
constexpr const char* ca_common_name = "provbox device CA";
constexpr std::size_t max_common_name = 64;  // RFC 5280 ub-common-name

using ia5_string_ptr = openssl_ptr<ASN1_IA5STRING, ASN1_IA5STRING_free>;

pkey_ptr new_rsa_key() {
  return pkey_ptr(check_not_null(EVP_RSA_gen(rsa_bits), "cannot generate an RSA-2048 key"));
}

// A positive 128-bit serial with its top bit set: unpredictable (127 random
// bits, far above the 64 that make serials collision-free across CAs) and
// always 32 hex digits, so serials line up in `cert list`.
void set_random_serial(X509* certificate) {
  bignum_ptr number(check_not_null(BN_new(), "cannot allocate a serial number"));
  check(BN_rand(number.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "cannot draw a random serial number");
  check_not_null(BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)),
                 "cannot set the serial number");
}

void add_name_entry(X509_NAME* name, int nid, const std::string& value) {
  check(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                   -1, 0),
        "cannot set the certificate subject to '" + value + "'");
}

// Version 3, random serial, validity, public key, subject and issuer name
// (`issuer` null: self-signed). Extensions are the caller's.
x509_ptr new_certificate(EVP_PKEY* key, int days, const X509* issuer, const std::string& common_name) {
  x509_ptr certificate(check_not_null(X509_new(), "cannot allocate a certificate"));
  check(X509_set_version(certificate.get(), X509_VERSION_3), "cannot set the certificate version");
  set_random_serial(certificate.get());
  check_not_null(X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -backdate_seconds),
                 "cannot set the validity start");
  check_not_null(X509_time_adj_ex(X509_getm_notAfter(certificate.get()), days, 0, nullptr),
                 "cannot set the validity end");
  // A certificate outliving its CA would only fail later and more confusingly.
  if (issuer != nullptr && ASN1_TIME_compare(X509_get0_notAfter(certificate.get()), X509_get0_notAfter(issuer)) > 0)
    check(X509_set1_notAfter(certificate.get(), X509_get0_notAfter(issuer)), "cannot set the validity end");
  check(X509_set_pubkey(certificate.get(), key), "cannot set the public key");
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  add_name_entry(subject, NID_organizationName, organization);
  if (!common_name.empty()) add_name_entry(subject, NID_commonName, common_name);
  check(X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer) : subject),
        "cannot set the issuer");
  return certificate;
}

// Adds one extension written in openssl.cnf syntax; `issuer` supplies the
// authority key identifier (the certificate itself when self-signing).
void add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  x509_extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension) throw_openssl_error(std::string("cannot make the extension ") + OBJ_nid2sn(nid) + " = " + value);
  check(X509_add_ext(certificate, extension.get(), -1), std::string("cannot add the extension ") + OBJ_nid2sn(nid));
}

std::string certificate_to_pem(const X509* certificate) {
  bio_ptr bio(check_not_null(BIO_new(BIO_s_mem()), "cannot allocate a buffer"));
  check(PEM_write_bio_X509(bio.get(), certificate), "cannot write a certificate as PEM");
  return bio_text(bio.get());
}

// PKCS#1 ("BEGIN RSA PRIVATE KEY"), the form `openssl genrsa` wrote for years:
// the one every old phone's key import understands.
std::string key_to_pem(const EVP_PKEY* key) {
  bio_ptr bio(check_not_null(BIO_new(BIO_s_mem()), "cannot allocate a buffer"));
  check(PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "cannot write a private key as PEM");
  return bio_text(bio.get());
}

std::string iso8601(const ASN1_TIME* time) {
  std::tm parts{};
  check(ASN1_TIME_to_tm(time, &parts), "cannot read a certificate time");
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// Refuses to prompt on the terminal for a passphrase: a daemon cannot answer.
int no_passphrase(char*, int, int, void*) { return 0; }

x509_ptr read_certificate(const std::filesystem::path& file) {
  bio_ptr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) throw_openssl_error("cannot open " + file.string());
  x509_ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) throw_openssl_error("no PEM certificate in " + file.string());
  return certificate;
}

pkey_ptr read_key(const std::filesystem::path& file) {
  bio_ptr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) throw_openssl_error("cannot open " + file.string());
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) throw_openssl_error("no unencrypted PEM private key in " + file.string());
  return key;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return text;
}

// Host names as RFC 1123 allows them, plus a leading "*." wildcard label.
bool is_valid_dns_name(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  char previous = '.';
  for (const char c : name) {
    if (c == '.') {
      if (label == 0 || previous == '-') return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c == '-' && label > 0)) {
      if (++label > 63) return false;
    } else {
      return false;
    }
    previous = c;
  }
  return label > 0 && previous != '-';
}

// 4 or 16 address bytes, or nullopt for text that is no IP address.
std::optional<std::string> ip_bytes(const std::string& text) {
  unsigned char buffer[16];
  if (inet_pton(AF_INET, text.c_str(), buffer) == 1) return std::string(reinterpret_cast<char*>(buffer), 4);
  if (inet_pton(AF_INET6, text.c_str(), buffer) == 1) return std::string(reinterpret_cast<char*>(buffer), 16);
  return std::nullopt;
}

std::optional<std::string> ip_text(const unsigned char* bytes, int length) {
  char text[INET6_ADDRSTRLEN];
  if (length == 4 && inet_ntop(AF_INET, bytes, text, sizeof text)) return std::string(text);
  if (length == 16 && inet_ntop(AF_INET6, bytes, text, sizeof text)) return std::string(text);
  return std::nullopt;
}

std::string asn1_text(const ASN1_STRING* value) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
}

template <typename Visit>
void for_each_alt_name(const X509* certificate, Visit visit) {
  general_names_ptr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) visit(*sk_GENERAL_NAME_value(names.get(), i));
}

void fsync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

void authority::x509_free::operator()(X509* p) const noexcept { X509_free(p); }
void authority::key_free::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }

authority::authority(certificate_ptr certificate, key_ptr key, std::filesystem::path certificate_file, bool created)
    : certificate_(std::move(certificate)),
      key_(std::move(key)),
      certificate_file_(std::move(certificate_file)),
      created_(created) {}

authority::authority(authority&&) noexcept = default;
authority& authority::operator=(authority&&) noexcept = default;
authority::~authority() = default;

authority authority::load(const std::filesystem::path& certificate_file, const std::filesystem::path& key_file) {
  auto certificate = read_certificate(certificate_file);
  auto key = read_key(key_file);
  if (X509_check_private_key(certificate.get(), key.get()) != 1)
    throw_openssl_error("the key in " + key_file.string() + " does not belong to the certificate in " +
                        certificate_file.string());
  if (X509_check_ca(certificate.get()) < 1)
    throw std::runtime_error(certificate_file.string() + " is not a CA certificate (no basicConstraints CA:TRUE)");
  return authority(certificate_ptr(certificate.release()), key_ptr(key.release()), certificate_file, false);
}

authority authority::load_or_create(const std::filesystem::path& data_dir) {
  const auto folder = data_dir / "ca";
  const auto certificate_file = folder / "ca.pem";
  const auto key_file = folder / "ca.key";
  const bool has_certificate = std::filesystem::exists(certificate_file);
  const bool has_key = std::filesystem::exists(key_file);
  if (has_certificate && has_key) return load(certificate_file, key_file);
  if (has_certificate || has_key)
    throw std::runtime_error("incomplete device CA in " + folder.string() + ": " +
                             (has_key ? certificate_file : key_file).string() +
                             " is missing; restore it (a new CA would invalidate every issued certificate)");

  // Build the CA in a private temporary folder and rename the folder into
  // place: a crash leaves no half CA, and when two processes (the daemon
  // and the CLI) race, the loser's rename fails and it loads the winner's.
  std::filesystem::create_directories(data_dir);
  std::string temp = (data_dir / "ca.new-XXXXXX").string();
  if (::mkdtemp(temp.data()) == nullptr)  // mode 0700
    throw std::runtime_error("cannot create a folder in " + data_dir.string() + ": " + std::strerror(errno));
  const std::filesystem::path temp_folder(temp);
  try {
    auto key = new_rsa_key();
    auto certificate = new_certificate(key.get(), ca_validity_days, nullptr, ca_common_name);
    // pathlen:0: this CA signs devices and the server, never another CA.
    add_extension(certificate.get(), certificate.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(certificate.get(), certificate.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(certificate.get(), certificate.get(), NID_subject_key_identifier, "hash");
    if (X509_sign(certificate.get(), key.get(), EVP_sha256()) <= 0) throw_openssl_error("cannot sign the CA");
    write_file_atomically(temp_folder / "ca.key", key_to_pem(key.get()), 0600);
    write_file_atomically(temp_folder / "ca.pem", certificate_to_pem(certificate.get()), 0644);
    if (::rename(temp_folder.c_str(), folder.c_str()) != 0) {
      const int error = errno;
      std::filesystem::remove_all(temp_folder);
      if (error == EEXIST || error == ENOTEMPTY) return load(certificate_file, key_file);
      throw std::runtime_error("cannot create " + folder.string() + ": " + std::strerror(error));
    }
    fsync_folder(data_dir);
    return authority(certificate_ptr(certificate.release()), key_ptr(key.release()), certificate_file, true);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_folder, ignored);
    throw;
  }
}

std::string authority::certificate_pem() const { return certificate_to_pem(certificate_.get()); }

issued_certificate authority::sign(X509* leaf, EVP_PKEY* leaf_key) const {
  if (X509_sign(leaf, key_.get(), EVP_sha256()) <= 0) throw_openssl_error("cannot sign the certificate");
  return {serial_hex(leaf), certificate_to_pem(leaf), key_to_pem(leaf_key), iso8601(X509_get0_notBefore(leaf)),
          iso8601(X509_get0_notAfter(leaf))};
}

issued_certificate authority::issue_device_certificate(const profile::mac_address& mac, int days) const {
  if (days <= 0) throw std::invalid_argument("a certificate must be valid for at least one day");
  auto key = new_rsa_key();
  auto leaf = new_certificate(key.get(), days, certificate_.get(), mac.colon_lower());
  add_extension(leaf.get(), certificate_.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(leaf.get(), certificate_.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(leaf.get(), certificate_.get(), NID_ext_key_usage, "clientAuth");
  add_extension(leaf.get(), certificate_.get(), NID_subject_key_identifier, "hash");
  add_extension(leaf.get(), certificate_.get(), NID_authority_key_identifier, "keyid");
  return sign(leaf.get(), key.get());
}

issued_certificate authority::issue_server_certificate(const std::vector<std::string>& dns_names,
                                                       const std::vector<std::string>& ip_addresses,
                                                       int days) const {
  if (days <= 0) throw std::invalid_argument("a certificate must be valid for at least one day");
  const auto wanted = canonical_alt_names(dns_names, ip_addresses);
  if (wanted.dns_names.empty() && wanted.ip_addresses.empty())
    throw std::invalid_argument("a server certificate needs at least one host name or address");
  // Devices check the subjectAltName; the CN is for people reading the
  // certificate, and is left out rather than truncated when too long.
  std::string common_name = wanted.dns_names.empty() ? wanted.ip_addresses.front() : wanted.dns_names.front();
  if (common_name.size() > max_common_name) common_name.clear();

  general_names_ptr names(check_not_null(sk_GENERAL_NAME_new_null(), "cannot allocate names"));
  auto push = [&](int type, ASN1_STRING* value) {
    general_name_ptr name(GENERAL_NAME_new());
    if (!name) {
      ASN1_STRING_free(value);
      throw_openssl_error("cannot allocate a name");
    }
    GENERAL_NAME_set0_value(name.get(), type, value);
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) throw_openssl_error("cannot add a name");
    name.release();
  };
  for (const auto& dns : wanted.dns_names) {
    ia5_string_ptr value(check_not_null(ASN1_IA5STRING_new(), "cannot allocate a name"));
    check(ASN1_STRING_set(value.get(), dns.data(), static_cast<int>(dns.size())), "cannot set a name");
    push(GEN_DNS, value.release());
  }
  for (const auto& ip : wanted.ip_addresses) {
    const auto bytes = ip_bytes(ip);  // canonical, so it parses
    asn1_octet_string_ptr value(check_not_null(ASN1_OCTET_STRING_new(), "cannot allocate an address"));
    check(ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(bytes->data()),
                                static_cast<int>(bytes->size())),
          "cannot set an address");
    push(GEN_IPADD, value.release());
  }

  auto key = new_rsa_key();
  auto leaf = new_certificate(key.get(), days, certificate_.get(), common_name);
  add_extension(leaf.get(), certificate_.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(leaf.get(), certificate_.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(leaf.get(), certificate_.get(), NID_ext_key_usage, "serverAuth");
  add_extension(leaf.get(), certificate_.get(), NID_subject_key_identifier, "hash");
  add_extension(leaf.get(), certificate_.get(), NID_authority_key_identifier, "keyid");
  check(X509_add1_ext_i2d(leaf.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
        "cannot add the subjectAltName");
  return sign(leaf.get(), key.get());
}

std::string serial_hex(const X509* certificate) {
  bignum_ptr number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
  if (!number) throw_openssl_error("cannot read a serial number");
  char* hex = BN_bn2hex(number.get());
  if (hex == nullptr) throw_openssl_error("cannot format a serial number");
  std::string text(hex);
  OPENSSL_free(hex);
  // BN_bn2hex writes zero as "0"; openssl x509 -serial writes "00".
  return text == "0" ? "00" : text;
}

std::optional<profile::mac_address> device_identity(const X509* certificate) {
  if (certificate == nullptr) return std::nullopt;
  std::string ignored;
  const X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  // Two common names would make "which device is this" a guess.
  if (index >= 0 && X509_NAME_get_index_by_NID(subject, NID_commonName, index) < 0) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length >= 0) {
      const std::string common_name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
      OPENSSL_free(utf8);
      if (auto mac = profile::mac_address::parse_device(common_name, ignored)) return mac;
    }
  } else if (index >= 0) {
    return std::nullopt;
  }
  std::optional<profile::mac_address> found;
  bool ambiguous = false;
  for_each_alt_name(certificate, [&](const GENERAL_NAME& name) {
    if (name.type != GEN_DNS) return;
    if (auto mac = profile::mac_address::parse_device(asn1_text(name.d.dNSName), ignored)) {
      if (found && *found != *mac) ambiguous = true;
      found = mac;
    }
  });
  return ambiguous ? std::nullopt : found;
}

alt_names subject_alt_names(const X509* certificate) {
  alt_names names;
  for_each_alt_name(certificate, [&](const GENERAL_NAME& name) {
    if (name.type == GEN_DNS) {
      names.dns_names.push_back(lower(asn1_text(name.d.dNSName)));
    } else if (name.type == GEN_IPADD) {
      if (auto text = ip_text(ASN1_STRING_get0_data(name.d.iPAddress), ASN1_STRING_length(name.d.iPAddress)))
        names.ip_addresses.push_back(*text);
    }
  });
  return names;
}

alt_names canonical_alt_names(const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ip_addresses) {
  alt_names names;
  for (const auto& dns : dns_names) {
    if (!is_valid_dns_name(dns)) throw std::invalid_argument("not a host name: '" + dns + "'");
    auto canonical = lower(dns);
    if (std::find(names.dns_names.begin(), names.dns_names.end(), canonical) == names.dns_names.end())
      names.dns_names.push_back(std::move(canonical));
  }
  for (const auto& ip : ip_addresses) {
    const auto bytes = ip_bytes(ip);
    if (!bytes) throw std::invalid_argument("not an IP address: '" + ip + "'");
    auto canonical = *ip_text(reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<int>(bytes->size()));
    if (std::find(names.ip_addresses.begin(), names.ip_addresses.end(), canonical) == names.ip_addresses.end())
      names.ip_addresses.push_back(std::move(canonical));
  }
  return names;
}

}  // namespace provbox::certs
