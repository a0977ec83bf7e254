#pragma once
// What the daemon answered to whom, per device, kept bounded, so `provbox
// device show` can tell what a device last fetched. A request answered
// exactly as the device's previous one is not a new row: it is counted on
// that row ("last message repeated N times"), so a device stuck in a fetch
// loop, or a scanner, cannot push the rest of its history out.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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
  std::uint64_t repeats = 1;  // occurrences this row stands for
  std::string last_at;        // the newest occurrence, when repeats > 1; `at` is the first

  // When it last happened: last_at, or at when it happened once.
  const std::string& newest_at() const { return last_at.empty() ? at : last_at; }
};

// Whether `later` repeats `earlier`: the same device, transport, peer, file,
// version, status and detail. Times, bytes and counts may differ.
bool same_answer(const event& earlier, const event& later);
// Counts `later` (a repeat, possibly itself coalesced) on `earlier`: repeats
// add up, bytes too, and last_at becomes later's newest time.
void fold_repeat(event& earlier, const event& later);

class event_log {
public:
  // Keeps at most `keep_per_device` rows per MAC (and as many for requests
  // no device owned).
  explicit event_log(database& db, std::size_t keep_per_device = 200);

  // An event that repeats the device's newest row (same_answer) updates
  // that row (repeats, last_at, bytes) instead of adding one.
  void record(event e);
  // Several events in one transaction (the daemon batches them: one commit
  // per request was a third of a request's cost). All or none.
  void record_all(std::vector<event>& events);
  // Newest first: one device's, or every device's.
  std::vector<event> recent(const std::string& mac, std::size_t limit);
  std::vector<event> latest(std::size_t limit);
  // The newest successful profile fetch (status 200/206/304 with a version);
  // its newest_at() is when the device last fetched it.
  std::optional<event> last_profile_fetch(const std::string& mac);
  // The highest DBID_DBASE_VERSION any recorded event served (kept in meta
  // by record_all, so trimming events does not lower it).
  std::uint64_t highest_served();

  // Bounds the table as a whole, whatever the number of devices or
  // requesters: rows older than `max_rows` insertions, and rows whose newest
  // occurrence is before `cutoff` (ISO 8601, as `at`), go. At most `chunk`
  // rows in one call (one short transaction, so the daemon's loop is not
  // held); returns how many went: call again while it returns `chunk`.
  std::size_t trim(std::size_t max_rows, std::string_view cutoff, std::size_t chunk = 5000);

private:
  void write(event& e);
  void remember(std::size_t device, std::size_t answer);

  database& db_;
  std::size_t keep_;
  // By a hash of the MAC, a hash of the answer of the device's newest row
  // as this log wrote it, so that an event which is no repeat of it goes
  // straight to INSERT: trying the UPDATE first cost half as much again as
  // the insert. Only a hint, never trusted for the update itself (another
  // process may have changed the table; hashes may collide, which costs at
  // most a needless UPDATE or a repeat written as a row of its own); a
  // device not in it (after a start) is tried against the table. Bounded:
  // cleared when it reaches newest_limit devices (a scanner inventing MACs).
  std::unordered_map<std::size_t, std::size_t> newest_;
  static constexpr std::size_t newest_limit = 65536;
};

std::string utc_now_iso8601();
// The same for a time `age` before now (the cutoff of trim()).
std::string utc_iso8601_before(std::chrono::seconds age);

}  // namespace provbox::store
