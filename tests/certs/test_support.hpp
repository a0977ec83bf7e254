#pragma once
// Helpers for the certs tests: a private temporary folder, PEM parsing, and
// hand-made certificates for the shapes the authority never issues (two
// common names, no MAC, expired, another CA), signed with any key.
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "certs/openssl_handles.hpp"
#include "tests/support/temp_folder.hpp"

namespace provbox::certs::test_support {

using namespace detail;

class temp_folder : public provbox::test_support::temp_folder {
public:
  temp_folder() : provbox::test_support::temp_folder("provbox-certs-test") {}
};

inline x509_ptr parse_certificate(std::string_view pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) throw std::runtime_error("test: not a PEM certificate");
  return certificate;
}

inline pkey_ptr parse_key(std::string_view pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("test: not a PEM private key");
  return key;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("test: cannot read " + path.string());
  std::string text;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  std::fclose(f);
  return text;
}

inline pkey_ptr read_key_file(const std::filesystem::path& path) { return parse_key(read_file(path)); }
inline x509_ptr read_certificate_file(const std::filesystem::path& path) { return parse_certificate(read_file(path)); }

// One RSA key for every hand-made certificate: key generation is the slow
// part and these tests are about names, dates and chains.
inline EVP_PKEY* shared_test_key() {
  static pkey_ptr key(EVP_RSA_gen(2048));
  return key.get();
}

inline std::string to_pem(const X509* certificate) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate);
  return bio_text(bio.get());
}

struct certificate_spec {
  std::vector<std::string> common_names = {};
  std::vector<std::string> dns_names = {};
  long valid_from_seconds = -3600;  // relative to now
  long valid_until_seconds = 86400;
  const char* extended_key_usage = "clientAuth";
  bool is_ca = false;
  long serial = 4242;
};

// A certificate for shared_test_key() per `spec`, signed by `issuer_key`
// with `issuer` as the issuer (nullptr: self-signed).
inline x509_ptr make_certificate(const certificate_spec& spec, X509* issuer, EVP_PKEY* issuer_key) {
  x509_ptr certificate(X509_new());
  X509_set_version(certificate.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), spec.valid_from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), spec.valid_until_seconds);
  X509_set_pubkey(certificate.get(), shared_test_key());
  X509_NAME* subject = X509_get_subject_name(certificate.get());
  for (const auto& cn : spec.common_names)
    X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(certificate.get(), issuer ? X509_get_subject_name(issuer) : subject);
  auto add = [&](int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer ? issuer : certificate.get(), certificate.get(), nullptr, nullptr, 0);
    x509_extension_ptr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
    if (!extension || X509_add_ext(certificate.get(), extension.get(), -1) != 1)
      throw std::runtime_error("test: cannot add extension " + value);
  };
  add(NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add(NID_key_usage, spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
  if (!spec.is_ca) add(NID_ext_key_usage, spec.extended_key_usage);
  add(NID_subject_key_identifier, "hash");
  if (!spec.dns_names.empty()) {
    std::string san;
    for (const auto& d : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    add(NID_subject_alt_name, san);
  }
  if (X509_sign(certificate.get(), issuer_key, EVP_sha256()) <= 0) throw std::runtime_error("test: cannot sign");
  return certificate;
}

}  // namespace provbox::certs::test_support
