#pragma once
// The one gate every requested name passes, whatever the transport: a
// relative path of plain segments, or a refusal. Names are looked up in the
// inventory, never joined to a filesystem path, but refusing traversal here
// means no later code has to think about it.
#include <optional>
#include <string>
#include <string_view>

namespace provbox::provisioning {

struct path_check {
  std::optional<std::string> path;  // relative, no leading '/', e.g. "fv0021F2011B19.conf"
  std::string refusal;              // why not, when path is empty
};

// HTTP: decodes %XX escapes first (so %2e%2e is caught as ".."), drops the
// query string. TFTP: names are taken as sent.
path_check check_http_target(std::string_view target);
path_check check_tftp_name(std::string_view name);

}  // namespace provbox::provisioning
