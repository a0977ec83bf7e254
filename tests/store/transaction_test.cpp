#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "store/database.hpp"
#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using test_support::dump;
using test_support::rows_of;
using test_support::temp_folder;

// ---- store::transaction on a bare database -----------------------------------

class StoreTransactionTest : public ::testing::Test {
protected:
  void SetUp() override { db_.exec("CREATE TABLE t (v TEXT NOT NULL)"); }
  void insert(const std::string& v) { db_.prepare("INSERT INTO t (v) VALUES (?1)").bind_all(v).run(); }
  std::vector<std::string> values() { return rows_of(db_.handle(), "SELECT v FROM t ORDER BY v"); }

  temp_folder folder_;
  database db_{folder_.file("provbox.db")};
};

TEST_F(StoreTransactionTest, CommittedWorkIsKept) {
  {
    transaction tx(db_);
    insert("a");
    tx.commit();
  }
  EXPECT_EQ(values(), std::vector<std::string>{"a"});
}

TEST_F(StoreTransactionTest, UncommittedWorkIsRolledBack) {
  {
    transaction tx(db_);
    insert("a");
  }
  EXPECT_TRUE(values().empty());
}

TEST_F(StoreTransactionTest, ExceptionInsideRollsBack) {
  try {
    transaction tx(db_);
    insert("a");
    throw store_error("boom");
  } catch (const store_error&) {
  }
  EXPECT_TRUE(values().empty());
}

TEST_F(StoreTransactionTest, RolledBackInnerTransactionKeepsOuterWork) {
  {
    transaction outer(db_);
    insert("outer-before");
    {
      transaction inner(db_);
      insert("inner");
    }
    insert("outer-after");
    outer.commit();
  }
  EXPECT_EQ(values(), (std::vector<std::string>{"outer-after", "outer-before"}));
}

TEST_F(StoreTransactionTest, CommittedInnerTransactionIsUndoneWithTheOuter) {
  {
    transaction outer(db_);
    transaction inner(db_);
    insert("inner");
    inner.commit();
  }
  EXPECT_TRUE(values().empty());
}

TEST_F(StoreTransactionTest, InnerTransactionCommitsWithTheOuter) {
  {
    transaction outer(db_);
    {
      transaction inner(db_);
      insert("inner");
      inner.commit();
    }
    outer.commit();
  }
  EXPECT_EQ(values(), std::vector<std::string>{"inner"});
}

TEST_F(StoreTransactionTest, TwoLevelsOfNestingRollBackOnlyTheInnermost) {
  {
    transaction outer(db_);
    insert("1");
    {
      transaction middle(db_);
      insert("2");
      {
        transaction inner(db_);
        insert("3");
      }
      middle.commit();
    }
    outer.commit();
  }
  EXPECT_EQ(values(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(StoreTransactionTest, ConnectionIsBackInAutocommitAfterRollback) {
  {
    transaction tx(db_);
    insert("a");
  }
  insert("b");  // outside any transaction: kept at once
  database other(db_.path());
  EXPECT_EQ(rows_of(other.handle(), "SELECT v FROM t"), std::vector<std::string>{"b"});
}

// ---- inventory changes under one outer transaction ---------------------------

class StoreTransactionInventoryTest : public ::testing::Test {
protected:
  temp_folder folder_;
  inventory inv_{folder_.file("provbox.db")};
  profile::mac_address mac_ = *profile::mac_address::parse("00:21:f2:01:1b:19");
};

TEST_F(StoreTransactionInventoryTest, InventoryCallsVanishWithAnOuterRollback) {
  const auto before = dump(inv_.db());
  {
    transaction outer(inv_.db());
    inv_.add_model({"IP542N", "IP542N.conf", {}, ""});
    inv_.add_device({.mac = mac_, .model = "IP542N"});
    inv_.set_param(scope::global(), "DBID_IPMODE", "0");
  }
  EXPECT_EQ(dump(inv_.db()), before);
}

TEST_F(StoreTransactionInventoryTest, FailedInventoryCallKeepsTheOutersEarlierWork) {
  {
    transaction outer(inv_.db());
    inv_.add_model({"IP542N", "IP542N.conf", {}, ""});
    EXPECT_THROW(inv_.add_device({.mac = mac_, .model = "NO_SUCH_MODEL"}), store_error);
    outer.commit();
  }
  EXPECT_TRUE(inv_.find_model("IP542N").has_value());
}

TEST_F(StoreTransactionInventoryTest, FailedInventoryCallLeavesNoRevisionBehindInsideAnOuter) {
  transaction outer(inv_.db());
  inv_.add_model({"IP542N", "IP542N.conf", {}, ""});
  const auto revision = inv_.revision();
  EXPECT_THROW(inv_.add_device({.mac = mac_, .model = "NO_SUCH_MODEL"}), store_error);
  EXPECT_EQ(inv_.revision(), revision);
}

TEST_F(StoreTransactionInventoryTest, UnsetOfAMissingParamInsideAnOuterKeepsTheOutersWork) {
  {
    transaction outer(inv_.db());
    inv_.set_param(scope::global(), "A", "1");
    EXPECT_FALSE(inv_.unset_param(scope::global(), "MISSING"));
    outer.commit();
  }
  EXPECT_EQ(inv_.list_params().size(), 1u);
}

// ---- opening a file ------------------------------------------------------------

// A file that is not a database fails on the first PRAGMA, inside the
// constructor: a clear error, the file untouched, and the connection closed
// (the sanitizer build's LeakSanitizer saw it leak, 100 KB per attempt).
TEST(StoreOpenTest, AFileThatIsNotADatabaseIsAClearErrorAndStaysAsItWas) {
  temp_folder dir;
  const std::string path = dir.file("junk.db");
  const std::string junk = "not a database, but long enough to hold a header's worth of bytes....";
  { std::ofstream(path, std::ios::binary) << junk; }
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      database db(path);
      ADD_FAILURE() << "opened a file that is not a database";
    } catch (const store_error& e) {
      EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
    }
  }
  std::ifstream in(path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), junk);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

}  // namespace
}  // namespace provbox::store
