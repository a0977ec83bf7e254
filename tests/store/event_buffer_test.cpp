// Batched event writes: what add() asks of its owner, one transaction per
// flush, events kept across a failed flush, and a bounded queue that drops
// and counts rather than grows. Repeated answers: counted on one row, in the
// queue and in the table, and only when every part of the answer is equal.
#include "store/event_buffer.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <ctime>
#include <regex>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

using test_support::temp_folder;

event request_event(const std::string& file, const std::string& at = "2026-11-26T10:00:00.000Z") {
  event e;
  e.at = at;
  e.mac = "00:21:f2:01:1b:19";
  e.transport = "http";
  e.peer = "192.0.2.10";
  e.file = file;
  e.status = 200;
  e.bytes = 100;
  e.dbase_version = 10001;
  return e;
}

std::string minute(int m) {
  char at[32];
  std::snprintf(at, sizeof at, "2026-11-26T10:%02d:00.000Z", m);
  return at;
}

// Every row of the table, oldest first, as "file repeats bytes at last_at".
std::vector<std::string> table_rows(database& db) {
  return test_support::rows_of(db.handle(),
                               "SELECT mac, file, repeats, bytes, at, coalesce(last_at, '-') FROM events ORDER BY id");
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

// ---- repeated answers ------------------------------------------------------------

TEST_F(event_buffer_test, a_repeat_of_the_last_queued_event_of_its_device_takes_no_slot) {
  event_buffer buffer(log_, {4, 16});
  EXPECT_EQ(buffer.add(request_event("a", minute(0))), event_buffer::next_step::schedule_flush);
  for (int m = 1; m < 10; ++m) EXPECT_EQ(buffer.add(request_event("a", minute(m))), event_buffer::next_step::none);
  EXPECT_EQ(buffer.stats().queued_rows, 1u) << "ten requests, one queued row: flush_at (4) was never reached";
  EXPECT_EQ(buffer.stats().pending, 10u);
  EXPECT_EQ(buffer.stats().repeats, 9u);

  ASSERT_TRUE(buffer.flush());
  EXPECT_EQ(table_rows(inv_.db()),
            (std::vector<std::string>{"00:21:f2:01:1b:19|a|10|1000|" + minute(0) + "|" + minute(9)}))
      << "at is the first, last_at the newest, bytes the sum";
  EXPECT_EQ(buffer.stats().written, 10u) << "written counts requests, not rows";
}

TEST_F(event_buffer_test, a_repeat_merges_across_other_devices_events_and_for_requests_of_no_device) {
  event_buffer buffer(log_, {64, 256});
  auto scanner = [](const std::string& at) {
    auto e = request_event("admin.php", at);
    e.mac = "";
    e.status = 404;
    e.dbase_version.reset();
    e.detail = "no such file";
    return e;
  };
  buffer.add(request_event("a", minute(0)));
  buffer.add(scanner(minute(1)));
  buffer.add(request_event("a", minute(2)));
  buffer.add(scanner(minute(3)));
  buffer.add(scanner(minute(4)));
  EXPECT_EQ(buffer.stats().queued_rows, 2u) << "interleaved devices keep their own last event";
  ASSERT_TRUE(buffer.flush());
  EXPECT_EQ(table_rows(inv_.db()),
            (std::vector<std::string>{"00:21:f2:01:1b:19|a|2|200|" + minute(0) + "|" + minute(2),
                                      "|admin.php|3|300|" + minute(1) + "|" + minute(4)}));
}

TEST_F(event_buffer_test, only_the_last_queued_event_of_a_device_takes_repeats) {
  event_buffer buffer(log_, {64, 256});
  buffer.add(request_event("a", minute(0)));
  buffer.add(request_event("b", minute(1)));
  buffer.add(request_event("a", minute(2)));
  EXPECT_EQ(buffer.stats().queued_rows, 3u) << "a, b, a is a timeline, not a count";
  ASSERT_TRUE(buffer.flush());
  EXPECT_EQ(table_rows(inv_.db()).size(), 3u);
}

TEST_F(event_buffer_test, repeats_merge_across_flushes_into_the_devices_newest_row) {
  event_buffer buffer(log_, {64, 256});
  for (int m = 0; m < 3; ++m) {
    buffer.add(request_event("a", minute(m)));
    ASSERT_TRUE(buffer.flush());
  }
  buffer.add(request_event("a", minute(3)));
  buffer.add(request_event("a", minute(4)));
  ASSERT_TRUE(buffer.flush());
  EXPECT_EQ(table_rows(inv_.db()),
            (std::vector<std::string>{"00:21:f2:01:1b:19|a|5|500|" + minute(0) + "|" + minute(4)}));
  const auto newest = log_.recent("00:21:f2:01:1b:19", 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].repeats, 5u);
  EXPECT_EQ(newest[0].newest_at(), minute(4));
}

