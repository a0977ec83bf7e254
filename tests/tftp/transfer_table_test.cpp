// The table of transfers in flight: who gets a slot, whose slot is given
// away, who is refused. No sockets: the server's part is only to carry out
// the verdicts (tests/tftp/server_test.cpp checks that it does).
#include "tftp/transfer_table.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace provbox::tftp {
namespace {

using verdict = transfer_table::verdict;

constexpr table_limits limits(std::size_t max_transfers, std::size_t per_address) {
  return table_limits{max_transfers, per_address};
}

TEST(TransferTable, AdmitsWhileThereIsRoomAndCountsPerAddress) {
  transfer_table t;
  const auto a = t.admit("192.0.2.1", limits(3, 3));
  const auto b = t.admit("192.0.2.1", limits(3, 3));
  const auto c = t.admit("192.0.2.2", limits(3, 3));
  for (const auto& x : {a, b, c}) {
    EXPECT_EQ(x.outcome, verdict::admitted);
    EXPECT_FALSE(x.evicted);
  }
  EXPECT_NE(a.entry, b.entry);
  EXPECT_NE(b.entry, c.entry);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.unconfirmed(), 3u);
  EXPECT_EQ(t.from("192.0.2.1"), 2u);
  EXPECT_EQ(t.from("192.0.2.2"), 1u);
  EXPECT_EQ(t.from("192.0.2.3"), 0u);
}

TEST(TransferTable, AFullTableGivesTheOldestUnconfirmedSlotToTheNewRequest) {
  transfer_table t;
  const auto first = t.admit("192.0.2.1", limits(3, 10));
  const auto second = t.admit("192.0.2.2", limits(3, 10));
  t.admit("192.0.2.3", limits(3, 10));
  const auto next = t.admit("192.0.2.4", limits(3, 10));
  EXPECT_EQ(next.outcome, verdict::admitted);
  ASSERT_TRUE(next.evicted);
  EXPECT_EQ(*next.evicted, first.entry);
  EXPECT_EQ(t.size(), 3u) << "the slot changed hands; the table did not grow";
  EXPECT_EQ(t.from("192.0.2.1"), 0u) << "the evicted transfer no longer counts for its address";
  EXPECT_EQ(*t.admit("192.0.2.5", limits(3, 10)).evicted, second.entry);
}

TEST(TransferTable, AConfirmedTransferIsNeverEvicted) {
  transfer_table t;
  const auto device = t.admit("192.0.2.1", limits(2, 10));
  const auto silent = t.admit("192.0.2.2", limits(2, 10));
  t.confirm(device.entry);
  const auto next = t.admit("192.0.2.3", limits(2, 10));
  ASSERT_TRUE(next.evicted);
  EXPECT_EQ(*next.evicted, silent.entry) << "the older transfer is confirmed: the younger unconfirmed one goes";
  t.confirm(next.entry);
  EXPECT_EQ(t.admit("192.0.2.4", limits(2, 10)).outcome, verdict::busy);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.unconfirmed(), 0u);
}

TEST(TransferTable, RequestsKeepGettingSlotsWhileAFloodNeverAnswers) {
  // Four slots, a flood of unanswered requests, and now and then a device
  // that answers at once: every device is admitted, and its slot stays.
  transfer_table t;
  std::vector<transfer_table::entry_id> devices;
  for (int i = 0; i < 1000; ++i) {
    const auto flood = t.admit("198.51.100." + std::to_string(i % 250), limits(4, 64));
    ASSERT_EQ(flood.outcome, verdict::admitted) << i;
    if (i % 100 == 99 && devices.size() < 3) {
      const auto device = t.admit("192.0.2." + std::to_string(i / 100), limits(4, 64));
      ASSERT_EQ(device.outcome, verdict::admitted) << i;
      t.confirm(device.entry);
      devices.push_back(device.entry);
    }
  }
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.unconfirmed(), 1u) << "three devices hold their slots, the flood shares the fourth";
  for (const auto d : devices) {
    t.remove(d);  // their transfers complete
  }
  EXPECT_EQ(t.size(), 1u);
}

