#pragma once
// provbox-sim's pure parts: a simulated device's settings (the seed's
// Provision page, section 2.1), its identity, the Profile/Upgrade Rule syntax
// (section 2.2), macro expansion (section 3), the KEY=VALUE file and the keys
// of it that change the device's own settings. No sockets: unit-tested in
// device_test.cpp.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace provbox::sim {

// The Provision page. Times are seconds.
struct settings {
  bool provision_enable = true;
  bool resync_on_reset = true;
  int random_delay_s = 40;
  int periodic_s = 3600;
  int error_retry_s = 3600;
  // Accepted and reported; the simulator has no phone lines, so no line is
  // ever busy and the delay never holds a resync back (see README).
  int forced_resync_delay_s = 14400;
  bool resync_after_upgrade = true;
  bool option66 = true;
  std::string config_file;   // default <model>.conf
  std::string profile_rule;  // empty by default
  bool upgrade_enable = true;
  int upgrade_error_retry_s = 3600;
  std::string upgrade_rule;  // empty by default
};

// Who the device is: what the macros expand to.
struct identity {
  std::string mac;  // 00:21:f2:01:1b:19 ($MAC)
  std::string ma;   // 0021f2011b19      ($MA)
  std::string mau;  // 0021F2011B19      ($MAU)
  std::string model, serial, sw, hw, ip;
};

// The identity of the device whose MAC is `mac` (48 bits).
identity make_identity(std::uint64_t mac, const std::string& model,
                       const std::string& serial_prefix);
// Any common MAC spelling; nullopt when it is not one.
std::optional<std::uint64_t> parse_mac(std::string_view text);

// `[--key K] URL`: the options in brackets, then the URL as written (before
// expansion). Unknown options in the brackets are ignored, as the device
// ignores what it does not know.
struct rule {
  std::optional<std::string> key;
  std::string url;
};
rule parse_rule(std::string_view text);

struct url {
  std::string scheme;  // tftp, http, https
  std::string host;
  std::uint16_t port = 0;
  std::string path;  // starts with '/'
};

// `[scheme://][server[:port]]/path`; tftp when no scheme; no server means the
// option 66 server (`option66_server`: host or host:port; may be empty).
// On error, nullopt and `why` says what is wrong.
std::optional<url> parse_url(const std::string& text, const std::string& option66_server,
                             std::string& why);

// The text with the device's macros (MA MAU MAC PN SN IP SWVER HWVER) expanded.
std::string expand(const identity& who, std::string_view text);

// KEY=VALUE lines (CR LF or LF; `#` comments and lines without `=` skipped;
// the last of a repeated key wins).
std::map<std::string, std::string> parse_key_values(std::string_view text);

// The file's keys that change the device's own settings. The first is the
// vendor's; the others are names chosen by the simulator (the vendor's real
// names are not public).
namespace setting_key {
inline constexpr std::string_view option66 = "DBID_PRV_OPTION66_ENABLED";
inline constexpr std::string_view profile_rule = "DBID_PRV_PROFILE_RULE";
inline constexpr std::string_view config_file = "DBID_PRV_CONFIG_FILE_NAME";
inline constexpr std::string_view periodic = "DBID_PRV_RESYNC_PERIODIC";
inline constexpr std::string_view error_retry = "DBID_PRV_RESYNC_ERROR_RETRY_DELAY";
inline constexpr std::string_view upgrade_enable = "DBID_PRV_UPGRADE_ENABLE";
inline constexpr std::string_view upgrade_rule = "DBID_PRV_UPGRADE_RULE";
inline constexpr std::string_view upgrade_error_retry = "DBID_PRV_UPGRADE_ERROR_RETRY_DELAY";
inline constexpr std::string_view resync_after_upgrade = "DBID_PRV_RESYNC_AFTER_UPGRADE";
}  // namespace setting_key

// Applies those keys of `params` to `s`. A number that does not parse leaves
// the setting as it was.
void apply_own_settings(settings& s, const std::map<std::string, std::string>& params);

// "1", "yes", "enable", "on" (any case).
bool truthy(std::string_view value);

// provbox serves firmware at /firmware/MODEL/VERSION/FILE: the VERSION of such
// a path (the device's new software version after the upgrade), else nullopt.
std::optional<std::string> firmware_version_of(std::string_view path);

// Lower-case hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view bytes);

}  // namespace provbox::sim
