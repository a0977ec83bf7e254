// Batched event writes: what add() asks of its owner, one transaction per
// flush, events kept across a failed flush, and a bounded queue that drops
// and counts rather than grows.
#include "store/event_buffer.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <string>

#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using test_support::temp_folder;

event request_event(const std::string& file) {
  event e;
  e.at = "2026-11-26T10:00:00.000Z";
  e.mac = "00:21:f2:01:1b:19";
  e.transport = "http";
  e.peer = "192.0.2.10";
  e.file = file;
  e.status = 200;
  return e;
}

class event_buffer_test : public ::testing::Test {
protected:
  temp_folder folder_;
  std::string path_ = (folder_.path() / "provbox.db").string();
  inventory inv_{path_};
  event_log log_{inv_.db()};
};

TEST_F(event_buffer_test, the_first_event_schedules_and_the_mark_asks_for_a_flush_now) {
  event_buffer buffer(log_, {4, 16});
  EXPECT_EQ(buffer.add(request_event("a")), event_buffer::next_step::schedule_flush);
  EXPECT_EQ(buffer.add(request_event("b")), event_buffer::next_step::none);
  EXPECT_EQ(buffer.add(request_event("c")), event_buffer::next_step::none);
  EXPECT_EQ(buffer.add(request_event("d")), event_buffer::next_step::flush_now);
  EXPECT_TRUE(log_.latest(10).empty()) << "nothing written before flush()";
  EXPECT_EQ(buffer.stats().pending, 4u);

  EXPECT_TRUE(buffer.flush());
  const auto written = log_.latest(10);
  ASSERT_EQ(written.size(), 4u);
  EXPECT_EQ(written[0].file, "d") << "newest first, in the order they were added";
  EXPECT_EQ(written[3].file, "a");
  EXPECT_EQ(written[3].at, "2026-11-26T10:00:00.000Z") << "the time it happened, not the time it was written";
  EXPECT_EQ(buffer.stats().written, 4u);
  EXPECT_EQ(buffer.stats().pending, 0u);
  EXPECT_EQ(buffer.add(request_event("e")), event_buffer::next_step::schedule_flush) << "a new batch";
}

TEST_F(event_buffer_test, a_refused_flush_keeps_the_events_and_a_full_queue_drops_and_counts) {
  event_buffer buffer(log_, {4, 6});
  // Another connection holds the write lock; ours gives up at once.
  sqlite3_busy_timeout(inv_.db().handle(), 0);
  database other(path_);
  other.exec("BEGIN IMMEDIATE");

  for (int i = 0; i < 4; ++i) buffer.add(request_event("kept" + std::to_string(i)));
  EXPECT_FALSE(buffer.flush());
  EXPECT_EQ(buffer.stats().failed_flushes, 1u);
  EXPECT_EQ(buffer.stats().pending, 4u);
  EXPECT_EQ(buffer.add(request_event("kept4")), event_buffer::next_step::none)
      << "past the mark the owner's retry is already scheduled";
  buffer.add(request_event("kept5"));
  EXPECT_EQ(buffer.add(request_event("dropped")), event_buffer::next_step::none);
  EXPECT_EQ(buffer.stats().dropped, 1u);
  EXPECT_EQ(buffer.stats().pending, 6u) << "bounded by the capacity";

  other.exec("COMMIT");
  EXPECT_TRUE(buffer.flush());
  const auto written = log_.latest(10);
  ASSERT_EQ(written.size(), 6u);
  EXPECT_EQ(written[0].file, "kept5");
  EXPECT_EQ(buffer.stats().written, 6u);
  EXPECT_EQ(buffer.stats().dropped, 1u);
}

TEST_F(event_buffer_test, the_per_device_bound_still_holds_when_batched) {
  event_log small(inv_.db(), 5);
  event_buffer buffer(small, {64, 256});
  for (int i = 0; i < 200; ++i) {
    if (buffer.add(request_event(std::to_string(i))) == event_buffer::next_step::flush_now) buffer.flush();
  }
  buffer.flush();
  const auto kept = small.recent("00:21:f2:01:1b:19", 1000);
  EXPECT_LE(kept.size(), 5u + 32u) << "at most 32 rows over the bound, as unbatched";
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept[0].file, "199");
}

}  // namespace
}  // namespace provbox::store
