// The event table's bounds and the record of the highest version served
// (issue 12): one client must not fill the disk through events, and a
// database that went back must not lower a device's version.
#include <gtest/gtest.h>

#include "store/events.hpp"
#include "store/inventory.hpp"
#include "tests/store/temp_database.hpp"

namespace provbox::store {
namespace {

class EventBoundsTest : public ::testing::Test {
protected:
  test_support::temp_folder folder_;
  inventory inventory_{folder_.file("inventory.db")};
  event_log log_{inventory_.db(), 1000};

  event at(std::string mac, std::string when, std::uint64_t version = 0) {
    event e;
    e.at = std::move(when);
    e.mac = std::move(mac);
    e.transport = "http";
    e.peer = "192.0.2.10";
    e.file = "fv" + e.mac + ".conf";
    e.status = 200;
    if (version) e.dbase_version = version;
    return e;
  }
  std::size_t rows() { return log_.latest(1000000).size(); }
  // Rows that cannot fold into each other: one device each.
  void record_distinct(int count, std::string when) {
    std::vector<event> batch;
    for (int i = 0; i < count; ++i) {
      char mac[24];
      std::snprintf(mac, sizeof mac, "00:21:f2:00:%02x:%02x", i / 256, i % 256);
      batch.push_back(at(mac, when));
    }
    log_.record_all(batch);
  }
};

TEST_F(EventBoundsTest, TrimKeepsTheNewestRowsUpToTheLimit) {
  record_distinct(300, "2026-12-03T10:00:00.000Z");
  ASSERT_EQ(rows(), 300u);
  EXPECT_EQ(log_.trim(100, "2000-01-01T00:00:00.000Z"), 200u);
  EXPECT_EQ(rows(), 100u);
  const auto newest = log_.latest(1);
  EXPECT_EQ(log_.trim(100, "2000-01-01T00:00:00.000Z"), 0u) << "within bounds: nothing more";
  EXPECT_EQ(log_.latest(1)[0].id, newest[0].id) << "the newest rows stay";
}

TEST_F(EventBoundsTest, TrimWorksInChunksTheCallerRepeats) {
  record_distinct(250, "2026-12-03T10:00:00.000Z");
  EXPECT_EQ(log_.trim(50, "2000-01-01T00:00:00.000Z", 64), 64u);
  EXPECT_EQ(log_.trim(50, "2000-01-01T00:00:00.000Z", 64), 64u);
  EXPECT_EQ(log_.trim(50, "2000-01-01T00:00:00.000Z", 64), 64u);
  EXPECT_EQ(log_.trim(50, "2000-01-01T00:00:00.000Z", 64), 8u);
  EXPECT_EQ(rows(), 50u);
}

TEST_F(EventBoundsTest, TrimRemovesRowsOlderThanTheCutoffButNotARowStillCounting) {
  std::vector<event> batch{at("00:21:f2:00:00:01", "2026-01-01T00:00:00.000Z"),
                           at("00:21:f2:00:00:02", "2026-01-02T00:00:00.000Z"),
                           at("00:21:f2:00:00:03", "2026-12-01T00:00:00.000Z")};
  log_.record_all(batch);
  // The first device repeats its answer now: its row's newest time is recent.
  auto repeat = at("00:21:f2:00:00:01", "2026-12-02T00:00:00.000Z");
  log_.record(repeat);
  EXPECT_EQ(log_.trim(1000, "2026-06-01T00:00:00.000Z"), 1u) << "only the second device's old row";
  EXPECT_EQ(rows(), 2u);
  EXPECT_EQ(log_.recent("00:21:f2:00:00:01", 5).at(0).repeats, 2u);
}

TEST_F(EventBoundsTest, TheHighestVersionServedOutlivesTrimming) {
  std::vector<event> batch{at("00:21:f2:00:00:01", "2026-01-01T00:00:00.000Z", 10500),
                           at("00:21:f2:00:00:02", "2026-01-01T00:00:00.000Z", 10400)};
  log_.record_all(batch);
  EXPECT_EQ(log_.highest_served(), 10500u);
  std::vector<event> lower{at("00:21:f2:00:00:03", "2026-01-01T00:00:00.000Z", 10100)};
  log_.record_all(lower);
  EXPECT_EQ(log_.highest_served(), 10500u) << "never lowered";
  log_.trim(0, "2100-01-01T00:00:00.000Z");
  EXPECT_EQ(rows(), 0u);
  EXPECT_EQ(log_.highest_served(), 10500u);
}

TEST_F(EventBoundsTest, KeepVersionsAboveRaisesTheFloorOnlyWhenTheDatabaseIsBehind) {
  const auto floor = inventory_.version_floor();
  const auto highest_now = floor + inventory_.revision();
  EXPECT_FALSE(inventory_.keep_versions_above(highest_now)) << "what was served can still be given";
  EXPECT_EQ(inventory_.version_floor(), floor);
  const auto raised = inventory_.keep_versions_above(highest_now + 40);
  ASSERT_TRUE(raised);
  EXPECT_EQ(*raised, highest_now + 41);
  EXPECT_EQ(inventory_.version_floor(), highest_now + 41) << "every device is now above what was served";
}

TEST_F(EventBoundsTest, UtcBeforeIsComparableWithEventTimes) {
  const auto cutoff = utc_iso8601_before(std::chrono::hours(24));
  EXPECT_EQ(cutoff.size(), utc_now_iso8601().size());
  EXPECT_LT(cutoff, utc_now_iso8601());
}

}  // namespace
}  // namespace provbox::store
