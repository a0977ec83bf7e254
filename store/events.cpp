#include "store/events.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace provbox::store {
namespace {

constexpr const char* event_columns = "id, at, mac, transport, peer, file, dbase_version, status, bytes, detail";

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
  return e;
}

}  // namespace

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}

event_log::event_log(database& db, std::size_t keep_per_device) : db_(db), keep_(keep_per_device) {}

void event_log::record(event e) {
  transaction tx(db_);
  insert(e);
  tx.commit();
}

void event_log::record_all(std::vector<event>& events) {
  if (events.empty()) return;
  transaction tx(db_);
  for (auto& e : events) insert(e);
  tx.commit();
}

void event_log::insert(event& e) {
  if (e.at.empty()) e.at = utc_now_iso8601();
  auto insert = db_.prepare(
      "INSERT INTO events (at, mac, transport, peer, file, dbase_version, status, bytes, detail) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  insert.bind_all(e.at, e.mac, e.transport, e.peer, e.file);
  if (e.dbase_version) insert.bind(6, *e.dbase_version);
  else insert.bind(6, std::nullopt);
  insert.bind(7, e.status);
  insert.bind(8, e.bytes);
  insert.bind(9, e.detail);
  insert.run();
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

std::optional<event> event_log::last_profile_fetch(const std::string& mac) {
  auto stmt = db_.prepare(std::string("SELECT ") + event_columns +
                          " FROM events WHERE mac = ?1 AND status IN (200, 206, 304) AND dbase_version IS NOT NULL "
                          "ORDER BY id DESC LIMIT 1");
  stmt.bind_all(mac);
  if (!stmt.step()) return std::nullopt;
  return read_event(stmt);
}

}  // namespace provbox::store