TEST_F(event_buffer_test, a_repeat_after_a_restart_merges_into_the_row_an_earlier_process_wrote) {
  log_.record(request_event("a", minute(0)));
  event_log later(inv_.db());  // nothing remembered
  later.record(request_event("a", minute(1)));
  EXPECT_EQ(table_rows(inv_.db()),
            (std::vector<std::string>{"00:21:f2:01:1b:19|a|2|200|" + minute(0) + "|" + minute(1)}));
}

// Each way an answer can differ from the one before gets a row of its own.
TEST_F(event_buffer_test, any_difference_in_the_answer_is_a_new_row) {
  const std::vector<std::pair<std::string, std::function<void(event&)>>> changes = {
      {"mac", [](event& e) { e.mac = "00:21:f2:22:ae:f1"; }},
      {"transport", [](event& e) { e.transport = "https"; }},
      {"peer", [](event& e) { e.peer = "192.0.2.11"; }},
      {"file", [](event& e) { e.file = "b"; }},
      {"dbase_version", [](event& e) { e.dbase_version = 10002; }},
      {"no dbase_version", [](event& e) { e.dbase_version.reset(); }},
      {"status", [](event& e) { e.status = 304; }},
      {"detail", [](event& e) { e.detail = "not modified"; }},
  };
  for (const auto& [what, change] : changes) {
    auto different = request_event("a", minute(1));
    change(different);
    EXPECT_FALSE(same_answer(request_event("a"), different)) << what;

    // In the queue...
    {
      inv_.db().exec("DELETE FROM events");
      event_buffer buffer(log_, {64, 256});
      buffer.add(request_event("a", minute(0)));
      buffer.add(different);
      EXPECT_EQ(buffer.stats().queued_rows, 2u) << what;
      ASSERT_TRUE(buffer.flush());
      EXPECT_EQ(table_rows(inv_.db()).size(), 2u) << what;
    }
    // ... and against the table.
    inv_.db().exec("DELETE FROM events");
    log_.record(request_event("a", minute(0)));
    log_.record(different);
    // The other device's event is a row of its own, and so the phone's newest row stays as it was.
    const auto rows = table_rows(inv_.db());
    EXPECT_EQ(rows.size(), 2u) << what;
    EXPECT_EQ(rows.front(), "00:21:f2:01:1b:19|a|1|100|" + minute(0) + "|-") << what;
  }
  EXPECT_TRUE(same_answer(request_event("a", minute(0)), request_event("a", minute(5))))
      << "time and bytes are not part of the answer";
}

TEST_F(event_buffer_test, a_repeat_of_a_row_that_is_no_longer_the_newest_is_a_new_row) {
  log_.record(request_event("a", minute(0)));
  log_.record(request_event("b", minute(1)));
  log_.record(request_event("a", minute(2)));
  EXPECT_EQ(table_rows(inv_.db()).size(), 3u);
}

