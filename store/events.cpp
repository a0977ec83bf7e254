#include "store/events.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string_view>

namespace provbox::store {
namespace {

constexpr const char* event_columns =
    "id, at, mac, transport, peer, file, dbase_version, status, bytes, detail, repeats, last_at";

event read_event(const statement& row) {
  event e;
  e.id = row.integer(0);
  e.at = row.text(1);
  e.mac = row.text(2);
  e.transport = row.text(3);
  e.peer = row.text(4);
  e.file = row.text(5);
  if (!row.is_null(6)) e.dbase_version = static_cast<std::uint64_t>(row.integer(6));
  e.status = static_cast<int>(row.integer(7));
  e.bytes = static_cast<std::uint64_t>(row.integer(8));
  e.detail = row.text(9);
  e.repeats = static_cast<std::uint64_t>(row.integer(10));
  if (!row.is_null(11)) e.last_at = row.text(11);
  return e;
}

// Parameters 1-7 are what makes two answers the same (same_answer).
void bind_answer(statement& stmt, const event& e) {
  stmt.bind_all(e.mac, e.transport, e.peer, e.file);
  if (e.dbase_version) stmt.bind(5, *e.dbase_version);
  else stmt.bind(5, std::nullopt);
  stmt.bind(6, e.status);
  stmt.bind(7, e.detail);
}

// Equal for answers same_answer() calls equal (the MAC is the map's key).
std::size_t answer_hash(const event& e) {
  std::size_t h = std::hash<std::string_view>{}(e.transport);
  auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(std::hash<std::string_view>{}(e.peer));
  mix(std::hash<std::string_view>{}(e.file));
  mix(e.dbase_version ? std::hash<std::uint64_t>{}(*e.dbase_version) : 0x5bd1e995u);
  mix(std::hash<int>{}(e.status));
  mix(std::hash<std::string_view>{}(e.detail));
  return h;
}

}  // namespace

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  // Every request stamps its event; the date and time to the second change
  // once a second, so they are formatted once a second (per thread).
  thread_local std::time_t cached_second = -1;
  thread_local char cached_prefix[24];  // "YYYY-MM-DDTHH:MM:SS."
  if (seconds != cached_second) {
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    std::snprintf(cached_prefix, sizeof cached_prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = seconds;
  }
  std::string out(cached_prefix);
  const auto ms = static_cast<int>(millis);
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

std::string utc_iso8601_before(std::chrono::seconds age) {
  const auto seconds = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() - age);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

bool same_answer(const event& earlier, const event& later) {
  return earlier.mac == later.mac && earlier.transport == later.transport && earlier.peer == later.peer &&
         earlier.file == later.file && earlier.dbase_version == later.dbase_version &&
         earlier.status == later.status && earlier.detail == later.detail;
}

void fold_repeat(event& earlier, const event& later) {
  earlier.repeats += later.repeats;
  earlier.bytes += later.bytes;
  earlier.last_at = later.newest_at();
}

event_log::event_log(database& db, std::size_t keep_per_device) : db_(db), keep_(keep_per_device) {}

void event_log::record(event e) {
  std::vector<event> one{std::move(e)};
  record_all(one);
}

void event_log::record_all(std::vector<event>& events) {
  if (events.empty()) return;
  try {
    transaction tx(db_);
    std::uint64_t highest = 0;
    for (auto& e : events) {
      write(e);
      if (e.dbase_version) highest = std::max(highest, *e.dbase_version);
    }
    if (highest > 0)
      db_.prepare("UPDATE meta SET value = ?1 WHERE key = 'served_version' AND value < ?1")
          .bind_all(highest)
          .run();
    tx.commit();
  } catch (...) {
    // Rolled back: what we remember may be rows that are not there.
    newest_.clear();
    throw;
  }
}

void event_log::remember(std::size_t device, std::size_t answer) {
  if (newest_.size() >= newest_limit && !newest_.contains(device)) newest_.clear();
  newest_[device] = answer;
}

void event_log::write(event& e) {
  if (e.at.empty()) e.at = utc_now_iso8601();
  if (e.repeats == 0) e.repeats = 1;
  // A repeat of the device's newest row is counted on it. The UPDATE finds
  // that row by the index on (mac, id) and checks the whole answer, rather
  // than trusting an id we remember: another process may have deleted or
  // replaced rows (a restore), and then nothing matches and the event gets
  // a row of its own. It is skipped when the row we last wrote for the
  // device is another answer.
  const auto device = std::hash<std::string_view>{}(e.mac);
  const auto answer = answer_hash(e);
  const auto known = newest_.find(device);
  if (known == newest_.end() || known->second == answer) {
    auto repeat = db_.prepare(
        "UPDATE events SET repeats = repeats + ?8, last_at = ?9, bytes = bytes + ?10 "
        "WHERE id = (SELECT id FROM events WHERE mac = ?1 ORDER BY id DESC LIMIT 1) "
        "AND transport = ?2 AND peer = ?3 AND file = ?4 AND dbase_version IS ?5 AND status = ?6 AND detail = ?7");
    bind_answer(repeat, e);
    repeat.bind(8, e.repeats);
    repeat.bind(9, e.newest_at());
    repeat.bind(10, e.bytes);
    repeat.run();
    if (db_.changes() > 0) {
      if (known == newest_.end()) remember(device, answer);
      return;
    }
  }

  auto insert = db_.prepare(
      "INSERT INTO events (mac, transport, peer, file, dbase_version, status, detail, at, repeats, last_at, bytes) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  bind_answer(insert, e);
  insert.bind(8, e.at);
  insert.bind(9, e.repeats);
  if (e.last_at.empty()) insert.bind(10, std::nullopt);
  else insert.bind(10, e.last_at);
  insert.bind(11, e.bytes);
  insert.run();
  remember(device, answer);
  const auto id = db_.last_insert_rowid();
  // Trim only now and then (every 32nd row), so the common insert stays one
  // statement; the bound is exceeded by at most 32 rows.
  if (id % 32 == 0) {
    db_.prepare(
           "DELETE FROM events WHERE mac = ?1 AND id <= (SELECT id FROM events WHERE mac = ?1 "
           "ORDER BY id DESC LIMIT 1 OFFSET ?2)")
        .bind_all(e.mac, static_cast<std::int64_t>(keep_))
        .run();
  }
}

std::vector<event> event_log::recent(const std::string& mac, std::size_t limit) {
  auto stmt = db_.prepare(std::string("SELECT ") + event_columns +
                          " FROM events WHERE mac = ?1 ORDER BY id DESC LIMIT ?2");
  stmt.bind_all(mac, static_cast<std::int64_t>(limit));
  std::vector<event> events;
  while (stmt.step()) events.push_back(read_event(stmt));
  return events;
}

std::vector<event> event_log::latest(std::size_t limit) {
  auto stmt = db_.prepare(std::string("SELECT ") + event_columns + " FROM events ORDER BY id DESC LIMIT ?1");
  stmt.bind_all(static_cast<std::int64_t>(limit));
  std::vector<event> events;
  while (stmt.step()) events.push_back(read_event(stmt));
  return events;
}

std::uint64_t event_log::highest_served() {
  auto stmt = db_.prepare("SELECT value FROM meta WHERE key = 'served_version'");
  return stmt.step() ? static_cast<std::uint64_t>(stmt.integer(0)) : 0;
}

std::size_t event_log::trim(std::size_t max_rows, std::string_view cutoff, std::size_t chunk) {
  transaction tx(db_);
  // Ids only grow (INTEGER PRIMARY KEY: max + 1), so the rows of the last
  // max_rows insertions are those above max(id) - max_rows: a rowid range,
  // found and deleted without a count or a scan.
  auto by_count = db_.prepare(
      "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= "
      "(SELECT max(id) FROM events) - ?1 ORDER BY id LIMIT ?2)");
  by_count.bind_all(static_cast<std::int64_t>(max_rows), static_cast<std::int64_t>(chunk));
  by_count.run();
  std::size_t removed = static_cast<std::size_t>(db_.changes());
  if (removed < chunk) {
    // By age, among the oldest rows only: rows are written in time order, so
    // old ones come first; a row still counting repeats stays.
    auto by_age = db_.prepare(
        "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?1) "
        "AND coalesce(last_at, at) < ?2");
    by_age.bind_all(static_cast<std::int64_t>(chunk - removed), cutoff);
    by_age.run();
    removed += static_cast<std::size_t>(db_.changes());
  }
  tx.commit();
  return removed;
}

std::optional<event> event_log::last_profile_fetch(const std::string& mac) {
  auto stmt = db_.prepare(std::string("SELECT ") + event_columns +
                          " FROM events WHERE mac = ?1 AND status IN (200, 206, 304) AND dbase_version IS NOT NULL "
                          "ORDER BY id DESC LIMIT 1");
  stmt.bind_all(mac);
  if (!stmt.step()) return std::nullopt;
  return read_event(stmt);
}

}  // namespace provbox::store
