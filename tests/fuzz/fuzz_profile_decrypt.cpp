// libFuzzer target for decrypt_profile, which reads files in the format of
// `openssl enc -aes-256-cbc -md md5 -k K` (server/profile/cipher.cpp). The
// first byte is the passphrase length (as far as the input reaches), then the
// passphrase, then the bytes to decrypt.
//  1. Decrypting any bytes with any passphrase returns a value and never
//     throws; the error is the one the format dictates: not_salted_format
//     below 16 bytes or without "Salted__", bad_length for an empty body or
//     one that is not whole blocks, wrong_key_or_corrupt otherwise.
//  2. Whatever decrypts (a right key, or a wrong one that passes the padding
//     check by chance) is 1 to 16 bytes shorter than the body, and encrypting
//     it again under the same passphrase and salt gives back the input bytes.
//  3. decrypt(encrypt(x, key)) == x for the bytes and passphrase of the input,
//     with a salt taken from the input and with a fresh random one.
// ASan sees our buffers; OpenSSL itself is not instrumented, so a read past
// the end inside libcrypto would show up only as a wrong result.
#include "tests/fuzz/fuzz_check.hpp"
#include "server/profile/cipher.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

namespace {

using namespace provbox::profile;

using provbox::fuzz::check;

constexpr std::string_view magic = "Salted__";
constexpr std::size_t header_size = 16;  // "Salted__" and an 8-byte salt

cipher_salt salt_of(std::string_view encrypted) {
  cipher_salt salt{};
  std::memcpy(salt.data(), encrypted.data() + magic.size(), salt.size());
  return salt;
}

void check_decrypt(std::string_view encrypted, std::string_view passphrase) {
  decrypt_result result;
  try {
    result = decrypt_profile(encrypted, passphrase);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "decrypt_profile threw: %s\n", e.what());
    check(false, "decrypt_profile reports bad input as a value");
  }

  const bool salted = encrypted.size() >= header_size && encrypted.substr(0, magic.size()) == magic;
  const std::size_t body = salted ? encrypted.size() - header_size : 0;
  if (!result.plain) {
    check(!describe(result.error).empty(), "every error has a description");
    if (!salted) {
      check(result.error == decrypt_error::not_salted_format, "no header is not_salted_format");
    } else if (body == 0 || body % 16 != 0) {
      check(result.error == decrypt_error::bad_length, "a body that is not whole blocks is bad_length");
    } else {
      check(result.error == decrypt_error::wrong_key_or_corrupt, "whole blocks fail only the padding check");
    }
    return;
  }
  check(salted && body > 0 && body % 16 == 0, "only a well-formed file decrypts");
  check(result.plain->size() < body && result.plain->size() + 16 >= body,
        "PKCS#7 removes 1 to 16 bytes");
  check(encrypt_profile(*result.plain, passphrase, salt_of(encrypted)) == encrypted,
        "what decrypts encrypts back to the same bytes");
}

void check_round_trip(std::string_view plain, std::string_view passphrase, const cipher_salt& salt) {
  const std::string encrypted = encrypt_profile(plain, passphrase, salt);
  check(encrypted.size() == header_size + (plain.size() / 16 + 1) * 16, "ciphertext is padded to whole blocks");
  check(encrypted.substr(0, magic.size()) == magic, "ciphertext starts with Salted__");
  const decrypt_result back = decrypt_profile(encrypted, passphrase);
  check(back.plain && *back.plain == plain, "decrypt(encrypt(x)) == x with a given salt");

  const decrypt_result fresh = decrypt_profile(encrypt_profile(plain, passphrase), passphrase);
  check(fresh.plain && *fresh.plain == plain, "decrypt(encrypt(x)) == x with a random salt");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t key_length = std::min<std::size_t>(data[0], size - 1);
  const std::string_view passphrase = input.substr(1, key_length);
  const std::string_view rest = input.substr(1 + key_length);

  check_decrypt(rest, passphrase);

  // The same bytes as plain text; the salt is the last 8 bytes of the input
  // (or zeros), so a failing input reproduces exactly.
  cipher_salt salt{};
  const std::size_t salt_bytes = std::min(salt.size(), size);
  std::memcpy(salt.data(), data + size - salt_bytes, salt_bytes);
  check_round_trip(rest, passphrase, salt);

  // A ciphertext under one passphrase, read with another: an error or, about
  // once in 256 tries, garbage that still obeys property 2.
  check_decrypt(encrypt_profile(rest, passphrase, salt), std::string(passphrase) + "x");
  return 0;
}
