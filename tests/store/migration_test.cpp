#include "store/schema.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"
#include "store/events.hpp"
#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using ::testing::HasSubstr;
using test_support::dump;
using test_support::rows_of;
using test_support::temp_folder;

class MigrationTest : public ::testing::Test {
protected:
  temp_folder folder_;
  std::string path_ = folder_.file("provbox.db");

  // A database a newer provbox wrote: one table we do not know and a
  // user_version above ours.
  void write_newer_database() {
    database db(path_);
    db.exec("CREATE TABLE from_the_future (x INTEGER)");
    db.exec("INSERT INTO from_the_future VALUES (42)");
    db.exec("PRAGMA user_version = " + std::to_string(latest_schema_version() + 1));
  }
};

TEST_F(MigrationTest, LatestVersionIsAtLeastOne) { EXPECT_GE(latest_schema_version(), 1); }

TEST_F(MigrationTest, NewFileStartsAtVersionZero) {
  database db(path_);
  EXPECT_EQ(schema_version(db), 0);
}

TEST_F(MigrationTest, NewDatabaseReachesTheLatestVersion) {
  inventory inv(path_);
  EXPECT_EQ(schema_version(inv.db()), latest_schema_version());
}

TEST_F(MigrationTest, MigrateReturnsTheVersionItFound) {
  database db(path_);
  EXPECT_EQ(migrate(db), 0);
}

TEST_F(MigrationTest, MigratingAnUpToDateDatabaseReportsTheLatestVersion) {
  { inventory inv(path_); }
  database db(path_);
  EXPECT_EQ(migrate(db), latest_schema_version());
}

TEST_F(MigrationTest, MigratingTwiceChangesNothing) {
  database db(path_);
  migrate(db);
  const auto before = dump(db);
  migrate(db);
  EXPECT_EQ(dump(db), before);
}

TEST_F(MigrationTest, ReopeningKeepsSchemaAndContent) {
  std::string before;
  {
    inventory inv(path_);
    inv.add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, "DBID_IPMODE=0\n"});
    before = dump(inv.db());
  }
  inventory again(path_);
  EXPECT_EQ(dump(again.db()), before);
}

TEST_F(MigrationTest, NewerDatabaseIsRefused) {
  write_newer_database();
  EXPECT_THROW(inventory inv(path_), store_error);
}

TEST_F(MigrationTest, NewerDatabaseRefusalNamesBothVersions) {
  write_newer_database();
  try {
    inventory inv(path_);
    FAIL() << "a newer database was opened";
  } catch (const store_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(latest_schema_version() + 1)));
    EXPECT_THAT(e.what(), HasSubstr("(" + std::to_string(latest_schema_version()) + ")"));
  }
}

TEST_F(MigrationTest, NewerDatabaseIsLeftUnchanged) {
  write_newer_database();
  std::string before;
  {
    database db(path_);
    before = dump(db);
  }
  EXPECT_THROW(inventory inv(path_), store_error);
  database db(path_);
  EXPECT_EQ(dump(db), before);
}

// The daemon and the CLI may open a new file at the same moment: both read
// version 0, one migrates first. The other must then find the work done once
// it holds the write lock, not run the migration again. The race is made
// deterministic by letting the second connection migrate from a trace hook
// that fires when the first one starts its BEGIN IMMEDIATE, before the lock.
TEST_F(MigrationTest, ConcurrentFirstOpenMigratesOnce) {
  database first(path_);
  database second(path_);
  struct hook_state {
    database* other;
    bool fired = false;
  } state{&second};
  sqlite3_trace_v2(
      first.handle(), SQLITE_TRACE_STMT,
      [](unsigned, void* context, void*, void* sql) -> int {
        auto* s = static_cast<hook_state*>(context);
        if (!s->fired && std::string_view(static_cast<const char*>(sql)).starts_with("BEGIN")) {
          s->fired = true;
          migrate(*s->other);
        }
        return 0;
      },
      &state);
  EXPECT_NO_THROW(migrate(first));
  ASSERT_TRUE(state.fired);
  EXPECT_EQ(schema_version(first), latest_schema_version());
}

TEST_F(MigrationTest, CreatesTheInventoryTables) {
  inventory inv(path_);
  const auto tables = rows_of(inv.db().handle(), "SELECT name FROM sqlite_schema WHERE type = 'table'");
  for (const char* table : {"meta", "models", "model_patterns", "devices", "params", "variables", "scope_revisions"})
    EXPECT_THAT(tables, ::testing::Contains(table));
}

// ---- 3 -> 4: repeated events counted on one row ----------------------------------

