#include "store/database.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include "store/change_signal.hpp"

namespace provbox::store {
namespace {

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  throw store_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

statement::statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
    fail(db, "preparing SQL");
}

statement::statement(sqlite3* db, sqlite3_stmt* cached, bool* in_use) : db_(db), stmt_(cached), in_use_(in_use) {
  *in_use_ = true;
}

statement::statement(statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_), in_use_(other.in_use_) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
}

statement::~statement() {
  if (in_use_) {
    // Back to the cache, ready for the next use; a reset also ends any
    // read it held open.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

void statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    fail(db_, "binding a value");
}

void statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, "binding a value");
}

void statement::bind(int index, std::nullopt_t) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, "binding a value");
}

void statement::bind_blob(int index, const void* data, std::size_t size) {
  if (sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_TRANSIENT) != SQLITE_OK)
    fail(db_, "binding a value");
}

bool statement::step() {
  switch (sqlite3_step(stmt_)) {
    case SQLITE_ROW: return true;
    case SQLITE_DONE: return false;
    default: fail(db_, "running SQL");
  }
}

void statement::run() {
  while (step()) {
  }
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::int64_t statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

database::database(const std::string& path) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw store_error("cannot open database " + path + ": " + message);
  }
  // The file holds device encryption keys and SIP passwords: its owner's
  // alone, also when an older provbox (or another tool) made it readable to
  // others. Done by path, before the WAL files exist (SQLite gives them the
  // database's mode): opening the file ourselves and closing it would drop
  // SQLite's locks on it.
  try {
    configure(path);
  } catch (...) {
    // The destructor does not run for a constructor that throws: a file
    // that is not a database ("file is not a database" on the first PRAGMA)
    // would leak the connection.
    close();
    throw;
  }
}

void database::configure(const std::string& path) {
  struct stat st {};
  if (path != ":memory:" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
    ::chmod(path.c_str(), st.st_mode & 0700);
  sqlite3_extended_result_codes(db_, 1);
  // The CLI and the daemon share the file; wait for the other's write lock
  // rather than failing at once.
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA foreign_keys = ON");
  exec("PRAGMA journal_mode = WAL");
  // In WAL mode NORMAL survives application crashes and only risks the last
  // commits on power loss, at a fraction of FULL's fsyncs.
  exec("PRAGMA synchronous = NORMAL");
  std::string mode;
  {
    auto stmt = prepare("PRAGMA journal_mode");
    if (stmt.step()) mode = stmt.text(0);
  }
  if (mode == "wal") {
    signal_ = std::make_unique<change_signal>(path);
    // SQLite calls the WAL hook after each commit, once the write lock is
    // released, so a reader that sees the note also sees the commit. The
    // hook is also where SQLite's automatic checkpoint lives, which setting
    // our own replaces: do what the default hook does (a passive checkpoint
    // once the WAL holds 1000 pages, SQLITE_DEFAULT_WAL_AUTOCHECKPOINT).
    sqlite3_wal_hook(
        db_,
        [](void* self, sqlite3* db, const char* name, int pages) -> int {
          static_cast<change_signal*>(self)->notify();
          if (pages >= 1000) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
          return SQLITE_OK;
        },
        signal_.get());
  }
}

std::optional<std::uint64_t> database::commits_noted() const {
  return signal_ ? signal_->count() : std::nullopt;
}

database::~database() { close(); }

void database::close() noexcept {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  cache_.clear();
  sqlite3_close(db_);
  db_ = nullptr;
}

statement database::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK)
      fail(db_, "preparing SQL");
    it = cache_.emplace(std::string(sql), cached_statement{stmt, false}).first;
  }
  if (it->second.in_use) return statement(db_, sql);
  return statement(db_, it->second.stmt, &it->second.in_use);
}

void database::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string owned(sql);
  if (sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw store_error(message);
  }
}

std::int64_t database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int database::changes() const { return sqlite3_changes(db_); }
std::int64_t database::total_changes() const { return sqlite3_total_changes64(db_); }

std::int64_t database::data_version() {
  auto stmt = prepare("PRAGMA data_version");
  if (!stmt.step()) fail(db_, "reading the data version");
  return stmt.integer(0);
}

transaction::transaction(database& db, kind k) : db_(db) {
  if (sqlite3_get_autocommit(db_.handle()) == 0) {
    static unsigned counter = 0;
    savepoint_ = "provbox_" + std::to_string(++counter);
    db_.exec("SAVEPOINT " + savepoint_);
  } else {
    db_.exec(k == kind::write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  }
}

transaction::~transaction() {
  if (!done_) {
    try {
      if (savepoint_.empty()) {
        db_.exec("ROLLBACK");
      } else {
        db_.exec("ROLLBACK TO " + savepoint_);
        db_.exec("RELEASE " + savepoint_);
      }
    } catch (...) {
      // Nothing more can be done in a destructor; SQLite rolls back an
      // unfinished transaction when the connection closes anyway.
    }
  }
}

void transaction::commit() {
  db_.exec(savepoint_.empty() ? "COMMIT" : "RELEASE " + savepoint_);
  done_ = true;
}

}  // namespace provbox::store