// Another process (a restore, an operator with sqlite3) removed the row the
// repeat would have been counted on: the repeat gets a row, and no other
// row (another device's, or an older one of this device) takes its count.
TEST_F(event_buffer_test, a_repeat_whose_row_vanished_is_written_as_a_new_row) {
  event_buffer buffer(log_, {64, 256});
  buffer.add(request_event("a", minute(0)));
  ASSERT_TRUE(buffer.flush());
  buffer.add(request_event("a", minute(1)));
  ASSERT_TRUE(buffer.flush());
  ASSERT_EQ(table_rows(inv_.db()).size(), 1u);

  database other(path_);
  other.exec("DELETE FROM events");
  auto elsewhere = request_event("a", minute(2));
  elsewhere.mac = "00:21:f2:22:ae:f1";
  event_log(other).record(elsewhere);  // may take the vanished row's id

  buffer.add(request_event("a", minute(3)));
  ASSERT_TRUE(buffer.flush());
  EXPECT_EQ(table_rows(inv_.db()),
            (std::vector<std::string>{"00:21:f2:22:ae:f1|a|1|100|" + minute(2) + "|-",
                                      "00:21:f2:01:1b:19|a|1|100|" + minute(3) + "|-"}));
}

TEST_F(event_buffer_test, a_full_queue_still_counts_repeats_of_queued_events) {
  event_buffer buffer(log_, {2, 2});
  sqlite3_busy_timeout(inv_.db().handle(), 0);
  database other(path_);
  other.exec("BEGIN IMMEDIATE");
  buffer.add(request_event("a", minute(0)));
  buffer.add(request_event("b", minute(1)));
  EXPECT_FALSE(buffer.flush());
  buffer.add(request_event("b", minute(2)));
  buffer.add(request_event("c", minute(3)));
  EXPECT_EQ(buffer.stats().dropped, 1u) << "c needed a slot";
  EXPECT_EQ(buffer.stats().queued_rows, 2u);
  EXPECT_EQ(buffer.stats().pending, 3u);
  other.exec("COMMIT");
  ASSERT_TRUE(buffer.flush());
  EXPECT_EQ(table_rows(inv_.db()),
            (std::vector<std::string>{"00:21:f2:01:1b:19|a|1|100|" + minute(0) + "|-",
                                      "00:21:f2:01:1b:19|b|2|200|" + minute(1) + "|" + minute(2)}));
}

TEST_F(event_buffer_test, repeats_do_not_count_against_the_per_device_bound) {
  event_log small(inv_.db(), 5);
  event_buffer buffer(small, {64, 256});
  for (int i = 0; i < 5; ++i) buffer.add(request_event(std::to_string(i), minute(i)));
  for (int i = 0; i < 1000; ++i) {
    if (buffer.add(request_event("loop", minute(10 + i % 50))) == event_buffer::next_step::flush_now) buffer.flush();
    if (i % 100 == 0) buffer.flush();
  }
  buffer.flush();
  const auto kept = small.recent("00:21:f2:01:1b:19", 1000);
  ASSERT_EQ(kept.size(), 6u) << "the loop is one row; the history before it stays";
  EXPECT_EQ(kept[0].file, "loop");
  EXPECT_EQ(kept[0].repeats, 1000u);
  EXPECT_EQ(kept[5].file, "0");
}

TEST_F(event_buffer_test, the_last_profile_fetch_tells_the_newest_time_of_a_repeated_fetch) {
  log_.record(request_event("a", minute(0)));
  log_.record(request_event("a", minute(7)));
  const auto last = log_.last_profile_fetch("00:21:f2:01:1b:19");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->newest_at(), minute(7));
  EXPECT_EQ(last->at, minute(0));
  EXPECT_EQ(last->repeats, 2u);
}

}  // namespace
}  // namespace provbox::store

namespace provbox::store {
namespace {

TEST(UtcNowIso8601, IsUtcWithMillisecondsAndNeverGoesBack) {
  const std::regex shape(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::string previous;
  // Enough calls to cross a second or a millisecond boundary now and then,
  // which is where a cached prefix could go wrong.
  for (int i = 0; i < 20000; ++i) {
    const auto now = utc_now_iso8601();
    ASSERT_TRUE(std::regex_match(now, shape)) << now;
    ASSERT_GE(now, previous) << "ISO 8601 text sorts as time does";
    previous = now;
  }
  const auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char year[8];
  std::snprintf(year, sizeof year, "%04d-", tm.tm_year + 1900);
  EXPECT_TRUE(utc_now_iso8601().starts_with(year)) << "the current year, in UTC";
}

}  // namespace
}  // namespace provbox::store
