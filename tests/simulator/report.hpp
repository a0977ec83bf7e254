#pragma once
// The JSON report: totals always; the per-device array when asked (it is
// what costs with 10,000 devices, so by default only small runs get it every
// second and large ones in the final report only).
#include <memory>
#include <string>
#include <vector>

#include "tests/simulator/state.hpp"

namespace provbox::sim {

struct report_totals {
  std::size_t devices = 0, provisioned = 0, dhcp_acquired = 0, dhcp_failures = 0;
  unsigned long long fetches = 0, applies = 0, unchanged = 0, failures = 0, retries = 0;
  unsigned long long upgrades = 0, upgrade_failures = 0;
  double first_apply_s = -1, last_apply_s = -1;  // -1: no apply yet
};

report_totals sum(const std::vector<std::unique_ptr<device_state>>& devices);

// The whole report as JSON text.
std::string report_json(const std::vector<std::unique_ptr<device_state>>& devices,
                        bool final_report, bool with_devices, double elapsed_s);

// Writes it to `path` atomically (a temporary file, then rename).
void write_report(const std::string& path, const std::string& json);

}  // namespace provbox::sim
