#include "store/backup.hpp"

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>

#include "store/schema.hpp"

namespace provbox::store {
namespace {

// Runs the whole backup in one step, so it is a single snapshot of the
// source; retries while another connection holds a lock.
void copy_all(sqlite3* from, sqlite3* to, const std::string& what) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (!backup) throw store_error(what + ": " + sqlite3_errmsg(to));
  int rc;
  int waits = 0;
  while ((rc = sqlite3_backup_step(backup, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    if (++waits > 100) break;
    sqlite3_sleep(50);
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) throw store_error(what + ": " + sqlite3_errstr(rc));
}

std::uint64_t meta_value(database& db, const char* key) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = ?1");
  stmt.bind_all(key);
  if (!stmt.step()) throw store_error(std::string("not a provbox inventory (no meta.") + key + ")");
  return static_cast<std::uint64_t>(stmt.integer(0));
}

}  // namespace

void backup_database(database& source, const std::string& destination) {
  const std::string temporary = destination + ".provbox-tmp";
  std::filesystem::remove(temporary);
  {
    sqlite3* out = nullptr;
    if (sqlite3_open_v2(temporary.c_str(), &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      std::string message = out ? sqlite3_errmsg(out) : "out of memory";
      sqlite3_close(out);
      throw store_error("cannot create " + destination + ": " + message);
    }
    try {
      copy_all(source.handle(), out, "backup to " + destination);
    } catch (...) {
      sqlite3_close(out);
      std::filesystem::remove(temporary);
      throw;
    }
    sqlite3_close(out);
  }
  std::error_code ec;
  std::filesystem::rename(temporary, destination, ec);
  if (ec) {
    std::filesystem::remove(temporary);
    throw store_error("cannot write " + destination + ": " + ec.message());
  }
}

restore_result restore_database(database& target, const std::string& source) {
  if (!std::filesystem::is_regular_file(source)) throw store_error(source + ": no such file");
  // Check the backup before touching anything.
  database backup(source);
  {
    auto check = backup.prepare("PRAGMA quick_check");
    if (!check.step() || check.text(0) != "ok") throw store_error(source + ": the file is damaged");
  }
  const int version = schema_version(backup);
  if (version < 1 || version > latest_schema_version())
    throw store_error(source + ": not a provbox inventory this build can restore (schema " +
                      std::to_string(version) + ")");
  const auto backup_revision = meta_value(backup, "revision");
  const auto backup_floor = meta_value(backup, "version_floor");

  const auto old_revision = meta_value(target, "revision");
  const auto old_floor = meta_value(target, "version_floor");

  // Replace the target's pages, then bring an older schema forward and lift
  // the counters, all before anyone can read the in-between state.
  copy_all(backup.handle(), target.handle(), "restore from " + source);
  migrate(target);
  transaction tx(target);
  restore_result result;
  result.restored_revision = backup_revision;
  // Every version served before was at most old_floor + old_revision.
  result.new_version_floor = std::max(backup_floor, old_floor + old_revision + 1);
  const auto revision = std::max(backup_revision, old_revision) + 1;
  target.prepare("UPDATE meta SET value = ?1 WHERE key = 'version_floor'").bind_all(result.new_version_floor).run();
  target.prepare("UPDATE meta SET value = ?1 WHERE key = 'revision'").bind_all(revision).run();
  tx.commit();
  return result;
}

}  // namespace provbox::store
