#pragma once
// Owning handles for the OpenSSL objects certs/ uses, and one way to turn a
// failed OpenSSL call into an exception that carries OpenSSL's own reason.
// Private to certs/: the public headers speak in X509* and SSL_CTX* only.
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace provbox::certs::detail {

template <auto free_function>
struct openssl_deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    free_function(p);
  }
};

template <typename T, auto free_function>
using openssl_ptr = std::unique_ptr<T, openssl_deleter<free_function>>;

using x509_ptr = openssl_ptr<X509, X509_free>;
using pkey_ptr = openssl_ptr<EVP_PKEY, EVP_PKEY_free>;
using bio_ptr = openssl_ptr<BIO, BIO_free_all>;
using bignum_ptr = openssl_ptr<BIGNUM, BN_free>;
using asn1_integer_ptr = openssl_ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using asn1_time_ptr = openssl_ptr<ASN1_TIME, ASN1_TIME_free>;
using asn1_octet_string_ptr = openssl_ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using x509_extension_ptr = openssl_ptr<X509_EXTENSION, X509_EXTENSION_free>;
using x509_name_ptr = openssl_ptr<X509_NAME, X509_NAME_free>;
using x509_store_ptr = openssl_ptr<X509_STORE, X509_STORE_free>;
using general_name_ptr = openssl_ptr<GENERAL_NAME, GENERAL_NAME_free>;
using general_names_ptr = openssl_ptr<GENERAL_NAMES, GENERAL_NAMES_free>;
using ssl_session_ptr = openssl_ptr<SSL_SESSION, SSL_SESSION_free>;

// OpenSSL's error queue, oldest first, as one line; the queue is emptied so
// a later failure does not report this one's reasons.
inline std::string drain_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text;
}

// Every OpenSSL failure in certs/ is an operator action gone wrong (a bad
// file, no memory), never a device's input, so it is an exception.
[[noreturn]] inline void throw_openssl_error(std::string_view what) {
  const auto reasons = drain_openssl_errors();
  throw std::runtime_error(std::string(what) + (reasons.empty() ? std::string() : " (" + reasons + ")"));
}

// The usual "1 is success" OpenSSL convention, checked in one place.
inline void check(int result, std::string_view what) {
  if (result != 1) throw_openssl_error(what);
}

template <typename T>
T* check_not_null(T* p, std::string_view what) {
  if (p == nullptr) throw_openssl_error(what);
  return p;
}

// The whole content of a memory BIO.
inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace provbox::certs::detail
