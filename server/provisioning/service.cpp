#include "server/provisioning/service.hpp"

#include <spdlog/spdlog.h>

#include "server/provisioning/device_file.hpp"
#include "server/provisioning/file_pattern.hpp"
#include "server/provisioning/json_text.hpp"
#include "store/firmware.hpp"
#include "store/leases.hpp"

#include <sys/stat.h>

namespace provbox::provisioning {
namespace {

// Event rows removed per trim (one short transaction): a few ms.
constexpr std::size_t trim_chunk = 5000;

}  // namespace

std::string_view to_string(transport t) {
  switch (t) {
    case transport::tftp: return "tftp";
    case transport::http: return "http";
    case transport::https: return "https";
  }
  return "http";
}

std::optional<profile::mac_address> mac_in_user_agent(std::string_view ua) {
  // Look for 17-character colon or dash forms first, then 12 hex digits
  // standing alone (bounded by non-alphanumerics), so version strings such as
  // V0.6.24 are never mistaken for one.
  auto is_alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  for (std::size_t length : {std::size_t{17}, std::size_t{12}}) {
    for (std::size_t i = 0; i + length <= ua.size(); ++i) {
      if (i > 0 && is_alnum(ua[i - 1])) continue;
      if (i + length < ua.size() && is_alnum(ua[i + length])) continue;
      if (auto mac = profile::mac_address::parse(ua.substr(i, length))) return mac;
    }
  }
  return std::nullopt;
}

service::service(store::inventory& inventory, service_options options)
    : inventory_(inventory),
      options_(std::move(options)),
      events_(inventory.db(), options_.events_per_device),
      event_buffer_(events_),
      budget_(options_.record) {
  // Before the first answer: a database behind what devices were already
  // served (it lost commits, or an older copy was put back) must not hand
  // them lower versions, which they would apply.
  const auto served = events_.highest_served();
  if (auto floor = inventory_.keep_versions_above(served)) {
    ++metrics_.version_floor_raises;
    spdlog::warn("the inventory is behind DBID_DBASE_VERSION {} already served: version floor raised to {}", served,
                 *floor);
  }
}

service::~service() {
  // Graceful shutdown ends here: what was answered is also on record.
  try {
    event_buffer_.flush();
  } catch (...) {
  }
}

void service::refresh_if_changed() {
  // Any change to the inventory, by this process or by the CLI in another,
  // moves the revision: then reload the snapshot and drop every cached
  // file. Reading the revision is a read transaction; data_version (another
  // connection committed) and total_changes (this one did) tell for less
  // whether it can have moved, and are exact, so the next request after a
  // CLI change always sees it.
  //
  // Even data_version is a read transaction (file locks), so it is only
  // asked when this connection wrote or a writer noted a commit (every
  // provbox connection does, after its commit: store/change_signal.hpp);
  // and once a second regardless, for writers that note nothing.
  auto& db = inventory_.db();
  const auto total_changes = db.total_changes();
  const auto commits = db.commits_noted();
  const auto now = std::chrono::steady_clock::now();
  if (snapshot_ && commits && commits == seen_commits_ && total_changes == seen_total_changes_ &&
      now < next_full_check_)
    return;
  next_full_check_ = now + std::chrono::seconds(1);
  // Taken before data_version is read: a commit noted after this is seen by
  // the next request.
  seen_commits_ = commits;
  const auto data_version = db.data_version();
  if (snapshot_ && data_version == seen_data_version_ && total_changes == seen_total_changes_) return;
  seen_data_version_ = data_version;
  seen_total_changes_ = total_changes;
  if (snapshot_ && inventory_.revision() == snapshot_->revision()) return;
  snapshot_ = store::inventory_snapshot::load(inventory_);
  cache_.clear();
}

bool service::refresh_or_keep() {
  try {
    refresh_if_changed();
  } catch (const std::exception& e) {
    // Called from a TLS handshake and a timer, where an exception has no
    // one to go to: the last snapshot answers (revocations up to the last
    // good read count), or, before any, nothing is acceptable.
    ++metrics_.internal_errors;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_error_line_) {
      spdlog::error("reading the inventory failed, answering from the last snapshot: {}", e.what());
      next_error_line_ = now + std::chrono::seconds(1);
    }
  }
  return snapshot_.has_value();
}

bool service::certificate_acceptable(std::string_view serial) {
  return refresh_or_keep() && snapshot_->is_acceptable_certificate(serial);
}

