#include "tests/simulator/interface_addresses.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace provbox::sim {

interface_addresses::interface_addresses(const std::string& interface) {
  index_ = static_cast<int>(::if_nametoindex(interface.c_str()));
  if (index_ == 0) throw std::system_error(errno, std::generic_category(), "interface " + interface);
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "netlink socket");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "netlink bind");
  }
}

interface_addresses::~interface_addresses() {
  for (auto a : added_) {
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET;
    ifa.ifa_prefixlen = 32;
    ifa.ifa_index = static_cast<unsigned>(index_);
    request(RTM_DELADDR, 0, &ifa, sizeof ifa, {{IFA_LOCAL, htonl(a)}, {IFA_ADDRESS, htonl(a)}});
  }
  ::close(fd_);
}

// One rtnetlink request with 4-byte attributes (already in wire order), and its ACK (synchronous: the
// kernel answers at once, and the address must exist before a socket binds).
std::string interface_addresses::request(
    std::uint16_t type, std::uint16_t flags, const void* payload, std::size_t payload_size,
    const std::vector<std::pair<std::uint16_t, std::uint32_t>>& attributes) {
  alignas(nlmsghdr) char buf[256]{};
  auto* nh = reinterpret_cast<nlmsghdr*>(buf);
  nh->nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(payload_size));
  nh->nlmsg_type = type;
  nh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  nh->nlmsg_seq = ++sequence_;
  std::memcpy(NLMSG_DATA(nh), payload, payload_size);
  for (auto [kind, wire_value] : attributes) {
    auto* rta = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(nh->nlmsg_len));
    rta->rta_type = kind;
    rta->rta_len = RTA_LENGTH(4);
    std::memcpy(RTA_DATA(rta), &wire_value, 4);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_, buf, nh->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return std::string("netlink send: ") + std::strerror(errno);
  alignas(nlmsghdr) char reply[1024];
  for (;;) {
    auto n = ::recv(fd_, reply, sizeof reply, 0);
    if (n < 0) return std::string("netlink receive: ") + std::strerror(errno);
    for (auto* r = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(r, static_cast<unsigned>(n));
         r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != sequence_ || r->nlmsg_type != NLMSG_ERROR) continue;
      auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(r));
      return err->error == 0 ? std::string{} : std::strerror(-err->error);
    }
  }
}

std::string interface_addresses::add(std::uint32_t address) {
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = 32;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<unsigned>(index_);
  auto error = request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa,
                       {{IFA_LOCAL, htonl(address)}, {IFA_ADDRESS, htonl(address)}});
  if (error.empty()) added_.push_back(address);  // only what we added is removed at the end
  else if (error == std::strerror(EEXIST)) error.clear();  // there already: fine, and not ours
  return error;
}

std::string interface_addresses::add_link_route(std::uint32_t network, unsigned prefix) {
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_dst_len = static_cast<unsigned char>(prefix);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_LINK;
  rt.rtm_type = RTN_UNICAST;
  return request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof rt,
                 {{RTA_DST, htonl(network)}, {RTA_OIF, static_cast<std::uint32_t>(index_)}});
}

}  // namespace provbox::sim
