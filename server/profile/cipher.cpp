#include "server/profile/cipher.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace provbox::profile {
namespace {

constexpr std::string_view salted_magic = "Salted__";
constexpr std::size_t header_size = salted_magic.size() + std::tuple_size_v<cipher_salt>;
constexpr std::size_t block_size = 16;
// The EVP update calls take int lengths; feeding them pieces of at most 1 GiB
// keeps every length in range whatever the profile size.
constexpr std::size_t max_chunk = std::size_t{1} << 30;

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

// Clears a buffer that may hold plaintext (SIP passwords and the like) when
// it is abandoned, including when an exception unwinds past it.
class wipe_unless_released {
public:
  explicit wipe_unless_released(std::string& buffer) : buffer_(&buffer) {}
  wipe_unless_released(const wipe_unless_released&) = delete;
  wipe_unless_released& operator=(const wipe_unless_released&) = delete;
  ~wipe_unless_released() {
    if (buffer_ != nullptr && !buffer_->empty()) OPENSSL_cleanse(buffer_->data(), buffer_->size());
  }
  void release() noexcept { buffer_ = nullptr; }

private:
  std::string* buffer_;
};

const unsigned char* as_bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* as_bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// Only for failures of OpenSSL itself. The thread's OpenSSL error queue is
// drained into the message so it does not linger and confuse a later TLS
// call on the same thread.
[[noreturn]] void throw_openssl_failure(const char* call) {
  std::string message = std::string("profile cipher: ") + call + " failed";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    message += ": ";
    message += text;
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

// EVP_BytesToKey takes the passphrase length as an int.
bool passphrase_fits(std::string_view passphrase) {
  return passphrase.size() <= static_cast<std::size_t>(INT_MAX);
}

// Runs one EVP update over a large input in int-sized pieces; returns the
// number of bytes written to `out`.
template <typename update_fn>
std::size_t update_in_chunks(update_fn update, EVP_CIPHER_CTX* ctx, unsigned char* out,
                             const unsigned char* in, std::size_t in_size, const char* call) {
  std::size_t written = 0;
  for (std::size_t pos = 0; pos < in_size; pos += max_chunk) {
    const std::size_t chunk = std::min(max_chunk, in_size - pos);
    int produced = 0;
    if (update(ctx, out + written, &produced, in + pos, static_cast<int>(chunk)) != 1 || produced < 0) {
      throw_openssl_failure(call);
    }
    written += static_cast<std::size_t>(produced);
  }
  return written;
}

}  // namespace

cipher_key_iv::~cipher_key_iv() {
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(iv.data(), iv.size());
}

cipher_key_iv derive_key_iv(std::string_view passphrase, const cipher_salt& salt) {
  if (!passphrase_fits(passphrase)) {
    throw std::runtime_error("profile cipher: OpenSSL cannot take a passphrase of 2 GiB or more");
  }
  cipher_key_iv derived;
  // One MD5 iteration: what `openssl enc -md md5 -k` (and OpenSSL before
  // 1.1.0 by default) uses, and therefore what the devices expect.
  const int key_length =
      EVP_BytesToKey(EVP_aes_256_cbc(), EVP_md5(), salt.data(), as_bytes(passphrase),
                     static_cast<int>(passphrase.size()), 1, derived.key.data(), derived.iv.data());
  if (key_length != static_cast<int>(derived.key.size())) throw_openssl_failure("EVP_BytesToKey");
  return derived;
}

std::string encrypt_profile(std::string_view plain, std::string_view passphrase) {
  cipher_salt salt{};
  // A fresh salt per file, so the same profile and key never give the same
  // bytes twice (and the derived key differs per file).
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) throw_openssl_failure("RAND_bytes");
  return encrypt_profile(plain, passphrase, salt);
}

