#pragma once
// What the daemon answered to whom: one row per request, per device, kept
// bounded, so `provbox device show` can tell what a device last fetched.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace provbox::store {

struct event {
  std::int64_t id = 0;
  std::string at;         // UTC, ISO 8601 with milliseconds; filled in by record()
  std::string mac;        // colon form, or "" when no device was resolved
  std::string transport;  // tftp, http, https, dhcp
  std::string peer;
  std::string file;
  std::optional<std::uint64_t> dbase_version;
  int status = 0;  // HTTP-style status
  std::uint64_t bytes = 0;
  std::string detail;
};

class event_log {
public:
  // Keeps at most `keep_per_device` rows per MAC (and as many for requests
  // no device owned).
  explicit event_log(database& db, std::size_t keep_per_device = 200);

  void record(event e);
  // Several events in one transaction (the daemon batches them: one commit
  // per request was a third of a request's cost). All or none.
  void record_all(std::vector<event>& events);
  // Newest first: one device's, or every device's.
  std::vector<event> recent(const std::string& mac, std::size_t limit);
  std::vector<event> latest(std::size_t limit);
  // The newest successful profile fetch (status 200/206/304 with a version).
  std::optional<event> last_profile_fetch(const std::string& mac);

private:
  void insert(event& e);

  database& db_;
  std::size_t keep_;
};

std::string utc_now_iso8601();

}  // namespace provbox::store
