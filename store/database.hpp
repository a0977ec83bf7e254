#pragma once
// A thin RAII layer over the SQLite C API: a connection, prepared statements
// and transactions. Errors become store_error with SQLite's message.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace provbox::store {

class change_signal;

class store_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class statement {
public:
  statement(sqlite3* db, std::string_view sql);
  // Borrows a statement the database keeps prepared; `in_use` is the
  // cache's flag, cleared again when this statement is done.
  statement(sqlite3* db, sqlite3_stmt* cached, bool* in_use);
  statement(statement&& other) noexcept;
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;
  ~statement();

  // Binds parameters 1..N in order; strings are copied by SQLite.
  template <typename... Args>
  statement& bind_all(const Args&... args) {
    int index = 1;
    (bind(index++, args), ...);
    return *this;
  }
  void bind(int index, std::string_view text);
  void bind(int index, const std::string& text) { bind(index, std::string_view(text)); }
  void bind(int index, const char* text) { bind(index, std::string_view(text)); }
  void bind(int index, std::int64_t value);
  void bind(int index, int value) { bind(index, static_cast<std::int64_t>(value)); }
  void bind(int index, std::uint64_t value) { bind(index, static_cast<std::int64_t>(value)); }
  void bind(int index, bool value) { bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
  void bind(int index, std::nullopt_t);
  void bind_blob(int index, const void* data, std::size_t size);

  // Advances to the next row; false when done.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  void reset();

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;  // set for a borrowed (cached) statement
};

class database {
public:
  // Opens (creating if needed) with foreign keys on, WAL journaling and a busy
  // timeout, so the daemon and the CLI can work on one file at once.
  explicit database(const std::string& path);
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  void exec(std::string_view sql);
  // Statements are prepared once per SQL text and reused: a request runs
  // the same few queries, and preparing them was half its cost. A text that
  // is already in use (a nested query) gets a fresh statement.
  statement prepare(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  int changes() const;
  // Rows this connection changed since it opened; moves with our own writes.
  std::int64_t total_changes() const;
  // PRAGMA data_version: moves when another connection (the CLI, another
  // process) committed since this one last looked; our own commits leave it.
  // Together with total_changes it tells "anything may have changed" for the
  // price of one statement step and no page reads.
  std::int64_t data_version();
  // Commits noted by every provbox connection to this file, this one's
  // included (change_signal.hpp): when it has not moved, nothing was
  // committed. nullopt when the signal is unavailable (not WAL, a read-only
  // folder): then only data_version tells.
  std::optional<std::uint64_t> commits_noted() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

private:
  void configure(const std::string& path);  // the PRAGMAs and the change signal
  void close() noexcept;
  struct cached_statement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<std::string, cached_statement, std::less<>> cache_;
  std::unique_ptr<change_signal> signal_;  // set only in WAL mode
};

// BEGIN IMMEDIATE ... COMMIT; rolled back if destroyed before commit(), so an
// exception anywhere in a change leaves the database as it was. Inside an
// open transaction it becomes a SAVEPOINT, so changes compose: several
// inventory calls under one outer transaction commit or vanish together.
// A read transaction (BEGIN DEFERRED) gives one consistent snapshot without
// taking the write lock.
class transaction {
public:
  enum class kind { write, read };
  explicit transaction(database& db, kind k = kind::write);
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();
  void commit();

private:
  database& db_;
  std::string savepoint_;  // empty for a top-level transaction
  bool done_ = false;
};

}  // namespace provbox::store
