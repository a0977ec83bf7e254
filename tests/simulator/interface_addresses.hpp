#pragma once
// `--dhcp-own-address`: every device's leased address is added to the
// interface as a /32 (rtnetlink, as `ip addr add A/32 dev IFACE` would), so
// the device can send its TFTP/HTTP from it: the server finds a device that
// asks for its Config File Name by the address it leased. Root only, and
// meant for a network namespace of the test's own. The addresses added are
// removed again when this object goes.
#include <cstdint>
#include <string>
#include <vector>

namespace provbox::sim {

class interface_addresses {
public:
  // Throws std::system_error when the interface does not exist or the
  // netlink socket cannot be opened.
  explicit interface_addresses(const std::string& interface);
  ~interface_addresses();
  interface_addresses(const interface_addresses&) = delete;
  interface_addresses& operator=(const interface_addresses&) = delete;

  // Adds address/32 (host byte order). Already present counts as success.
  // Returns an error text, empty on success.
  std::string add(std::uint32_t address);
  // Makes sure `network/prefix` is reachable on the interface (a link route),
  // since /32 addresses bring no route to the server's subnet.
  std::string add_link_route(std::uint32_t network, unsigned prefix);

private:
  // Attribute values are 4 bytes, already in wire order. Returns the
  // kernel's error text, empty on success.
  std::string request(std::uint16_t type, std::uint16_t flags, const void* payload,
                      std::size_t payload_size,
                      const std::vector<std::pair<std::uint16_t, std::uint32_t>>& attributes);

  int fd_ = -1;
  int index_ = 0;
  std::uint32_t sequence_ = 0;
  std::vector<std::uint32_t> added_;
};

}  // namespace provbox::sim
