// provbox cert issue|revoke|list|ca
#include <charconv>
#include <filesystem>
#include <system_error>

#include "certs/authority.hpp"
#include "certs/pem_files.hpp"
#include "certs/tls_context.hpp"
#include "server/cli/context.hpp"
#include "server/cli/output.hpp"
#include "store/certificates.hpp"

namespace provbox::cli {
namespace {

// The names the Flying Voice upload page (seed section 4.2) expects.
constexpr const char* ca_file_name = "cacert.pem";
constexpr const char* certificate_file_name = "sslclientcert.pem";
constexpr const char* key_file_name = "sslclientkey.pem";
constexpr int default_days = 3650;
constexpr int max_days = 36500;

// certs/ reports OpenSSL and file failures as std::runtime_error; for the
// CLI they are failed operations: one line, exit 1.
template <typename Operation>
auto as_operation(Operation&& operation) -> decltype(operation()) {
  try {
    return operation();
  } catch (const usage_error&) {
    throw;
  } catch (const operation_error&) {
    throw;
  } catch (const store::store_error&) {
    throw;
  } catch (const std::exception& e) {
    throw operation_error(e.what());
  }
}

int days_argument(const arguments& args) {
  const auto text = args.value("days");
  if (!text) return default_days;
  int days = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), days);
  if (error != std::errc() || end != text->data() + text->size() || days < 1 || days > max_days)
    args.fail("invalid --days '" + *text + "' (a whole number of days, 1 to " + std::to_string(max_days) + ")");
  return days;
}

int cert_issue(context& ctx, const std::vector<std::string>& raw) {
  arguments args("cert issue", raw, {{"out"}, {"days"}}, 1, 1);
  const auto mac = parse_mac_argument(args, args.positional(0));
  const int days = days_argument(args);
  const std::filesystem::path out = args.value("out").value_or(mac.upper_hex() + "-certs");
  if (out.empty()) args.fail("--out needs a folder");

  auto& inventory = ctx.inventory();
  // Checked before anything is made, so a typo creates no CA and no files.
  if (!inventory.find_device(mac)) throw operation_error("unknown device " + mac.colon_lower());

  const auto files = std::vector<std::filesystem::path>{out / ca_file_name, out / certificate_file_name,
                                                         out / key_file_name};
  const auto [ca_created, issued] = as_operation([&] {
    auto ca = certs::authority::load_or_create(ctx.data_dir);
    auto certificate = ca.issue_device_certificate(mac, days);
    // Recorded and written together: if a file cannot be written the record
    // is rolled back, so no certificate is accepted that the operator never got.
    store::transaction tx(inventory.db());
    store::certificates(inventory.db())
        .record({certificate.serial_hex, mac.colon_lower(), store::certificate_kind::device, certificate.not_before,
                 certificate.not_after, "", std::nullopt});
    if (std::filesystem::create_directories(out))
      std::filesystem::permissions(out, std::filesystem::perms::owner_all);  // it holds a private key
    certs::write_file_atomically(files[0], ca.certificate_pem(), 0644);
    certs::write_file_atomically(files[1], certificate.certificate_pem, 0644);
    certs::write_file_atomically(files[2], certificate.private_key_pem, 0600);
    tx.commit();
    return std::pair{ca.created(), std::move(certificate)};
  });

  if (ctx.json) {
    json_writer json;
    json.begin_object()
        .field("mac", mac.colon_lower())
        .field("serial", issued.serial_hex)
        .field("not_before", issued.not_before)
        .field("not_after", issued.not_after)
        .field("ca_created", ca_created)
        .key("files")
        .begin_object()
        .field("ca", files[0].string())
        .field("certificate", files[1].string())
        .field("key", files[2].string())
        .end_object()
        .end_object();
    ctx.out << json.str() << '\n';
    return 0;
  }
  if (ca_created)
    ctx.out << "created the device CA in " << (std::filesystem::path(ctx.data_dir) / "ca").string() << '\n';
  ctx.out << "issued a client certificate for " << mac.colon_lower() << ", serial " << issued.serial_hex
          << ", valid until " << issued.not_after << ":\n";
  for (const auto& file : files) ctx.out << "  " << file.string() << '\n';
  ctx.out << "Upload them on the device's Administration/Security page, one Update Type each: Provision CA "
             "Certification = cacert.pem, Provision Client Certification = sslclientcert.pem, Provision Private "
             "Key = sslclientkey.pem; then point its profile rule at an https:// URL.\n";
  return 0;
}

