#pragma once
// A device's Ethernet address: the key of the inventory and the source of the
// MA, MAU and MAC macros.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace provbox::profile {

class mac_address {
public:
  using bytes_type = std::array<std::uint8_t, 6>;

  constexpr mac_address() = default;
  explicit constexpr mac_address(const bytes_type& bytes) : bytes_(bytes) {}

  // Accepts every common spelling, any letter case:
  //   00:21:F2:01:1B:19   00-21-f2-01-1b-19   0021f2011b19   0021.f201.1b19
  // Anything else (mixed separators, wrong length, non-hex) is nullopt.
  static std::optional<mac_address> parse(std::string_view text);
  // Like parse, but also refuses addresses no device can have (all zero,
  // broadcast, multicast) and says why in `error`.
  static std::optional<mac_address> parse_device(std::string_view text, std::string& error);

  const bytes_type& bytes() const { return bytes_; }
  std::string lower_hex() const;    // 0021f2011b19       ($MA)
  std::string upper_hex() const;    // 0021F2011B19       ($MAU)
  std::string colon_lower() const;  // 00:21:f2:01:1b:19  ($MAC, and how it is stored)

  friend auto operator<=>(const mac_address&, const mac_address&) = default;

private:
  bytes_type bytes_{};
};

}  // namespace provbox::profile