std::string encrypt_profile(std::string_view plain, std::string_view passphrase,
                            const cipher_salt& salt) {
  const cipher_key_iv derived = derive_key_iv(passphrase, salt);

  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  if (!ctx) throw_openssl_failure("EVP_CIPHER_CTX_new");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, derived.key.data(),
                         derived.iv.data()) != 1) {
    throw_openssl_failure("EVP_EncryptInit_ex");
  }

  // PKCS#7 always adds 1 to 16 bytes, so the exact size is known up front.
  const std::size_t cipher_size = plain.size() + block_size - plain.size() % block_size;
  std::string out(header_size + cipher_size, '\0');
  std::memcpy(out.data(), salted_magic.data(), salted_magic.size());
  std::memcpy(out.data() + salted_magic.size(), salt.data(), salt.size());

  unsigned char* body = as_bytes(out) + header_size;
  std::size_t written = update_in_chunks(EVP_EncryptUpdate, ctx.get(), body, as_bytes(plain),
                                         plain.size(), "EVP_EncryptUpdate");
  int final_length = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), body + written, &final_length) != 1 || final_length < 0) {
    throw_openssl_failure("EVP_EncryptFinal_ex");
  }
  written += static_cast<std::size_t>(final_length);
  if (written != cipher_size) {
    throw std::runtime_error("profile cipher: OpenSSL produced an unexpected ciphertext length");
  }
  return out;
}

std::string_view describe(decrypt_error e) {
  switch (e) {
    case decrypt_error::not_salted_format:
      return "not an OpenSSL salted file (missing \"Salted__\" header and salt)";
    case decrypt_error::bad_length:
      return "ciphertext length is not a positive multiple of 16 bytes";
    case decrypt_error::wrong_key_or_corrupt:
      return "wrong key or corrupted file (padding check failed)";
  }
  return "unknown cipher error";
}

decrypt_result decrypt_profile(std::string_view encrypted, std::string_view passphrase) {
  if (encrypted.size() < header_size || !encrypted.starts_with(salted_magic)) {
    return {std::nullopt, decrypt_error::not_salted_format};
  }
  const std::string_view body = encrypted.substr(header_size);
  if (body.empty() || body.size() % block_size != 0) {
    return {std::nullopt, decrypt_error::bad_length};
  }
  // No file can have been made with such a passphrase (EVP_BytesToKey takes
  // an int length), so it cannot be the right key.
  if (!passphrase_fits(passphrase)) return {std::nullopt, decrypt_error::wrong_key_or_corrupt};

  cipher_salt salt{};
  std::memcpy(salt.data(), encrypted.data() + salted_magic.size(), salt.size());
  const cipher_key_iv derived = derive_key_iv(passphrase, salt);

  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  if (!ctx) throw_openssl_failure("EVP_CIPHER_CTX_new");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, derived.key.data(),
                         derived.iv.data()) != 1) {
    throw_openssl_failure("EVP_DecryptInit_ex");
  }

  // OpenSSL documents that the output needs room for the input plus one
  // block; the padding then makes the plaintext shorter than the body.
  std::string plain(body.size() + block_size, '\0');
  wipe_unless_released wipe{plain};
  std::size_t written = update_in_chunks(EVP_DecryptUpdate, ctx.get(), as_bytes(plain),
                                         as_bytes(body), body.size(), "EVP_DecryptUpdate");
  int final_length = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), as_bytes(plain) + written, &final_length) != 1) {
    // A bad padding is bad input, not an OpenSSL failure. OpenSSL has queued
    // a "bad decrypt" error for this thread; drop it so a later TLS call on
    // the same thread does not pick it up as its own.
    ERR_clear_error();
    return {std::nullopt, decrypt_error::wrong_key_or_corrupt};
  }
  written += static_cast<std::size_t>(final_length);
  // Shrinking in place keeps the capacity; wipe the dropped tail first.
  OPENSSL_cleanse(plain.data() + written, plain.size() - written);
  plain.resize(written);
  wipe.release();
  return {std::move(plain), decrypt_error{}};
}

}  // namespace provbox::profile
