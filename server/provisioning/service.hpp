#pragma once
// "What does this request get?" One answer for every transport: a TFTP read
// of IP542N.conf and an HTTPS GET of /fv0021F2011B19.conf end here and get
// the same bytes. Transports know bytes and transfers; this knows devices.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/profile/mac_address.hpp"
#include "server/provisioning/record_budget.hpp"
#include "store/event_buffer.hpp"
#include "store/events.hpp"
#include "store/inventory.hpp"
#include "store/snapshot.hpp"

namespace provbox::provisioning {

enum class transport { tftp, http, https };
std::string_view to_string(transport t);

struct request {
  transport via = transport::http;
  std::string path;  // relative and already checked (request_path.hpp)
  std::string peer_address;
  std::optional<profile::mac_address> client_identity;  // verified certificate (HTTPS)
  std::string user_agent;
};

// A firmware image on disk, served by range.
struct firmware_file {
  std::string disk_path;
  std::uint64_t size = 0;
  std::string sha256;
  std::string model;
  std::string version;
  std::chrono::system_clock::time_point modified;
};

enum class answer_kind { profile, firmware, refusal };

struct answer {
  answer_kind kind = answer_kind::refusal;
  int status = 404;           // HTTP-style: 200, 400, 403, 404
  std::string reason;         // for refusals: said in logs and events, not to the device
  std::optional<profile::mac_address> device;
  std::shared_ptr<const std::string> body;  // the profile's bytes
  bool encrypted = false;
  std::optional<firmware_file> firmware;
  std::uint64_t dbase_version = 0;
  std::string etag;  // quoted, as sent in HTTP
};

// Counters for /metrics.
struct service_metrics {
  std::map<std::pair<std::string, int>, std::uint64_t> requests;  // (transport, status) -> count
  std::map<std::string, std::uint64_t> bytes;                       // transport -> bytes sent
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t renders = 0;
  std::uint64_t internal_errors = 0;       // requests answered 500: the store or the renderer failed
  std::uint64_t log_lines_held_back = 0;   // access-log lines counted instead of written (record_budget)
  std::uint64_t events_folded = 0;         // events of unknown requesters counted on a summary row
  std::uint64_t events_trimmed = 0;        // event rows removed by the table's bounds
  std::uint64_t version_floor_raises = 0;  // the database was behind a version already served
};

struct service_options {
  std::string data_dir;              // firmware blobs live here
  std::size_t events_per_device = 200;
  bool json_log = false;             // access log lines as JSON objects
  // The event table as a whole (event_log::trim), and what one requester
  // may cost (record_budget.hpp).
  std::size_t events_max_rows = 500000;
  std::chrono::hours events_max_age{24 * 90};
  record_limits record{};
};

// One access log line: device, transport, path, status, bytes, version
// served, duration.
std::string format_access_line(const request& r, const answer& a, int status, std::uint64_t bytes,
                               std::chrono::steady_clock::duration took, std::string_view detail, bool json);

class service {
public:
  service(store::inventory& inventory, service_options options);
  // Writes the events still queued.
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  // Never throws: a failure of the store or the renderer is a 500 answer
  // (logged; recorded like any answer when the transport records it).
  answer resolve(const request& r);
  // Records the outcome once the transfer ended (status may differ from the
  // answer's: a 304, a 206, a transfer that failed half-way): the access log
  // line, the device's event and the counters.
  void record(const request& r, const answer& a, int final_status, std::uint64_t bytes_sent,
              std::chrono::steady_clock::duration took, std::string_view detail = {});

  // The HTTPS handshake's question, answered from the in-memory snapshot: a
  // recorded device certificate, not revoked (as of the inventory now).
  // Never throws: when the store cannot be read, the last snapshot answers.
  bool certificate_acceptable(std::string_view serial);
  // The inventory revision those answers come from, after looking for a
  // change as a request does (cheap when there is none). The HTTPS listener
  // asks it about once a second and re-checks the certificates of open
  // connections when it moves, so a revocation also closes idle ones.
  std::uint64_t snapshot_revision();