std::uint64_t service::snapshot_revision() { return refresh_or_keep() ? snapshot_->revision() : 0; }

void service::flush_events() {
  if (event_buffer_.flush()) {
    if (event_writes_failing_) spdlog::info("device events are written again");
    event_writes_failing_ = false;
    return;
  }
  // A busy or full disk must not stop provisioning: the events stay queued
  // (bounded) and the access log still has every request.
  if (!event_writes_failing_) spdlog::warn("cannot write device events now; keeping them queued and retrying");
  event_writes_failing_ = true;
  if (schedule_flush_) schedule_flush_();
}

answer service::refuse(int status, std::string reason, std::optional<profile::mac_address> device) {
  answer a;
  a.kind = answer_kind::refusal;
  a.status = status;
  a.reason = std::move(reason);
  a.device = device;
  return a;
}

std::optional<profile::mac_address> service::device_at_address(const std::string& address) {
  if (const auto* device = snapshot_->find_device_by_address(address)) return device->mac;
  // An address provbox's DHCP server leased: the device with that MAC.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto mac = store::leased_mac(inventory_.db(), address, now)) return profile::mac_address::parse(*mac);
  return std::nullopt;
}

bool service::version_has_fallen(const profile::mac_address& mac, std::uint64_t version) {
  auto served = served_version_.find(mac);
  if (served == served_version_.end() || version >= served->second) return false;
  // Only a database that went back can do this (versions come from one
  // counter that only rises). Raise the floor past what was served, so the
  // next render is above it, and refuse this one.
  const auto floor = inventory_.version_floor() + (served->second - version) + 1;
  inventory_.raise_version_floor(floor);
  ++metrics_.version_floor_raises;
  spdlog::error("device {}: the inventory gave DBID_DBASE_VERSION {} after {} was served; version floor raised to {}",
                mac.colon_lower(), version, served->second, floor);
  return true;
}

answer service::profile_for(const request& r, const profile::mac_address& mac, const std::string& via_model) {
  const auto* device = find_device(mac);
  if (!device) return refuse(404, "unknown device " + mac.colon_lower(), mac);
  if (device->model != via_model)
    return refuse(404, "device " + mac.colon_lower() + " is model " + device->model + ", not " + via_model, mac);
  if (!device->enabled) return refuse(404, "device " + mac.colon_lower() + " is disabled", mac);
  if (r.client_identity && *r.client_identity != mac)
    return refuse(403, "certificate of " + r.client_identity->colon_lower() + " asked for the file of " +
                           mac.colon_lower(), mac);
  if (auto hinted = mac_in_user_agent(r.user_agent); hinted && *hinted != mac)
    return refuse(403, "User-Agent names " + hinted->colon_lower() + " but the request is for " + mac.colon_lower(),
                  mac);

  // $IP is the device's current address: its static one, else where the
  // request came from.
  const std::string ip = device->static_ip.empty() ? r.peer_address : device->static_ip;
  auto& slot = cache_[mac];
  if (slot.body && slot.ip == ip) {
    ++metrics_.cache_hits;
  } else {
    ++metrics_.cache_misses;
    ++metrics_.renders;
    slot.body.reset();
    auto file = render_device_file(inventory_, mac, ip);
    if (!file) return refuse(404, "unknown device " + mac.colon_lower(), mac);
    if (version_has_fallen(mac, file->dbase_version))
      return refuse(500, "DBID_DBASE_VERSION " + std::to_string(file->dbase_version) +
                             " is below one already served; the version floor was raised", mac);
    auto& served = served_version_[mac];
    served = std::max(served, file->dbase_version);
    slot.ip = ip;
    slot.dbase_version = file->dbase_version;
    slot.encrypted = file->encrypted;
    slot.body = std::make_shared<const std::string>(std::move(file->body));
  }
  answer a;
  a.kind = answer_kind::profile;
  a.status = 200;
  a.device = mac;
  a.body = slot.body;
  a.encrypted = slot.encrypted;
  a.dbase_version = slot.dbase_version;
  // Without a static address the file depends on where the request came
  // from ($IP), so the validator does too.
  a.etag = "\"" + mac.lower_hex() + "-" + std::to_string(slot.dbase_version) +
           (device->static_ip.empty() ? "-" + ip : "") + (slot.encrypted ? "-e" : "") + "\"";
  return a;
}