int cert_revoke(context& ctx, const std::vector<std::string>& raw) {
  arguments args("cert revoke", raw, {}, 1, 1);
  const auto& text = args.positional(0);
  const auto mac = profile::mac_address::parse(text);
  const auto serial = store::normalize_serial(text);
  if (!mac && !serial) args.fail("expected a MAC address or a certificate serial, got '" + text + "'");

  auto& db = ctx.inventory().db();
  store::certificates certificates(db);
  store::transaction tx(db);
  // A 12-digit serial also reads as a MAC: a device with certificates wins,
  // else the text is tried as a serial.
  std::string what;
  std::vector<std::string> revoked;
  if (mac && !certificates.list(mac->colon_lower()).empty()) {
    what = mac->colon_lower();
    revoked = certificates.revoke_device(*mac);
  } else if (serial && certificates.find(*serial)) {
    what = "serial " + *serial;
    revoked = certificates.revoke(*serial);
  } else {
    throw operation_error("no certificate matches '" + text + "'");
  }
  tx.commit();

  if (ctx.json) {
    json_writer json;
    json.begin_object().key("revoked").begin_array();
    for (const auto& s : revoked) json.value(s);
    json.end_array().end_object();
    ctx.out << json.str() << '\n';
  } else if (revoked.empty()) {
    ctx.out << "the certificates of " << what << " were already revoked\n";
  } else {
    ctx.out << "revoked " << revoked.size() << (revoked.size() == 1 ? " certificate" : " certificates") << " of "
            << what << ":";
    for (const auto& s : revoked) ctx.out << ' ' << s;
    ctx.out << "\nthe next HTTPS connection with " << (revoked.size() == 1 ? "it" : "them") << " is refused\n";
  }
  return 0;
}

int cert_list(context& ctx, const std::vector<std::string>& raw) {
  arguments args("cert list", raw, {}, 0, 1);
  std::optional<std::string> subject;
  if (!args.positional().empty()) subject = parse_mac_argument(args, args.positional(0)).colon_lower();
  const auto all = store::certificates(ctx.inventory().db()).list(subject);
  if (ctx.json) {
    json_writer json;
    json.begin_array();
    for (const auto& c : all) {
      json.begin_object()
          .field("serial", c.serial)
          .field("subject", c.subject)
          .field("kind", store::to_string(c.kind))
          .field("not_before", c.not_before)
          .field("not_after", c.not_after)
          .field("issued_at", c.issued_at)
          .field("revoked", c.revoked_at.has_value())
          .field("revoked_at", c.revoked_at.value_or(""))
          .end_object();
    }
    json.end_array();
    ctx.out << json.str() << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : all)
    rows.push_back(
        {c.serial, c.subject, std::string(store::to_string(c.kind)), c.not_after, c.revoked_at.value_or("no")});
  print_table(ctx.out, {"SERIAL", "SUBJECT", "KIND", "NOT AFTER", "REVOKED"}, rows);
  return 0;
}

