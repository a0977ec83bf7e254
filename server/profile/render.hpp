#pragma once
// Turns a model's template, the params of every scope and the device's macro
// values into the exact bytes of the device's configuration file.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/profile/mac_address.hpp"
#include "server/profile/macro.hpp"
#include "server/profile/profile_template.hpp"

namespace provbox::profile {

// provbox owns this key: it is always the first line and always computed.
inline constexpr std::string_view dbase_version_key = "DBID_DBASE_VERSION";

// What the inventory knows of a device, for the built-in macros.
struct device_facts {
  mac_address mac;
  std::string product_name;  // PN: the model, e.g. IP542N
  std::string serial;        // SN
  std::string ip;            // IP: the device's current address, if known
  std::string sw_version;    // SWVER
  std::string hw_version;    // HWVER
};

// MA, MAU, MAC, PN, SN, IP, SWVER and HWVER for one device. A built-in with
// no value (an unknown serial, say) expands to an empty string.
macro_table builtin_macros(const device_facts& device);

// The params of one scope, e.g. {"group office", {...}}; the name appears in
// warnings.
struct param_layer {
  std::string scope;
  std::vector<profile_entry> params;
};

struct render_request {
  std::vector<profile_entry> template_entries;  // the model's, in file order
  std::vector<param_layer> layers;              // least specific first
  macro_table macros;
  std::uint64_t dbase_version = 0;
};

struct rendered_profile {
  std::string text;
  std::vector<std::string> warnings;  // e.g. a template that sets DBID_DBASE_VERSION
};

// Layering: a param replaces the template line with its key, in place; keys
// the template lacks follow it, sorted, the most specific scope winning.
// Every value is then macro-expanded (keys are not). Lines end in "\n".
rendered_profile render_profile(const render_request& request);

}  // namespace provbox::profile