std::optional<answer> service::try_firmware(const request& r) {
  auto image = snapshot_->find_firmware_by_path(r.path);
  const store::device_record* device = nullptr;
  if (r.client_identity) device = find_device(*r.client_identity);
  if (!image) {
    // A bare name (`tftp://SERVER/IP542N.bin`): the asking device's model
    // decides which image it is. A certificate names the device: then the
    // address of another one must not stand in for it.
    if (!device && !r.client_identity) device = snapshot_->find_device_by_address(r.peer_address);
    if (!device) return std::nullopt;
    image = snapshot_->find_firmware_by_request(device->model, r.path);
    if (!image) return std::nullopt;
  }
  if (r.client_identity && (!device || device->model != image->model))
    return refuse(403, "certificate of " + r.client_identity->colon_lower() + " asked for " + image->model +
                           " firmware", r.client_identity);

  // Name the device in the event when the address tells which one asked.
  if (!device && !r.client_identity) {
    const auto* at_address = snapshot_->find_device_by_address(r.peer_address);
    if (at_address && at_address->model == image->model) device = at_address;
  }
  answer a;
  a.kind = answer_kind::firmware;
  a.status = 200;
  if (device) a.device = device->mac;
  firmware_file file;
  file.disk_path = store::firmware_blob_path(options_.data_dir, image->sha256).string();
  file.size = image->size;
  file.sha256 = image->sha256;
  file.model = image->model;
  file.version = image->version;
  struct stat st {};
  if (::stat(file.disk_path.c_str(), &st) != 0)
    return refuse(404, "firmware image missing on disk: " + file.disk_path, a.device);
  file.modified = std::chrono::system_clock::from_time_t(st.st_mtime);
  a.etag = "\"" + image->sha256.substr(0, 32) + "\"";
  a.firmware = std::move(file);
  return a;
}

answer service::resolve(const request& r) {
  try {
    return resolve_unguarded(r);
  } catch (const std::exception& e) {
    // The store is locked past its busy timeout, the disk failed, a file
    // went missing: a 500 for this request, the same on every transport,
    // and the next request tries again.
    ++metrics_.internal_errors;
    // One line a second at most: a broken disk under a boot storm would
    // otherwise write one per request.
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_error_line_) {
      spdlog::error("{} {} /{}: internal error: {}{}", to_string(r.via), r.peer_address, r.path, e.what(),
                    errors_not_logged_ ? " (" + std::to_string(errors_not_logged_) + " more since the last line)" : "");
      errors_not_logged_ = 0;
      next_error_line_ = now + std::chrono::seconds(1);
    } else {
      ++errors_not_logged_;
    }
    return refuse(500, std::string("internal error: ") + e.what(), r.client_identity);
  }
}

answer service::resolve_unguarded(const request& r) {
  refresh_if_changed();
  if (auto firmware = try_firmware(r)) return *firmware;

  // A per-device name: the pattern names the MAC.
  std::optional<profile::mac_address> named;
  const auto& models = snapshot_->models();
  for (const auto& model : models) {
    for (const auto& pattern : model.pattern_tokens) {
      auto mac = match_file_pattern(pattern, r.path, model.name);
      if (!mac) continue;
      named = mac;
      const auto* device = find_device(*mac);
      // Models may share a pattern (fv$(MAU).conf); the device's own model
      // decides.
      if (device && device->model == model.name) return profile_for(r, *mac, model.name);
    }
  }
  if (named) return refuse(404, "unknown device " + named->colon_lower(), named);

  // A model's Config File Name (option 66 devices): which device asks is
  // told by its certificate, else its address, else its User-Agent.
  for (const auto& model : models) {
    if (model.config_file != r.path) continue;
    std::optional<profile::mac_address> mac = r.client_identity;
    if (!mac) mac = device_at_address(r.peer_address);
    if (!mac) mac = mac_in_user_agent(r.user_agent);
    if (!mac) return refuse(404, "no device known at " + r.peer_address + " for " + r.path);
    const auto* device = find_device(*mac);
    if (device && device->model != model.name) {
      // Another model may use the same Config File Name.
      bool other = false;
      for (const auto& m : models) other |= (m.config_file == r.path && m.name == device->model);
      if (other) return profile_for(r, *mac, device->model);
    }
    return profile_for(r, *mac, model.name);
  }
  return refuse(404, "no such file");
}