  // A refused TLS handshake's log line, within the address's line budget
  // (record_budget): a client looping bad handshakes cannot flood the log.
  void log_refused_handshake(const std::string& peer, std::string_view reason, std::string_view detail);

  // Events are queued and written in batches when a scheduler is set: it is
  // called when the first event is queued and after a failed write, and
  // must call flush_events() soon (the daemon: a timer of a few ms). Without
  // one every event is written at once.
  void set_event_flush_scheduler(std::function<void()> schedule) { schedule_flush_ = std::move(schedule); }
  void flush_events();
  store::event_buffer_stats event_stats() const { return event_buffer_.stats(); }
  // Housekeeping the daemon runs about once a second: the record budget's
  // summaries once a window has passed, and, once a minute, trimming the
  // event table to its bounds (a chunk at a time; true when more is left,
  // so the caller comes back soon).
  bool maintain(std::chrono::steady_clock::time_point now);

  const service_metrics& metrics() const { return metrics_; }
  std::size_t cached_files() const { return cache_.size(); }
  void set_json_log(bool json) { options_.json_log = json; }
  store::inventory& inventory() { return inventory_; }

private:
  struct cached_file {
    std::string ip;  // the $IP it was rendered with
    std::uint64_t dbase_version = 0;
    std::shared_ptr<const std::string> body;
    bool encrypted = false;
  };

  answer resolve_unguarded(const request& r);
  void refresh_if_changed();
  // refresh_if_changed for callers that cannot take an exception: a failure
  // is logged and the last snapshot stays. False when there is none.
  bool refresh_or_keep();
  // Refuses, with a logged error, a rendered version below one this process
  // served the device, after raising the version floor so that the next
  // render is above it again.
  bool version_has_fallen(const profile::mac_address& mac, std::uint64_t version);
  answer refuse(int status, std::string reason, std::optional<profile::mac_address> device = std::nullopt);
  answer profile_for(const request& r, const profile::mac_address& mac, const std::string& via_model);
  std::optional<answer> try_firmware(const request& r);
  std::optional<profile::mac_address> device_at_address(const std::string& address);
  const store::device_record* find_device(const profile::mac_address& mac) const {
    return snapshot_->find_device(mac);
  }

  store::inventory& inventory_;
  service_options options_;
  store::event_log events_;
  store::event_buffer event_buffer_;
  std::function<void()> schedule_flush_;
  bool event_writes_failing_ = false;
  // What the request path reads, reloaded when the revision moves; the
  // revision itself is only read when data_version or our own change count
  // says something may have changed, and data_version only when a writer
  // noted a commit (store/change_signal.hpp), or once a second for writers
  // that give no note.
  std::optional<store::inventory_snapshot> snapshot_;
  std::chrono::steady_clock::time_point next_full_check_{};
  std::optional<std::uint64_t> seen_commits_;
  std::int64_t seen_data_version_ = -1;
  std::int64_t seen_total_changes_ = -1;
  // One file per device: a device has one current address, and a request
  // from another (a forged TFTP source) re-renders rather than adding an
  // entry, so the cache is bounded by the inventory.
  std::map<profile::mac_address, cached_file> cache_;
  // The highest version served to each device by this process: never less.
  std::map<profile::mac_address, std::uint64_t> served_version_;
  record_budget budget_;
  std::chrono::steady_clock::time_point next_trim_{};
  std::chrono::steady_clock::time_point next_error_line_{};
  std::uint64_t errors_not_logged_ = 0;
  service_metrics metrics_;
};

// A MAC written in a User-Agent, e.g. "Flyingvoice FIP13G V0.6.24 00:21:F2:22:AE:F1".
std::optional<profile::mac_address> mac_in_user_agent(std::string_view user_agent);

}  // namespace provbox::provisioning