int cert_ca(context& ctx, const std::vector<std::string>& raw) {
  arguments args("cert ca", raw, {{"out"}}, 0, 0);
  // A mistyped --data-dir must not leave a stray CA behind.
  std::error_code ec;
  if (!std::filesystem::is_directory(ctx.data_dir, ec))
    throw operation_error("no data folder " + ctx.data_dir + " (provbox init creates it)");
  const auto out = args.value("out");
  if (out && out->empty()) args.fail("--out needs a file name");
  const auto [created, pem] = as_operation([&] {
    auto ca = certs::authority::load_or_create(ctx.data_dir);
    auto text = ca.certificate_pem();
    if (out) certs::write_file_atomically(*out, text, 0644);
    return std::pair{ca.created(), text};
  });
  const auto ca_folder = (std::filesystem::path(ctx.data_dir) / "ca").string();
  if (ctx.json) {
    json_writer json;
    json.begin_object().field("created", created).field("certificate_pem", pem);
    if (out) json.field("file", *out);
    json.end_object();
    ctx.out << json.str() << '\n';
  } else if (out) {
    if (created) ctx.out << "created the device CA in " << ca_folder << '\n';
    ctx.out << "wrote the device CA certificate to " << *out << '\n';
  } else {
    // Only the PEM on stdout, so `provbox cert ca > cacert.pem` works.
    if (created) ctx.err << "provbox: created the device CA in " << ca_folder << '\n';
    ctx.out << pem;
  }
  return 0;
}

// Makes the device CA (or adopts the operator's own) and the HTTPS server
// certificate ahead of the first `serve`, so the CA can be handed to devices
// before the server ever runs.
int ca_init(context& ctx, const std::vector<std::string>& raw) {
  arguments args("ca init", raw,
                 {{"import", true, false}, {"key"}, {"server-name", true, true}, {"server-address", true, true}}, 0, 0);
  const auto import_cert = args.value("import");
  const auto import_key = args.value("key");
  if (import_cert.has_value() != import_key.has_value()) args.fail("--import CERT goes with --key KEY");
  auto names = args.values("server-name");
  auto addresses = args.values("server-address");
  if (names.empty() && addresses.empty()) {
    names = {"localhost"};
    addresses = {"127.0.0.1"};
  }
  auto& inventory = ctx.create_inventory();
  const auto ca_folder = std::filesystem::path(ctx.data_dir) / "ca";
  const auto [created, issued] = as_operation([&] {
    if (import_cert) {
      std::error_code ec;
      if (std::filesystem::exists(ca_folder / "ca.pem", ec) || std::filesystem::exists(ca_folder / "ca.key", ec))
        throw operation_error(ca_folder.string() + " already holds a CA; devices trust it, so it is never replaced");
      // load() checks the certificate is a CA and the key matches it.
      auto own = certs::authority::load(*import_cert, *import_key);
      std::filesystem::create_directories(ca_folder);
      std::filesystem::permissions(ca_folder, std::filesystem::perms::owner_all);
      certs::write_file_atomically(ca_folder / "ca.key", read_file_argument(args, *import_key), 0600);
      certs::write_file_atomically(ca_folder / "ca.pem", own.certificate_pem(), 0644);
    }
    auto ca = certs::authority::load_or_create(ctx.data_dir);
    auto files = certs::ensure_server_certificate(ca, ctx.data_dir, names, addresses);
    if (files.issued)
      store::certificates(inventory.db())
          .record({files.issued->serial_hex, "provbox server", store::certificate_kind::server,
                   files.issued->not_before, files.issued->not_after});
    return std::pair{ca.created() || import_cert.has_value(), files};
  });
  ctx.out << (created ? "device CA ready in " : "device CA already in ") << ca_folder.string() << '\n'
          << "server certificate " << issued.certificate_file.string()
          << (issued.issued ? " issued (" + issued.reason + ")" : std::string(" is current")) << '\n';
  return 0;
}

}  // namespace

std::vector<command> cert_commands() {
  return {
      {"cert issue", "cert issue MAC [--out DIR] [--days N]   (cacert.pem, sslclientcert.pem, sslclientkey.pem)",
       cert_issue},
      {"cert revoke", "cert revoke MAC|SERIAL", cert_revoke},
      {"cert list", "cert list [MAC]", cert_list},
      {"cert ca", "cert ca [--out FILE]   (the device CA certificate, made on first use)", cert_ca},
      {"ca init",
       "ca init [--import CERT --key KEY] [--server-name N]... [--server-address A]...   (CA and HTTPS certificate)",
       ca_init},
  };
}

}  // namespace provbox::cli
