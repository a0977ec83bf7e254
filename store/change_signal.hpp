#pragma once
// "Has anyone committed to the database since I last looked?" in a few
// nanoseconds, so the request path reads the inventory's revision only after
// a change, and a change made by the CLI (another process) is served by the
// very next request.
//
// The signal is a note from the writer: every provbox connection registers
// SQLite's WAL hook, which SQLite calls after a write transaction has
// committed and released its write lock (https://www.sqlite.org/
// c3ref/wal_hook.html), and the hook adds one to a counter in a small file
// of provbox's own beside the database (DATABASE.changes, mapped shared). A
// reader that sees the counter move reads PRAGMA data_version and then the
// revision, in SQLite's own locked read transactions, and so sees the commit.
//
// Never SQLite's private files (-shm, -wal): opening and closing one of those
// drops every POSIX lock the process holds on it, SQLite's included (issue
// 12: the daemon lost its locks, the CLI rebuilt the WAL-index under it and
// the daemon died of SIGBUS). Writers that are not provbox (the sqlite3
// shell) give no note; the daemon also looks at data_version once a second.
#include <cstdint>
#include <optional>
#include <string>

namespace provbox::store {

class change_signal {
public:
  // Opens or creates DATABASE.changes (mode 0600, like the database) and maps
  // it; when that fails (a read-only folder) the signal is inactive and
  // count() is nullopt: readers must then ask SQLite every time.
  explicit change_signal(const std::string& database_path);
  change_signal(const change_signal&) = delete;
  change_signal& operator=(const change_signal&) = delete;
  ~change_signal();

  static std::string file_for(const std::string& database_path) { return database_path + ".changes"; }

  bool active() const { return counter_ != nullptr; }
  // One more commit (called after the commit is visible to readers).
  void notify();
  // Commits noted so far by every process, or nullopt when inactive.
  std::optional<std::uint64_t> count() const;

private:
  std::uint64_t* counter_ = nullptr;  // in a shared mapping; used through std::atomic_ref
  std::size_t mapped_size_ = 0;
};

}  // namespace provbox::store
