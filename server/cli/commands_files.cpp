// provbox render, encrypt, decrypt
#include <filesystem>
#include <fstream>

#include "server/cli/context.hpp"
#include "server/profile/cipher.hpp"
#include "server/provisioning/device_file.hpp"
#include "store/validation.hpp"

namespace provbox::cli {
namespace {

// Writes through a temporary file and a rename, so DST is either the old
// file or the whole new one.
void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string temporary = path + ".provbox-tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw operation_error("cannot write " + path);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(temporary);
      throw operation_error("cannot write " + path);
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary);
    throw operation_error("cannot write " + path + ": " + ec.message());
  }
}

int render(context& ctx, const std::vector<std::string>& raw) {
  arguments args("render", raw, {{"plain", false}, {"ip"}, {"output"}}, 1, 1);
  const auto mac = parse_mac_argument(args, args.positional(0));
  const auto ip = args.value("ip");
  if (ip && !store::is_valid_ipv4(*ip)) args.fail("invalid --ip '" + *ip + "'");
  auto file = provisioning::render_device_file(ctx.inventory(), mac, ip);
  if (!file) throw operation_error("unknown device " + mac.colon_lower());
  for (const auto& warning : file->warnings) ctx.err << "provbox: warning: " << warning << '\n';
  const std::string& bytes = args.flag("plain") ? file->plain : file->body;
  if (auto path = args.value("output")) {
    write_file_atomically(*path, bytes);
  } else {
    ctx.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  return 0;
}

int encrypt(context& ctx, const std::vector<std::string>& raw) {
  arguments args("encrypt", raw, {}, 3, 3);
  if (args.positional(0).empty()) args.fail("the key cannot be empty");
  const auto plain = read_file_argument(args, args.positional(1));
  write_file_atomically(args.positional(2), profile::encrypt_profile(plain, args.positional(0)));
  (void)ctx;
  return 0;
}

int decrypt(context& ctx, const std::vector<std::string>& raw) {
  arguments args("decrypt", raw, {}, 3, 3);
  const auto encrypted = read_file_argument(args, args.positional(1));
  const auto result = profile::decrypt_profile(encrypted, args.positional(0));
  if (!result.plain)
    throw operation_error(args.positional(1) + ": " + std::string(profile::describe(result.error)));
  write_file_atomically(args.positional(2), *result.plain);
  (void)ctx;
  return 0;
}

}  // namespace

std::vector<command> file_commands() {
  return {
      {"render", "render MAC [--plain] [--ip A] [--output FILE]   (the exact bytes served)", render},
      {"encrypt", "encrypt KEY SRC DST   (as openssl enc -aes-256-cbc -md md5 -k KEY)", encrypt},
      {"decrypt", "decrypt KEY SRC DST", decrypt},
  };
}

}  // namespace provbox::cli