class EventRepeatsMigrationTest : public MigrationTest {
protected:
  // A database as provbox with schema 3 left it: events without repeats or
  // last_at, one device with two rows and a request of no device.
  void write_version_3_database() {
    database db(path_);
    migrate(db, 3);
    db.exec(
        "INSERT INTO events (at, mac, transport, peer, file, dbase_version, status, bytes, detail) VALUES "
        "('2026-11-26T10:00:00.000Z', '00:21:f2:01:1b:19', 'http', '192.0.2.10', 'fv0021F2011B19.conf', 10001, 200, "
        "988, ''), "
        "('2026-11-26T10:01:00.000Z', '00:21:f2:01:1b:19', 'http', '192.0.2.10', 'fv0021F2011B19.conf', 10001, 200, "
        "988, ''), "
        "('2026-11-26T10:02:00.000Z', '', 'tftp', '192.0.2.99', 'x.cfg', NULL, 404, 0, 'no such file')");
  }
};

TEST_F(EventRepeatsMigrationTest, AVersion3DatabaseHasNoRepeatsColumn) {
  write_version_3_database();
  database db(path_);
  EXPECT_EQ(schema_version(db), 3);
  EXPECT_THROW(db.prepare("SELECT repeats FROM events"), store_error);
}

TEST_F(EventRepeatsMigrationTest, UpgradesInPlaceKeepingEveryRowAsOneOccurrence) {
  write_version_3_database();
  inventory inv(path_);
  EXPECT_EQ(schema_version(inv.db()), latest_schema_version());
  EXPECT_EQ(rows_of(inv.db().handle(), "SELECT at, mac, file, repeats, coalesce(last_at, 'NULL'), bytes FROM events "
                                       "ORDER BY id"),
            (std::vector<std::string>{
                "2026-11-26T10:00:00.000Z|00:21:f2:01:1b:19|fv0021F2011B19.conf|1|NULL|988",
                "2026-11-26T10:01:00.000Z|00:21:f2:01:1b:19|fv0021F2011B19.conf|1|NULL|988",
                "2026-11-26T10:02:00.000Z||x.cfg|1|NULL|0",
            }))
      << "old rows are not merged after the fact: each stays one occurrence";
}

TEST_F(EventRepeatsMigrationTest, AnUpgradedDatabaseCountsTheNextRepeatOnTheNewestRow) {
  write_version_3_database();
  inventory inv(path_);
  event next;
  next.at = "2026-11-26T10:03:00.000Z";
  next.mac = "00:21:f2:01:1b:19";
  next.transport = "http";
  next.peer = "192.0.2.10";
  next.file = "fv0021F2011B19.conf";
  next.dbase_version = 10001;
  next.status = 200;
  next.bytes = 988;
  event_log(inv.db()).record(next);
  EXPECT_EQ(rows_of(inv.db().handle(), "SELECT id, repeats, last_at, bytes FROM events WHERE mac = '00:21:f2:01:1b:19' "
                                       "ORDER BY id"),
            (std::vector<std::string>{"1|1|NULL|988", "2|2|2026-11-26T10:03:00.000Z|1976"}));
}

// The step runs in one transaction: if its second statement fails, the
// first one's column is gone again and the version stays 3.
TEST_F(EventRepeatsMigrationTest, AFailedUpgradeLeavesTheDatabaseAsItWas) {
  write_version_3_database();
  std::string before;
  {
    database db(path_);
    db.exec("ALTER TABLE events ADD COLUMN last_at TEXT");  // what the second ALTER would add
    before = dump(db);
  }
  EXPECT_THROW(inventory inv(path_), store_error);
  database db(path_);
  EXPECT_EQ(dump(db), before);
  EXPECT_EQ(schema_version(db), 3);
}

TEST_F(MigrationTest, MigrateUpToAVersionStopsThere) {
  database db(path_);
  EXPECT_EQ(migrate(db, 2), 0);
  EXPECT_EQ(schema_version(db), 2);
  EXPECT_EQ(migrate(db), 2);
  EXPECT_EQ(schema_version(db), latest_schema_version());
}

// ---- connection settings -----------------------------------------------------

class StoreDatabaseTest : public ::testing::Test {
protected:
  temp_folder folder_;
  database db_{folder_.file("provbox.db")};
};

TEST_F(StoreDatabaseTest, ForeignKeysAreOn) {
  EXPECT_EQ(rows_of(db_.handle(), "PRAGMA foreign_keys"), std::vector<std::string>{"1"});
}

TEST_F(StoreDatabaseTest, JournalModeIsWal) {
  EXPECT_EQ(rows_of(db_.handle(), "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST_F(StoreDatabaseTest, ForeignKeyViolationIsRefused) {
  migrate(db_);
  EXPECT_THROW(db_.exec("INSERT INTO devices (mac, model_id, revision) VALUES ('00:21:f2:01:1b:19', 999, 1)"),
               store_error);
}

TEST_F(StoreDatabaseTest, SqlErrorCarriesSqlitesMessage) {
  try {
    db_.prepare("SELECT * FROM no_such_table");
    FAIL() << "prepared SQL on a missing table";
  } catch (const store_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no_such_table"));
  }
}

TEST(StoreDatabase, UnopenableFileIsAStoreError) {
  EXPECT_THROW(database db("/nonexistent-provbox-folder/sub/provbox.db"), store_error);
}

}  // namespace
}  // namespace provbox::store
