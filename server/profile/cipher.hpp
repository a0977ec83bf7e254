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
decrypt_result decrypt_profile(std::string_view encrypted, std::string_view passphrase);

}  // namespace provbox::profile