TEST(TransferTable, AnAddressAtItsLimitIsRefusedEvenWithRoomLeft) {
  transfer_table t;
  t.admit("192.0.2.1", limits(10, 2));
  t.admit("192.0.2.1", limits(10, 2));
  const auto third = t.admit("192.0.2.1", limits(10, 2));
  EXPECT_EQ(third.outcome, verdict::address_busy);
  EXPECT_FALSE(third.evicted) << "a refusal takes nobody's slot";
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.admit("192.0.2.2", limits(10, 2)).outcome, verdict::admitted);
}

TEST(TransferTable, TheAddressLimitComesBeforeEviction) {
  // A flood naming one address must not push out other clients' transfers
  // once that address has its share.
  transfer_table t;
  const auto other = t.admit("192.0.2.9", limits(3, 2));
  t.admit("192.0.2.1", limits(3, 2));
  t.admit("192.0.2.1", limits(3, 2));
  const auto again = t.admit("192.0.2.1", limits(3, 2));
  EXPECT_EQ(again.outcome, verdict::address_busy);
  EXPECT_EQ(t.from("192.0.2.9"), 1u);
  t.remove(other.entry);
  EXPECT_EQ(t.size(), 2u);
}

TEST(TransferTable, AnEndedTransferFreesItsSlotAndItsAddressCount) {
  transfer_table t;
  const auto a = t.admit("192.0.2.1", limits(1, 1));
  t.confirm(a.entry);
  EXPECT_EQ(t.admit("192.0.2.1", limits(1, 1)).outcome, verdict::address_busy);
  EXPECT_EQ(t.admit("192.0.2.2", limits(1, 1)).outcome, verdict::busy);
  t.remove(a.entry);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.from("192.0.2.1"), 0u);
  EXPECT_EQ(t.admit("192.0.2.1", limits(1, 1)).outcome, verdict::admitted);
}

TEST(TransferTable, RemovingOrConfirmingAnEvictedOrUnknownEntryChangesNothing) {
  transfer_table t;
  const auto old = t.admit("192.0.2.1", limits(1, 5));
  const auto next = t.admit("192.0.2.2", limits(1, 5));
  ASSERT_TRUE(next.evicted);
  // The evicted transfer's coroutine ends later and says so; so may one
  // whose peer answered just as it was evicted.
  t.confirm(old.entry);
  t.remove(old.entry);
  t.remove(12345);
  t.confirm(12345);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.unconfirmed(), 1u);
  EXPECT_EQ(t.from("192.0.2.2"), 1u);
  EXPECT_EQ(*t.admit("192.0.2.3", limits(1, 5)).evicted, next.entry);
}

TEST(TransferTable, ConfirmingTwiceKeepsTheQueueIntact) {
  transfer_table t;
  const auto a = t.admit("192.0.2.1", limits(2, 5));
  const auto b = t.admit("192.0.2.2", limits(2, 5));
  t.confirm(a.entry);
  t.confirm(a.entry);
  EXPECT_EQ(t.unconfirmed(), 1u);
  EXPECT_EQ(*t.admit("192.0.2.3", limits(2, 5)).evicted, b.entry);
}

TEST(TransferTable, ALimitLoweredBelowWhatIsInFlightEndsNothing) {
  // A reload that lowers max_transfers: new requests still swap places with
  // unconfirmed transfers one for one, so the table never grows, and shrinks
  // as transfers end.
  transfer_table t;
  std::vector<transfer_table::entry_id> confirmed;
  for (int i = 0; i < 4; ++i) {
    const auto x = t.admit("192.0.2." + std::to_string(i), limits(8, 8));
    t.confirm(x.entry);
    confirmed.push_back(x.entry);
  }
  t.admit("192.0.2.9", limits(8, 8));
  const auto next = t.admit("192.0.2.10", limits(2, 8));
  EXPECT_EQ(next.outcome, verdict::admitted);
  EXPECT_TRUE(next.evicted);
  EXPECT_EQ(t.size(), 5u);
  t.confirm(next.entry);
  EXPECT_EQ(t.admit("192.0.2.11", limits(2, 8)).outcome, verdict::busy);
  for (const auto c : confirmed) t.remove(c);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.admit("192.0.2.11", limits(2, 8)).outcome, verdict::admitted);
}

}  // namespace
}  // namespace provbox::tftp
