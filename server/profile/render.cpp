#include "server/profile/render.hpp"

#include <map>
#include <unordered_map>

namespace provbox::profile {

macro_table builtin_macros(const device_facts& device) {
  macro_table table;
  table.set("MA", device.mac.lower_hex());
  table.set("MAU", device.mac.upper_hex());
  table.set("MAC", device.mac.colon_lower());
  table.set("PN", device.product_name);
  table.set("SN", device.serial);
  table.set("IP", device.ip);
  table.set("SWVER", device.sw_version);
  table.set("HWVER", device.hw_version);
  return table;
}

rendered_profile render_profile(const render_request& request) {
  rendered_profile out;
  std::vector<profile_entry> lines;
  std::unordered_map<std::string, std::size_t> line_of_key;
  lines.reserve(request.template_entries.size());

  for (const auto& entry : request.template_entries) {
    if (entry.key == dbase_version_key) {
      out.warnings.push_back("the template sets " + std::string(dbase_version_key) +
                             "; provbox computes it and ignores the template's value");
      continue;
    }
    line_of_key.emplace(entry.key, lines.size());
    lines.push_back(entry);
  }

  // Keys the template does not have, sorted; a later (more specific) layer
  // replaces an earlier one's value.
  std::map<std::string, std::string> added;
  for (const auto& layer : request.layers) {
    for (const auto& param : layer.params) {
      if (param.key == dbase_version_key) {
        out.warnings.push_back("param " + std::string(dbase_version_key) + " at " + layer.scope +
                               " is ignored; provbox computes it");
        continue;
      }
      if (auto it = line_of_key.find(param.key); it != line_of_key.end()) {
        lines[it->second].value = param.value;
      } else {
        added[param.key] = param.value;
      }
    }
  }

  std::string& text = out.text;
  text.append(dbase_version_key).append("=").append(std::to_string(request.dbase_version)).append("\n");
  auto emit = [&](const std::string& key, const std::string& value) {
    text.append(key).append("=").append(expand_macros(value, request.macros)).append("\n");
  };
  for (const auto& line : lines) emit(line.key, line.value);
  for (const auto& [key, value] : added) emit(key, value);
  return out;
}

}  // namespace provbox::profile
