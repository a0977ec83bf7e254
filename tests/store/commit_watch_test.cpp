// The WAL-index watch that lets the request path skip `PRAGMA data_version`:
// it must say "changed" after every commit by any connection (the CLI is
// another process, another connection here), and "unchanged" only when
// nothing committed, which is the case it exists to make cheap.
#include "store/commit_watch.hpp"

#include <gtest/gtest.h>

#include "store/database.hpp"
#include "tests/support/temp_folder.hpp"

namespace provbox::store {
namespace {

class CommitWatchTest : public ::testing::Test {
protected:
  test_support::temp_folder folder_{"commit-watch"};
  std::string path_ = folder_.file("inventory.db");
  database server_{path_};  // the daemon's connection, open all along

  void SetUp() override {
    server_.exec("CREATE TABLE t (x INTEGER)");
    server_.exec("INSERT INTO t VALUES (1)");
  }
};

TEST_F(CommitWatchTest, FirstLookSaysChangedThenQuietUntilACommit) {
  commit_watch watch(path_);
  EXPECT_TRUE(watch.maybe_changed()) << "nothing seen yet";
  EXPECT_TRUE(watch.watching()) << "a WAL database has a -shm to map";
  EXPECT_FALSE(watch.maybe_changed());
  EXPECT_FALSE(watch.maybe_changed());
}

TEST_F(CommitWatchTest, AnotherConnectionsCommitIsSeenOnce) {
  commit_watch watch(path_);
  watch.maybe_changed();
  {
    database cli(path_);
    cli.exec("INSERT INTO t VALUES (2)");
  }
  EXPECT_TRUE(watch.maybe_changed());
  EXPECT_FALSE(watch.maybe_changed());
}

TEST_F(CommitWatchTest, OwnCommitIsSeenToo) {
  commit_watch watch(path_);
  watch.maybe_changed();
  server_.exec("UPDATE t SET x = x + 1");
  EXPECT_TRUE(watch.maybe_changed());
}

TEST_F(CommitWatchTest, EveryOneOfManyCommitsIsSeen) {
  commit_watch watch(path_);
  watch.maybe_changed();
  database cli(path_);
  for (int i = 0; i < 50; ++i) {
    cli.exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
    ASSERT_TRUE(watch.maybe_changed()) << "commit " << i;
  }
}

TEST_F(CommitWatchTest, CommitAfterACheckpointThatEmptiedTheWalIsSeen) {
  commit_watch watch(path_);
  database cli(path_);
  cli.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  watch.maybe_changed();
  cli.exec("INSERT INTO t VALUES (3)");
  EXPECT_TRUE(watch.maybe_changed());
}

TEST_F(CommitWatchTest, ReadsChangeNothing) {
  commit_watch watch(path_);
  watch.maybe_changed();
  database cli(path_);
  auto stmt = cli.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(stmt.step());
  EXPECT_FALSE(watch.maybe_changed());
}

TEST(CommitWatch, WithoutAWalIndexEveryLookSaysMaybe) {
  test_support::temp_folder folder("commit-watch-none");
  commit_watch watch(folder.file("missing.db"));
  EXPECT_TRUE(watch.maybe_changed());
  EXPECT_TRUE(watch.maybe_changed());
  EXPECT_FALSE(watch.watching());
}

}  // namespace
}  // namespace provbox::store
