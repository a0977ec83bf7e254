#include "tests/simulator/report.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "server/provisioning/json_text.hpp"

namespace provbox::sim {
namespace {

using provbox::provisioning::append_json_string;

void append_number(std::string& o, double v) {
  if (v < 0) {
    o += "null";
    return;
  }
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  o += b;
}

void append_device(std::string& o, const device_state& d) {
  auto field = [&](const char* name) {
    o += ", \"";
    o += name;
    o += "\": ";
  };
  auto text = [&](const char* name, const std::string& v) {
    field(name);
    append_json_string(o, v);
  };
  auto count = [&](const char* name, unsigned long long v) {
    field(name);
    o += std::to_string(v);
  };
  o += "    {\"mac\": ";
  append_json_string(o, d.who.mac);
  text("model", d.who.model);
  field("applied_version");
  if (d.applied_version) append_json_string(o, *d.applied_version);
  else o += "null";
  count("resyncs", d.resyncs);
  count("fetches", d.fetches);
  count("applies", d.applies);
  count("unchanged", d.unchanged);
  count("failures", d.failures);
  count("retries", d.retries);
  field("first_apply_s");
  append_number(o, d.first_apply_s);
  field("option66");
  o += d.s.option66 ? "true" : "false";
  text("profile_rule", d.s.profile_rule);
  text("config_file", d.s.config_file);
  text("last_url", d.last_url);
  text("last_scheme", d.last_scheme);
  text("last_error", d.last_error);
  text("ip", d.who.ip);
  text("sw", d.who.sw);
  text("dhcp_address", d.dhcp_address);
  text("dhcp_option66", d.option66_server);
  text("dhcp_option67", d.option67_boot_file);
  count("dhcp_transmissions", d.dhcp_transmissions);
  text("upgrade_rule", d.s.upgrade_rule);
  text("upgrade_url", d.upgrade_url);
  text("upgraded_from", d.upgraded_from);
  count("upgrade_attempts", d.upgrade_attempts);
  count("upgrades", d.upgrades);
  count("upgrade_failures", d.upgrade_failures);
  field("first_upgrade_attempt_s");
  append_number(o, d.first_upgrade_attempt_s);
  field("last_upgrade_attempt_s");
  append_number(o, d.last_upgrade_attempt_s);
  text("upgrade_error", d.upgrade_error);
  text("firmware_sha256", d.firmware_sha256);
  count("firmware_size", d.firmware_size);
  o += ", \"fetches_by_scheme\": {";
  bool first = true;
  for (auto& [k, v] : d.fetches_by_scheme) {
    if (!first) o += ", ";
    append_json_string(o, k);
    o += ": " + std::to_string(v);
    first = false;
  }
  o += "}, \"params\": {";
  first = true;
  for (auto& [k, v] : d.params) {
    if (!first) o += ", ";
    append_json_string(o, k);
    o += ": ";
    append_json_string(o, v);
    first = false;
  }
  o += "}}";
}

}  // namespace

report_totals sum(const std::vector<std::unique_ptr<device_state>>& devices) {
  report_totals t;
  t.devices = devices.size();
  for (auto& p : devices) {
    auto& d = *p;
    t.fetches += d.fetches;
    t.applies += d.applies;
    t.unchanged += d.unchanged;
    t.failures += d.failures;
    t.retries += d.retries;
    t.upgrades += d.upgrades;
    t.upgrade_failures += d.upgrade_failures;
    if (!d.dhcp_address.empty()) ++t.dhcp_acquired;
    if (d.dhcp_failed) ++t.dhcp_failures;
    if (d.applied_version) ++t.provisioned;
    if (d.first_apply_s >= 0) {
      if (t.first_apply_s < 0 || d.first_apply_s < t.first_apply_s) t.first_apply_s = d.first_apply_s;
      if (d.first_apply_s > t.last_apply_s) t.last_apply_s = d.first_apply_s;
    }
  }
  return t;
}

std::string report_json(const std::vector<std::unique_ptr<device_state>>& devices,
                        bool final_report, bool with_devices, double elapsed_s) {
  std::string o;
  o.reserve(with_devices ? devices.size() * 1024 + 1024 : 1024);
  o += "{\n  \"final\": ";
  o += final_report ? "true" : "false";
  o += ",\n  \"elapsed_s\": ";
  append_number(o, elapsed_s);
  if (with_devices) {
    o += ",\n  \"devices\": [\n";
    for (std::size_t i = 0; i < devices.size(); ++i) {
      append_device(o, *devices[i]);
      o += i + 1 < devices.size() ? ",\n" : "\n";
    }
    o += "  ]";
  }
  auto t = sum(devices);
  auto count = [&](const char* name, unsigned long long v) {
    o += ", \"";
    o += name;
    o += "\": " + std::to_string(v);
  };
  o += ",\n  \"totals\": {\"devices\": " + std::to_string(t.devices);
  count("provisioned", t.provisioned);
  count("fetches", t.fetches);
  count("applies", t.applies);
  count("unchanged", t.unchanged);
  count("failures", t.failures);
  count("retries", t.retries);
  count("upgrades", t.upgrades);
  count("upgrade_failures", t.upgrade_failures);
  count("dhcp_acquired", t.dhcp_acquired);
  count("dhcp_failures", t.dhcp_failures);
  o += ", \"first_apply_s\": ";
  append_number(o, t.first_apply_s);
  o += ", \"last_apply_s\": ";
  append_number(o, t.last_apply_s);
  o += "}\n}\n";
  return o;
}

void write_report(const std::string& path, const std::string& json) {
  auto tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << json;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

}  // namespace provbox::sim