std::string format_access_line(const request& r, const answer& a, int status, std::uint64_t bytes,
                               std::chrono::steady_clock::duration took, std::string_view detail, bool json) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  const std::string device = a.device ? a.device->colon_lower() : "-";
  const std::string version = a.kind == answer_kind::profile ? std::to_string(a.dbase_version) : "-";
  const std::string why(detail.empty() ? std::string_view(a.reason) : detail);
  if (!json) {
    std::string line = std::string(to_string(r.via)) + " " + r.peer_address + " " + device + " /" + r.path + " " +
                       std::to_string(status) + " " + std::to_string(bytes) + "B version=" + version + " " +
                       std::to_string(micros / 1000) + "." + std::to_string(micros % 1000 / 100) + "ms";
    if (!why.empty()) line += " (" + why + ")";
    return line;
  }
  const auto quoted = [](std::string_view text) { return json_string(text); };
  std::string line = "{\"transport\":" + quoted(to_string(r.via)) + ",\"peer\":" + quoted(r.peer_address) +
                     ",\"device\":" + (a.device ? quoted(device) : "null") + ",\"path\":" + quoted("/" + r.path) +
                     ",\"status\":" + std::to_string(status) + ",\"bytes\":" + std::to_string(bytes) +
                     ",\"version\":" + (a.kind == answer_kind::profile ? version : "null") +
                     ",\"duration_us\":" + std::to_string(micros);
  if (!why.empty()) line += ",\"detail\":" + quoted(why);
  return line + "}";
}

void service::record(const request& r, const answer& a, int final_status, std::uint64_t bytes_sent,
                     std::chrono::steady_clock::duration took, std::string_view detail) {
  const auto via = std::string(to_string(r.via));
  ++metrics_.requests[{via, final_status}];
  metrics_.bytes[via] += bytes_sent;
  store::event e;
  e.at = store::utc_now_iso8601();
  if (a.device) e.mac = a.device->colon_lower();
  else if (r.client_identity) e.mac = r.client_identity->colon_lower();
  e.transport = via;
  e.peer = r.peer_address;
  e.file = r.path;
  if (a.kind == answer_kind::profile) e.dbase_version = a.dbase_version;
  e.status = final_status;
  e.bytes = bytes_sent;
  e.detail = detail.empty() ? a.reason : std::string(detail);
  // Known: the answer named a device of the inventory (the snapshot the
  // answer came from; a transport may record before any resolve).
  bool known = false;
  if (snapshot_) {
    if (a.device) known = find_device(*a.device) != nullptr;
    else if (r.client_identity) known = find_device(*r.client_identity) != nullptr;
  }
  const auto admitted = budget_.admit(e, known, std::chrono::steady_clock::now());
  if (admitted.log_line) spdlog::info(format_access_line(r, a, final_status, bytes_sent, took, detail, options_.json_log));
  else ++metrics_.log_lines_held_back;
  if (!admitted.own_event) {
    ++metrics_.events_folded;
    return;
  }
  switch (event_buffer_.add(std::move(e))) {
    case store::event_buffer::next_step::none: break;
    case store::event_buffer::next_step::schedule_flush:
      if (schedule_flush_) schedule_flush_();
      else flush_events();
      break;
    case store::event_buffer::next_step::flush_now: flush_events(); break;
  }
}

void service::log_refused_handshake(const std::string& peer, std::string_view reason, std::string_view detail) {
  if (budget_.admit_line(peer, std::chrono::steady_clock::now()))
    spdlog::info("https: handshake with {} failed ({}): {}", peer, reason, detail);
  else
    ++metrics_.log_lines_held_back;
}

bool service::maintain(std::chrono::steady_clock::time_point now) {
  auto ended = budget_.roll(now);
  for (const auto& line : ended.log_lines) spdlog::info(line);
  for (auto& e : ended.events) {
    if (event_buffer_.add(std::move(e)) != store::event_buffer::next_step::none) flush_events();
  }
  if (!ended.events.empty()) flush_events();
  if (now < next_trim_) return false;
  try {
    const auto cutoff = store::utc_iso8601_before(std::chrono::duration_cast<std::chrono::seconds>(options_.events_max_age));
    const auto removed = events_.trim(options_.events_max_rows, cutoff, trim_chunk);
    metrics_.events_trimmed += removed;
    // A full chunk means more is left: come back soon, not in a minute.
    const bool more = removed == trim_chunk;
    next_trim_ = now + (more ? std::chrono::milliseconds(50) : std::chrono::milliseconds(60000));
    return more;
  } catch (const store::store_error& e) {
    spdlog::warn("trimming device events failed, retrying in a minute: {}", e.what());
    next_trim_ = now + std::chrono::minutes(1);
    return false;
  }
}

}  // namespace provbox::provisioning
