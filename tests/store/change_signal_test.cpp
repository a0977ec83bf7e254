// The commit note that lets the request path skip `PRAGMA data_version`: it
// must move after every commit by any connection (the CLI is another
// process, another connection here), stay put when nothing committed (the
// case it exists to make cheap), and never cost a process its SQLite locks.
#include "store/change_signal.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "store/database.hpp"
#include "tests/support/process_locks.hpp"
#include "tests/support/temp_folder.hpp"

namespace provbox::store {
namespace {

using test_support::this_process_locks;

class ChangeSignalTest : public ::testing::Test {
protected:
  test_support::temp_folder folder_{"change-signal"};
  std::string path_ = folder_.file("inventory.db");
  database server_{path_};  // the daemon's connection, open all along

  void SetUp() override {
    server_.exec("CREATE TABLE t (x INTEGER)");
    server_.exec("INSERT INTO t VALUES (1)");
  }
};

TEST_F(ChangeSignalTest, AnotherConnectionsCommitMovesTheCountAndReadsDoNot) {
  const auto before = server_.commits_noted();
  ASSERT_TRUE(before.has_value()) << "a WAL database in a writable folder has a signal";
  {
    database cli(path_);
    auto read = cli.prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(read.step());
  }
  EXPECT_EQ(server_.commits_noted(), before) << "a read commits nothing";
  {
    database cli(path_);
    cli.exec("INSERT INTO t VALUES (2)");
  }
  ASSERT_TRUE(server_.commits_noted().has_value());
  EXPECT_EQ(*server_.commits_noted(), *before + 1);
}

TEST_F(ChangeSignalTest, OurOwnCommitsAndTransactionsCountOnceEach) {
  const auto before = *server_.commits_noted();
  {
    transaction tx(server_);
    server_.exec("INSERT INTO t VALUES (3)");
    server_.exec("INSERT INTO t VALUES (4)");
    EXPECT_EQ(*server_.commits_noted(), before) << "nothing is visible before the commit";
    tx.commit();
  }
  EXPECT_EQ(*server_.commits_noted(), before + 1);
  {
    transaction rolled_back(server_);
    server_.exec("INSERT INTO t VALUES (5)");
  }
  EXPECT_EQ(*server_.commits_noted(), before + 1) << "a rollback is no commit";
}

TEST_F(ChangeSignalTest, TheNoteIsAFileOfOurOwnOnlyItsOwnerMayRead) {
  struct stat st {};
  ASSERT_EQ(::stat(change_signal::file_for(path_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ChangeSignalTest, ConnectionsComingAndGoingLeaveTheServersSqliteLocksInPlace) {
  // Issue 12: a watch that opened and closed -shm dropped the daemon's POSIX
  // locks on it (Linux drops all of a process's locks on a file when any of
  // its descriptors of that file closes), so the CLI rebuilt the WAL-index
  // under the daemon, which then died of SIGBUS.
  auto read = server_.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(read.step());
  read.reset();
  ASSERT_TRUE(this_process_locks(path_ + "-shm")) << "SQLite holds a shared lock on -shm while connected";
  for (int i = 0; i < 3; ++i) {
    database cli(path_);
    cli.exec("INSERT INTO t VALUES (6)");
    (void)server_.commits_noted();
  }
  EXPECT_TRUE(this_process_locks(path_ + "-shm"));
}

TEST_F(ChangeSignalTest, OpeningAndClosingShmOurselvesWouldDropThoseLocks) {
  // Why nothing of ours ever opens SQLite's files: this is what the old
  // WAL-index watch did, and the check above sees the damage.
  auto read = server_.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(read.step());
  read.reset();
  ASSERT_TRUE(this_process_locks(path_ + "-shm"));
  const int fd = ::open((path_ + "-shm").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_FALSE(this_process_locks(path_ + "-shm")) << "close(2) drops every POSIX lock of the process on the file";
}

TEST_F(ChangeSignalTest, TheAutomaticCheckpointStillRuns) {
  // Our WAL hook replaces SQLite's default one, which is what checkpoints the
  // WAL every 1000 pages; without it the WAL would grow without end.
  server_.exec("CREATE TABLE big (b BLOB)");
  for (int i = 0; i < 3000; ++i) {
    auto insert = server_.prepare("INSERT INTO big VALUES (zeroblob(4000))");
    insert.run();
  }
  struct stat st {};
  ASSERT_EQ(::stat((path_ + "-wal").c_str(), &st), 0);
  EXPECT_LT(st.st_size, 1500 * 4096) << "3000 pages committed; checkpoints keep the WAL near 1000 pages";
}

TEST(ChangeSignal, AnInMemoryDatabaseHasNone) {
  database memory(":memory:");
  EXPECT_FALSE(memory.commits_noted().has_value());
}

TEST(ChangeSignal, AFolderThatCannotHoldTheFileLeavesItInactive) {
  change_signal signal("/proc/provbox-no-such-folder/inventory.db");
  EXPECT_FALSE(signal.active());
  EXPECT_FALSE(signal.count().has_value());
  signal.notify();  // harmless
}

}  // namespace
}  // namespace provbox::store
