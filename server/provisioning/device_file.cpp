#include "server/provisioning/device_file.hpp"

#include "server/profile/cipher.hpp"
#include "server/profile/profile_template.hpp"

namespace provbox::provisioning {

profile::render_request make_render_request(const store::profile_source& source, const std::string& ip) {
  const auto& device = source.device;
  profile::render_request request;
  // The template was validated when stored; a parse here cannot fail, and if
  // it somehow did the valid lines would still be served.
  request.template_entries = profile::parse_template(source.model.template_text).entries;
  request.layers = source.param_layers;
  request.macros = profile::builtin_macros({device.mac, source.model.name, device.serial, ip,
                                            device.sw_version, device.hw_version});
  // Variables never override the built-ins; the most specific scope comes
  // first, so set_if_absent lets it win.
  for (const auto& variable : source.variables) request.macros.set_if_absent(variable.name, variable.value);
  request.dbase_version = source.dbase_version;
  return request;
}

std::optional<device_file> render_device_file(store::inventory& inventory, const profile::mac_address& mac,
                                              const std::optional<std::string>& current_ip) {
  auto source = inventory.load_profile_source(mac);
  if (!source) return std::nullopt;
  const std::string ip = current_ip.value_or(source->device.static_ip);
  auto rendered = profile::render_profile(make_render_request(*source, ip));

  device_file file;
  file.dbase_version = source->dbase_version;
  file.warnings = std::move(rendered.warnings);
  file.plain = std::move(rendered.text);
  if (!source->device.encryption_key.empty()) {
    file.body = profile::encrypt_profile(file.plain, source->device.encryption_key);
    file.encrypted = true;
  } else {
    file.body = file.plain;
  }
  return file;
}

}  // namespace provbox::provisioning
