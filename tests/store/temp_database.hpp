#pragma once
// Test helpers for store tests: a fresh folder per test and a dump of every
// table, to prove a failed change left the database exactly as it was.
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"
#include "tests/support/temp_folder.hpp"

namespace provbox::store::test_support {

// A folder per test, named after the store tests.
class temp_folder : public provbox::test_support::temp_folder {
public:
  temp_folder() : provbox::test_support::temp_folder("provbox-store-test") {}
};

// Runs a query through the C API and returns every row, each column rendered
// as text (NULL as "NULL") and joined with '|'.
inline std::vector<std::string> rows_of(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error("dump: " + std::string(sqlite3_errmsg(db)) + " in " + sql);
  std::vector<std::string> rows;
  int rc = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      if (c > 0) row += '|';
      const auto* text = sqlite3_column_text(stmt, c);
      row += text ? std::string(reinterpret_cast<const char*>(text),
                                static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)))
                  : std::string("NULL");
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) throw std::runtime_error("dump: " + std::string(sqlite3_errmsg(db)));
  return rows;
}

// The schema, user_version and every row of every table, rows sorted: two
// dumps are equal exactly when the database content is.
inline std::string dump(sqlite3* db) {
  std::string out = "user_version=" + rows_of(db, "PRAGMA user_version").at(0) + "\n";
  for (const auto& entry : rows_of(db, "SELECT type || '|' || name || '|' || coalesce(sql, '') FROM sqlite_schema "
                                       "ORDER BY type, name"))
    out += "schema " + entry + "\n";
  for (const auto& table :
       rows_of(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
    auto rows = rows_of(db, "SELECT * FROM \"" + table + "\"");
    std::sort(rows.begin(), rows.end());
    out += "table " + table + "\n";
    for (const auto& row : rows) out += "  " + row + "\n";
  }
  return out;
}

inline std::string dump(database& db) { return dump(db.handle()); }

}  // namespace provbox::store::test_support
