#pragma once
// The device CA: one RSA key and self-signed certificate kept in the data
// folder, which issues one client certificate per device (identity = MAC)
// and the HTTPS server's certificate. Everything here is an operator action,
// so OpenSSL failures throw std::runtime_error with OpenSSL's reason.
#include <openssl/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/profile/mac_address.hpp"

namespace provbox::certs {

struct issued_certificate {
  std::string serial_hex;       // uppercase hex, as `openssl x509 -serial` prints it
  std::string certificate_pem;
  std::string private_key_pem;  // unencrypted PKCS#1 ("BEGIN RSA PRIVATE KEY")
  std::string not_before;       // ISO 8601 UTC: 2026-11-26T14:09:12Z
  std::string not_after;
};

// Subject alternative names in a canonical spelling: DNS names in lower
// case, addresses as inet_ntop writes them (so "::0001" and "::1" compare
// equal).
struct alt_names {
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  friend bool operator==(const alt_names&, const alt_names&) = default;
};

class authority {
public:
  // `<data_dir>/ca/ca.pem` and `ca.key` (key 0600, folder 0700). The first
  // call makes them: RSA-2048, SHA-256, CN "provbox device CA", 20 years.
  // A folder holding only one of the two files is refused, never completed,
  // because a new key would silently invalidate every issued certificate.
  static authority load_or_create(const std::filesystem::path& data_dir);
  // An existing CA, e.g. the operator's own: the certificate must be a CA
  // and the key must match it. Encrypted keys are refused (no prompting).
  static authority load(const std::filesystem::path& certificate_file, const std::filesystem::path& key_file);

  authority(authority&&) noexcept;
  authority& operator=(authority&&) noexcept;
  ~authority();

  // A client certificate for one device: new RSA-2048 key, subject
  // O=provbox, CN=00:21:f2:01:1b:19, EKU clientAuth, random 128-bit serial.
  // `days` must be positive; validity never runs past the CA's own.
  issued_certificate issue_device_certificate(const profile::mac_address& mac, int days = 3650) const;
  // The HTTPS server's certificate: every name and address in the
  // subjectAltName, CN = the first name (or address), EKU serverAuth.
  // Throws std::invalid_argument for a malformed name or address, or none.
  issued_certificate issue_server_certificate(const std::vector<std::string>& dns_names,
                                              const std::vector<std::string>& ip_addresses, int days = 825) const;

  X509* certificate() const { return certificate_.get(); }  // owned by the authority
  std::string certificate_pem() const;
  // The CA certificate's file: the trust anchor to give configure_server_tls.
  const std::filesystem::path& certificate_file() const { return certificate_file_; }
  // True when load_or_create made the CA just now.
  bool created() const { return created_; }

private:
  struct x509_free {
    void operator()(X509* p) const noexcept;
  };
  struct key_free {
    void operator()(EVP_PKEY* p) const noexcept;
  };
  using certificate_ptr = std::unique_ptr<X509, x509_free>;
  using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;

  authority(certificate_ptr certificate, key_ptr key, std::filesystem::path certificate_file, bool created);
  issued_certificate sign(X509* leaf, EVP_PKEY* leaf_key) const;

  certificate_ptr certificate_;
  key_ptr key_;
  std::filesystem::path certificate_file_;
  bool created_ = false;
};

// The serial number in uppercase hex without separators, exactly as
// `openssl x509 -noout -serial` prints it after "serial=".
std::string serial_hex(const X509* certificate);

// The device a client certificate names: the MAC in its single common name
// (any spelling mac_address::parse accepts), else the one MAC among its DNS
// subjectAltNames. nullopt when there is none, when two differ, or when the
// address is one no device can have (broadcast, multicast, all zero).
// Checks nothing about trust: call it on a verified certificate.
std::optional<profile::mac_address> device_identity(const X509* certificate);

// The certificate's subjectAltNames, canonical as above.
alt_names subject_alt_names(const X509* certificate);

// Canonical spellings of wanted names and addresses (lower case, inet_ntop),
// duplicates dropped, order kept; std::invalid_argument naming the first
// malformed entry.
alt_names canonical_alt_names(const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ip_addresses);

}  // namespace provbox::certs
