#pragma once
// The `[--key K]` profile encryption the devices decrypt: OpenSSL's `enc`
// format, as `openssl enc -aes-256-cbc -md md5 -k K` writes it.
//   "Salted__" | 8-byte salt | AES-256-CBC(PKCS#7) ciphertext
// key and IV from EVP_BytesToKey(MD5, one iteration, passphrase, salt).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace provbox::profile {

using cipher_salt = std::array<std::uint8_t, 8>;

// Encrypts with a fresh random salt.
std::string encrypt_profile(std::string_view plain, std::string_view passphrase);
// Encrypts with a given salt (tests, reproducible output).
std::string encrypt_profile(std::string_view plain, std::string_view passphrase,
                            const cipher_salt& salt);

enum class decrypt_error { not_salted_format, bad_length, wrong_key_or_corrupt };
std::string_view describe(decrypt_error e);

struct decrypt_result {
  std::optional<std::string> plain;
  decrypt_error error{};
};
// Bad input (wrong format, wrong length, wrong key, corruption) is reported in
// the result and never throws. Only a failure inside OpenSSL itself (out of
// memory) throws std::runtime_error, as encrypt_profile does.
// A wrong key is caught only by the PKCS#7 padding check, which random bytes
// pass about once in 256 tries: then the result is garbage "plain" text.
// The format has no MAC, so callers must not treat success as proof of key.
decrypt_result decrypt_profile(std::string_view encrypted, std::string_view passphrase);

// The key and IV that EVP_BytesToKey(MD5, 1 iteration) derives; exposed so
// tests can check them against `openssl enc -P`. Clears itself when destroyed.
struct cipher_key_iv {
  std::array<std::uint8_t, 32> key{};
  std::array<std::uint8_t, 16> iv{};
  ~cipher_key_iv();
};
cipher_key_iv derive_key_iv(std::string_view passphrase, const cipher_salt& salt);

}  // namespace provbox::profile
