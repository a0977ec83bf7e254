#pragma once
// One simulated device while it runs: who it is, its settings, and what it
// has done so far (the report's per-device entry).
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "tests/simulator/device.hpp"

namespace provbox::sim {

struct device_state {
  identity who;
  settings s;
  std::string cert_mau;  // whose certificate bundle it holds (normally its own)
  std::shared_ptr<boost::asio::ssl::context> tls;

  // DHCP (--dhcp): the lease and option 66/67 as the device read them.
  std::string dhcp_address, option66_server, option67_boot_file;
  unsigned dhcp_transmissions = 0;
  bool dhcp_failed = false;

  // Resyncs.
  std::optional<std::string> applied_version;
  std::map<std::string, std::string> params;
  std::map<std::string, unsigned> fetches_by_scheme;
  unsigned resyncs = 0, fetches = 0, applies = 0, unchanged = 0, failures = 0, retries = 0;
  double first_apply_s = -1;  // seconds since start; -1: never
  std::string last_url, last_error, last_scheme;

  // Upgrades (Upgrade Rule).
  std::string upgraded_from;  // the expanded rule of the last successful upgrade
  unsigned upgrade_attempts = 0, upgrades = 0, upgrade_failures = 0;
  std::string upgrade_url, upgrade_error, firmware_sha256;
  std::size_t firmware_size = 0;
  double first_upgrade_attempt_s = -1, last_upgrade_attempt_s = -1;  // since start
};

}  // namespace provbox::sim
