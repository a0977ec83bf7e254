#pragma once
// A model's per-device file name pattern (`fv$(MAU).conf`), inverted: given a
// requested path, which MAC does it name? The pattern's macros are matched as
// the device expands them: $MA lower-case hex, $MAU upper-case, $MAC lower
// case with colons, $PN the model's name.
#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include "server/profile/mac_address.hpp"
#include "server/profile/macro.hpp"

namespace provbox::provisioning {

std::optional<profile::mac_address> match_file_pattern(std::string_view pattern, std::string_view path,
                                                       std::string_view product_name);
// The same with the pattern already split (tokenize_macros): the request path
// matches every model's patterns on every request, so the inventory snapshot
// keeps them split once.
std::optional<profile::mac_address> match_file_pattern(const std::vector<profile::macro_token>& pattern,
                                                       std::string_view path, std::string_view product_name);

// The pattern expanded for one device: the file name it will ask for.
std::string example_file_name(std::string_view pattern, const profile::mac_address& mac,
                              std::string_view product_name);

}  // namespace provbox::provisioning
