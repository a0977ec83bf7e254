// The read-transfer state machine driven event by event, no sockets.
#include "tftp/transfer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace provbox::tftp {
namespace {

using namespace std::chrono_literals;
using bytes = std::vector<std::uint8_t>;

bytes content(std::size_t size) {
  bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>((i * 31 + 7) & 0xff);
  return b;
}

bytes slice(const bytes& b, std::size_t offset, std::size_t length) {
  return bytes(b.begin() + static_cast<std::ptrdiff_t>(offset),
               b.begin() + static_cast<std::ptrdiff_t>(offset + length));
}

transfer_params lockstep() { return transfer_params{}; }  // 512, window 1, 1 s, 5 retries, no OACK

transfer_params windowed(unsigned window, std::size_t blksize = 512) {
  transfer_params p;
  p.blksize = blksize;
  p.windowsize = window;
  p.oack = {{"blksize", std::to_string(blksize)}, {"windowsize", std::to_string(window)}};
  return p;
}

read_transfer make_transfer(const bytes& file, transfer_params p) {
  return read_transfer(std::move(p), std::make_unique<memory_source>(file));
}

bytes data_wire(std::uint16_t block, const bytes& payload) {
  bytes out;
  encode_data(block, payload, out);
  return out;
}

// The block numbers of the DATA datagrams an action sends (fails the test
// on anything that is not DATA).
std::vector<std::uint16_t> blocks_of(const action& a) {
  std::vector<std::uint16_t> blocks;
  for (const auto& d : a.send) {
    const auto r = decode(d);
    if (!r.ok() || !std::holds_alternative<data>(r.value())) {
      ADD_FAILURE() << "action sends something other than DATA";
      continue;
    }
    blocks.push_back(std::get<data>(r.value()).block);
  }
  return blocks;
}

// Runs a transfer to its end as a client on a perfect network would: ACK 0
// for an OACK, then an ACK for the last block of each window. Checks that the
// wire block numbers count up by one (rolling over) and collects the file.
struct run_result {
  bytes received;
  std::uint64_t data_packets = 0;
  std::size_t last_payload = 0;
  std::vector<std::uint16_t> first_blocks_after_rollover;
  std::optional<transfer_end> end;
};

run_result run_to_end(read_transfer& t) {
  run_result out;
  auto a = t.start();
  if (!t.params().oack.empty()) a = t.on_packet(ack{0});
  std::uint16_t expected = 1;
  std::uint64_t absolute = 1;
  while (!a.end) {
    if (a.send.empty()) {
      ADD_FAILURE() << "transfer stalled";
      return out;
    }
    std::uint16_t last = 0;
    for (const auto& d : a.send) {
      const auto r = decode(d);
      if (!r.ok() || !std::holds_alternative<data>(r.value())) {
        ADD_FAILURE() << "not DATA";
        return out;
      }
      const auto& block = std::get<data>(r.value());
      if (block.block != expected) {
        ADD_FAILURE() << "block " << block.block << ", expected " << expected;
        return out;
      }
      if (absolute > 65535 && absolute <= 65538) out.first_blocks_after_rollover.push_back(block.block);
      out.received.insert(out.received.end(), block.payload.begin(), block.payload.end());
      out.last_payload = block.payload.size();
      ++out.data_packets;
      last = block.block;
      ++expected;  // wraps from 65535 to 0
      ++absolute;
    }
    a = t.on_packet(ack{last});
  }
  out.end = a.end;
  return out;
}

// ---- Start -----------------------------------------------------------------

TEST(ReadTransfer, StartWithOackSendsExactlyTheOackAndArmsTheTimer) {
  auto t = make_transfer(content(3000), negotiate(option_list{{"blksize", "1024"}, {"tsize", "0"}}, 3000));
  const auto a = t.start();
  bytes expected = {0, 6,                                   // opcode OACK
                    'b', 'l', 'k', 's', 'i', 'z', 'e', 0,   // name
                    '1', '0', '2', '4', 0,                  // negotiated value
                    't', 's', 'i', 'z', 'e', 0,             // name
                    '3', '0', '0', '0', 0};                 // the file's size
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], expected);
  EXPECT_EQ(a.arm_timer, 1000ms);
  EXPECT_FALSE(a.end);
}

TEST(ReadTransfer, StartWithoutOackSendsDataBlockOne) {
  const auto file = content(600);
  auto t = make_transfer(file, lockstep());
  const auto a = t.start();
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], data_wire(1, slice(file, 0, 512)));
  EXPECT_EQ(a.arm_timer, 1000ms);
}

TEST(ReadTransfer, TimerUsesTheNegotiatedTimeout) {
  auto t = make_transfer(content(10), negotiate(option_list{{"timeout", "3"}}, 10));
  EXPECT_EQ(t.start().arm_timer, 3000ms);
}

TEST(ReadTransfer, SecondStartDoesNothing) {
  auto t = make_transfer(content(10), lockstep());
  t.start();
  const auto a = t.start();
  EXPECT_TRUE(a.send.empty());
  EXPECT_FALSE(a.arm_timer);
}

TEST(ReadTransfer, AckZeroAfterOackStartsTheData) {
  const auto file = content(3000);
  auto t = make_transfer(file, negotiate(option_list{{"blksize", "1024"}}, 3000));
  t.start();
  const auto a = t.on_packet(ack{0});
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], data_wire(1, slice(file, 0, 1024)));
  EXPECT_EQ(a.arm_timer, 1000ms);
}

TEST(ReadTransfer, AckOtherThanZeroDuringOackIsIgnored) {
  auto t = make_transfer(content(3000), windowed(4));
  t.start();
  const auto a = t.on_packet(ack{1});
  EXPECT_TRUE(a.send.empty());
  EXPECT_FALSE(a.arm_timer);
  EXPECT_FALSE(a.end);
}

TEST(ReadTransfer, ClientErrorAnsweringOackEndsWithoutSendingAnything) {
  auto t = make_transfer(content(3000), windowed(4));
  t.start();
  const auto a = t.on_packet(error{error_code::option_negotiation, "windowsize refused"});
  EXPECT_TRUE(a.send.empty());
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::client_error);
  EXPECT_EQ(a.end->reason, "client error 8: windowsize refused");
  EXPECT_TRUE(t.finished());
}

TEST(ReadTransfer, TimeoutDuringOackResendsTheOack) {
  auto t = make_transfer(content(3000), windowed(4));
  const auto first = t.start();
  const auto a = t.on_timeout();
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], first.send[0]);
  EXPECT_EQ(a.arm_timer, 1000ms);
  EXPECT_EQ(t.progress().window, 4u);
  EXPECT_EQ(t.progress().retransmissions, 1u);
}

// ---- Whole transfers ---------------------------------------------------------

struct size_case {
  std::size_t size;
  std::uint64_t packets;
  std::size_t last_payload;
};

class WholeTransfer : public ::testing::TestWithParam<size_case> {};

TEST_P(WholeTransfer, DeliversTheFileAndCompletes) {
  const auto [size, packets, last_payload] = GetParam();
  const auto file = content(size);
  auto t = make_transfer(file, lockstep());
  const auto r = run_to_end(t);
  EXPECT_EQ(r.received, file);
  EXPECT_EQ(r.data_packets, packets);
  EXPECT_EQ(r.last_payload, last_payload);
  ASSERT_TRUE(r.end);
  EXPECT_TRUE(r.end->ok());
  EXPECT_TRUE(t.finished());
}

INSTANTIATE_TEST_SUITE_P(Blksize512, WholeTransfer,
                         ::testing::Values(size_case{0, 1, 0},       // one empty block
                                           size_case{1, 1, 1},
                                           size_case{511, 1, 511},
                                           size_case{512, 2, 0},     // full block, then empty
                                           size_case{513, 2, 1},
                                           size_case{1024, 3, 0}),
                         [](const auto& p) { return "size_" + std::to_string(p.param.size); });

TEST(ReadTransfer, FileOfExactlyOneBlockEndsWithAnEmptyBlockTwo) {
  auto t = make_transfer(content(512), lockstep());
  t.start();
  const auto a = t.on_packet(ack{1});
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], (bytes{0, 3,     // DATA
                              0, 2}));  // block 2, no payload
}

TEST(ReadTransfer, CompletesOnlyWhenTheFinalBlockIsAcknowledged) {
  auto t = make_transfer(content(513), lockstep());
  t.start();
  const auto a = t.on_packet(ack{1});
  EXPECT_FALSE(a.end);
  EXPECT_FALSE(t.finished());
  const auto b = t.on_packet(ack{2});
  ASSERT_TRUE(b.end);
  EXPECT_EQ(b.end->outcome, transfer_outcome::completed);
  EXPECT_TRUE(b.send.empty());
}

TEST(ReadTransfer, BlockNumbersRollOverFrom65535ToZero) {
  const auto file = content(600000);  // 75,000 blocks of 8 bytes
  auto t = make_transfer(file, negotiate(option_list{{"blksize", "8"}}, file.size()));
  const auto r = run_to_end(t);
  EXPECT_EQ(r.first_blocks_after_rollover, (std::vector<std::uint16_t>{0, 1, 2}));
  EXPECT_EQ(r.data_packets, 75001u);  // 600000 is a multiple of 8: an empty block ends it
  EXPECT_EQ(r.received, file);
  ASSERT_TRUE(r.end);
  EXPECT_TRUE(r.end->ok());
}

TEST(ReadTransfer, WindowedTransferAcrossTheRolloverCompletes) {
  const auto file = content(600003);
  auto t = make_transfer(file, windowed(7, 8));  // 7 does not divide 65536
  const auto r = run_to_end(t);
  EXPECT_EQ(r.received, file);
  ASSERT_TRUE(r.end);
  EXPECT_TRUE(r.end->ok());
}

TEST(ReadTransfer, AckAcrossTheRolloverIsMappedIntoTheWindow) {
  const auto file = content(65540 * 8);
  transfer_params p = windowed(4, 8);
  auto t = make_transfer(file, p);
  t.start();
  auto a = t.on_packet(ack{0});
  for (std::uint16_t last = 4; last != 65532; last += 4) a = t.on_packet(ack{last});
  a = t.on_packet(ack{65532});
  EXPECT_EQ(blocks_of(a), (std::vector<std::uint16_t>{65533, 65534, 65535, 0}));
  a = t.on_packet(ack{0});  // the fourth block of the window, absolute 65536
  EXPECT_EQ(blocks_of(a), (std::vector<std::uint16_t>{1, 2, 3, 4}));
  EXPECT_EQ(t.progress().bytes_acked, 65536u * 8);
}

// ---- Windows (RFC 7440) ------------------------------------------------------

TEST(ReadTransfer, WindowOfFourSendsFourBlocksThenWaits) {
  const auto file = content(10 * 512);
  auto t = make_transfer(file, windowed(4));
  t.start();
  const auto a = t.on_packet(ack{0});
  ASSERT_EQ(blocks_of(a), (std::vector<std::uint16_t>{1, 2, 3, 4}));
  EXPECT_EQ(a.send[3], data_wire(4, slice(file, 3 * 512, 512)));
  EXPECT_EQ(a.arm_timer, 1000ms);
}

TEST(ReadTransfer, AckOfTheWindowsLastBlockSendsTheNextWindow) {
  auto t = make_transfer(content(10 * 512), windowed(4));
  t.start();
  t.on_packet(ack{0});
  EXPECT_EQ(blocks_of(t.on_packet(ack{4})), (std::vector<std::uint16_t>{5, 6, 7, 8}));
}

TEST(ReadTransfer, LastWindowStopsAtTheFinalBlock) {
  auto t = make_transfer(content(5 * 512 + 100), windowed(4));
  t.start();
  t.on_packet(ack{0});
  EXPECT_EQ(blocks_of(t.on_packet(ack{4})), (std::vector<std::uint16_t>{5, 6}));
}

TEST(ReadTransfer, AckInsideTheWindowContinuesAfterTheAckedBlockAtOnce) {
  const auto file = content(10 * 512);
  auto t = make_transfer(file, windowed(4));
  t.start();
  t.on_packet(ack{0});              // blocks 1-4 sent, block 3 lost
  const auto a = t.on_packet(ack{2});  // the client has 1-2 in order
  ASSERT_EQ(blocks_of(a), (std::vector<std::uint16_t>{3, 4, 5, 6}));
  EXPECT_EQ(a.send[0], data_wire(3, slice(file, 2 * 512, 512)));
  EXPECT_EQ(a.arm_timer, 1000ms);
  EXPECT_EQ(t.progress().retransmissions, 2u);  // 3 and 4 went out before
}

TEST(ReadTransfer, AckInsideTheWindowDoesNotGrowOrShrinkIt) {
  auto t = make_transfer(content(10 * 512), windowed(4));
  t.start();
  t.on_packet(ack{0});
  t.on_packet(ack{2});
  EXPECT_EQ(t.progress().window, 4u);
}

// ---- Duplicate and stray ACKs (Sorcerer's Apprentice) -------------------------

TEST(ReadTransfer, DuplicateAckSendsNothingAndLeavesTheTimerAlone) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();
  t.on_packet(ack{1});  // DATA 2 goes out
  const auto a = t.on_packet(ack{1});
  EXPECT_TRUE(a.send.empty());
  EXPECT_FALSE(a.arm_timer);
  EXPECT_FALSE(a.end);
}

TEST(ReadTransfer, DelayedAckAfterRetransmissionDoesNotDoubleTheData) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();                                  // DATA 1
  t.on_timeout();                             // DATA 1 again
  EXPECT_EQ(blocks_of(t.on_packet(ack{1})), (std::vector<std::uint16_t>{2}));
  EXPECT_TRUE(t.on_packet(ack{1}).send.empty());  // the ACK of the copy
}

TEST(ReadTransfer, AckFromAnEarlierWindowIsIgnored) {
  auto t = make_transfer(content(20 * 512), windowed(4));
  t.start();
  t.on_packet(ack{0});
  t.on_packet(ack{4});  // 5-8 out
  const auto a = t.on_packet(ack{2});
  EXPECT_TRUE(a.send.empty());
  EXPECT_FALSE(a.arm_timer);
}

TEST(ReadTransfer, AckForABlockNotYetSentIsIgnored) {
  auto t = make_transfer(content(20 * 512), windowed(4));
  t.start();
  t.on_packet(ack{0});
  const auto a = t.on_packet(ack{9});
  EXPECT_TRUE(a.send.empty());
  EXPECT_FALSE(a.arm_timer);
  EXPECT_EQ(t.progress().bytes_acked, 0u);
}

// ---- Timeouts ----------------------------------------------------------------

TEST(ReadTransfer, TimeoutResendsTheUnacknowledgedBlock) {
  const auto file = content(2000);
  auto t = make_transfer(file, lockstep());
  t.start();
  t.on_packet(ack{1});
  const auto a = t.on_timeout();
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], data_wire(2, slice(file, 512, 512)));
  EXPECT_EQ(a.arm_timer, 1000ms);
}

TEST(ReadTransfer, TimeoutResendsOnlyTheFirstUnacknowledgedBlockOfTheWindow) {
  auto t = make_transfer(content(40 * 512), windowed(8));
  t.start();
  t.on_packet(ack{0});  // 1-8
  t.on_packet(ack{8});  // 9-16
  const auto a = t.on_timeout();
  EXPECT_EQ(blocks_of(a), (std::vector<std::uint16_t>{9}));
  EXPECT_EQ(a.arm_timer, 1000ms);
}

TEST(ReadTransfer, RepeatedTimeoutsProbeWithOneBlockAndKeepTheWindow) {
  auto t = make_transfer(content(40 * 512), windowed(8));
  t.start();
  t.on_packet(ack{0});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(blocks_of(t.on_timeout()), (std::vector<std::uint16_t>{1})) << i;
  EXPECT_EQ(t.progress().window, 8u);
  EXPECT_EQ(blocks_of(t.on_packet(ack{1})), (std::vector<std::uint16_t>{2, 3, 4, 5, 6, 7, 8, 9}));
}

// An RFC 7440 client counts `windowsize` blocks from its own last ACK. It
// lost the tail of a window (8 of 1-8), so it waits; the probe (block 1, which
// it has) makes it say where it stands, and the next window starts right
// there, whole, so its count and ours agree again.
TEST(ReadTransfer, AProbeAnsweredWithTheLastBlockHeldLinesTheNextWindowUp) {
  auto t = make_transfer(content(40 * 512), windowed(8));
  t.start();
  t.on_packet(ack{0});  // 1-8; the client gets 1-7
  EXPECT_EQ(blocks_of(t.on_timeout()), (std::vector<std::uint16_t>{1}));
  EXPECT_EQ(blocks_of(t.on_packet(ack{7})), (std::vector<std::uint16_t>{8, 9, 10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(t.progress().bytes_acked, 7u * 512);
}

TEST(ReadTransfer, WindowNeverGrowsBeyondTheNegotiatedSize) {
  auto t = make_transfer(content(100 * 512), windowed(4));
  t.start();
  t.on_packet(ack{0});
  t.on_packet(ack{4});
  EXPECT_EQ(t.on_packet(ack{8}).send.size(), 4u);
  EXPECT_EQ(t.progress().window, 4u);
}

TEST(ReadTransfer, LateAckFromBeforeTheTimeoutStillCounts) {
  auto t = make_transfer(content(40 * 512), windowed(8));
  t.start();
  t.on_packet(ack{0});  // 1-8
  t.on_timeout();       // 1 again
  const auto a = t.on_packet(ack{8});  // the client had them all
  EXPECT_EQ(blocks_of(a).front(), 9);
  EXPECT_EQ(t.progress().bytes_acked, 8u * 512);
}

TEST(ReadTransfer, TimeoutAfterMaxRetriesEndsTheTransfer) {
  auto p = lockstep();
  p.max_retries = 3;
  auto t = make_transfer(content(2000), p);
  t.start();
  t.on_packet(ack{1});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.on_timeout().send.size(), 1u) << "retry " << i;
  const auto a = t.on_timeout();
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::timed_out);
  bytes expected = {0, 5,  // ERROR
                    0, 0};  // not defined
  for (char c : std::string("Transfer timed out")) expected.push_back(static_cast<std::uint8_t>(c));
  expected.push_back(0);
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], expected);
  EXPECT_TRUE(t.finished());
}

TEST(ReadTransfer, ProgressResetsTheRetryCount) {
  auto p = lockstep();
  p.max_retries = 2;
  auto t = make_transfer(content(2000), p);
  t.start();
  t.on_packet(ack{1});
  t.on_timeout();
  t.on_timeout();
  t.on_packet(ack{2});
  EXPECT_FALSE(t.on_timeout().end);
  EXPECT_FALSE(t.on_timeout().end);
  EXPECT_TRUE(t.on_timeout().end);
}

TEST(ReadTransfer, DuplicateAckIsNotProgress) {
  auto p = lockstep();
  p.max_retries = 1;
  auto t = make_transfer(content(2000), p);
  t.start();
  t.on_packet(ack{1});
  t.on_timeout();
  t.on_packet(ack{1});
  EXPECT_TRUE(t.on_timeout().end);
}

// ---- Unconfirmed peers ---------------------------------------------------------
//
// Until the peer acknowledges something, the RRQ may have carried a victim's
// address: the first packet is sent once more, and then the transfer ends
// without another datagram.

// Every datagram a transfer sends when nobody ever answers: what one RRQ
// costs the address written on it.
struct unanswered {
  std::size_t datagrams = 0;
  std::size_t bytes = 0;
  std::optional<transfer_end> end;
};

unanswered run_unanswered(read_transfer& t) {
  unanswered u;
  auto count = [&](const action& a) {
    u.datagrams += a.send.size();
    for (const auto& d : a.send) u.bytes += d.size();
  };
  count(t.start());
  // Far more timeouts than any retry budget; each is what the timer does.
  for (int i = 0; i < 200 && !t.finished(); ++i) {
    const auto a = t.on_timeout();
    count(a);
    if (a.end) u.end = a.end;
  }
  return u;
}

TEST(ReadTransfer, ANewTransferIsUnconfirmed) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();
  EXPECT_FALSE(t.confirmed());
}

TEST(ReadTransfer, AnAckOfTheFirstBlockConfirmsThePeer) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();
  t.on_packet(ack{1});
  EXPECT_TRUE(t.confirmed());
}

TEST(ReadTransfer, AckZeroOfTheOackConfirmsThePeer) {
  auto t = make_transfer(content(3000), windowed(4));
  t.start();
  t.on_packet(ack{0});
  EXPECT_TRUE(t.confirmed());
}

TEST(ReadTransfer, AnAckOfNothingWeSentDoesNotConfirm) {
  auto oack_first = make_transfer(content(3000), windowed(4));
  oack_first.start();
  oack_first.on_packet(ack{1});  // no DATA has gone out yet
  EXPECT_FALSE(oack_first.confirmed());

  auto plain = make_transfer(content(3000), lockstep());
  plain.start();
  plain.on_packet(ack{0});  // nothing of ours is block 0
  plain.on_packet(ack{7});  // not sent yet
  EXPECT_FALSE(plain.confirmed());
}

TEST(ReadTransfer, AnUnansweredFirstDataIsSentOnceMoreThenTheTransferEndsSilently) {
  const auto file = content(2000);
  auto t = make_transfer(file, lockstep());  // max_retries 5
  const auto first = t.start();
  const auto again = t.on_timeout();
  ASSERT_EQ(again.send.size(), 1u);
  EXPECT_EQ(again.send[0], first.send[0]);
  EXPECT_EQ(again.arm_timer, 1000ms);
  const auto last = t.on_timeout();
  ASSERT_TRUE(last.end);
  EXPECT_EQ(last.end->outcome, transfer_outcome::timed_out);
  EXPECT_EQ(last.end->reason, "the client acknowledged nothing (first packet sent 2 times)");
  EXPECT_TRUE(last.send.empty()) << "no ERROR to a peer that never answered";
  EXPECT_FALSE(last.arm_timer);
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(t.progress().retransmissions, 1u);
}

TEST(ReadTransfer, AnUnansweredOackIsSentOnceMoreThenTheTransferEndsSilently) {
  auto t = make_transfer(content(3000), windowed(4));
  const auto first = t.start();
  const auto again = t.on_timeout();
  ASSERT_EQ(again.send.size(), 1u);
  EXPECT_EQ(again.send[0], first.send[0]);
  const auto last = t.on_timeout();
  ASSERT_TRUE(last.end);
  EXPECT_EQ(last.end->outcome, transfer_outcome::timed_out);
  EXPECT_TRUE(last.send.empty());
}

TEST(ReadTransfer, AnUnansweredRrqCostsAtMostTwoDataOfFiveHundredSixteenBytes) {
  // The bound the operator docs state: 2 x (4 + 512) bytes whatever
  // max_retries is, against 6 x 516 + an ERROR under the full budget.
  auto p = lockstep();
  p.max_retries = 100;
  auto t = make_transfer(content(100000), p);
  const auto u = run_unanswered(t);
  EXPECT_EQ(u.datagrams, 2u);
  EXPECT_EQ(u.bytes, 2u * (4 + 512));
  ASSERT_TRUE(u.end);
  EXPECT_EQ(u.end->outcome, transfer_outcome::timed_out);
}

TEST(ReadTransfer, AnUnansweredRrqWithOptionsCostsTwoOacks) {
  const auto requested = option_list{{"blksize", "65464"}, {"windowsize", "64"}, {"tsize", "0"}};
  auto t = make_transfer(content(100000), negotiate(requested, 100000));
  bytes oack_wire;
  encode_oack(t.params().oack, oack_wire);
  const auto u = run_unanswered(t);
  EXPECT_EQ(u.datagrams, 2u);
  EXPECT_EQ(u.bytes, 2 * oack_wire.size()) << "no DATA before the OACK is acknowledged";
}

TEST(ReadTransfer, ALostFirstDataIsRecoveredByItsRetransmission) {
  const auto file = content(700);
  auto t = make_transfer(file, lockstep());
  t.start();                             // lost
  const auto again = t.on_timeout();     // arrives
  EXPECT_EQ(blocks_of(again), (std::vector<std::uint16_t>{1}));
  EXPECT_EQ(blocks_of(t.on_packet(ack{1})), (std::vector<std::uint16_t>{2}));
  const auto end = t.on_packet(ack{2});
  ASSERT_TRUE(end.end);
  EXPECT_TRUE(end.end->ok());
}

TEST(ReadTransfer, OnceConfirmedTheFullRetryBudgetAndTheErrorApply) {
  auto p = lockstep();
  p.max_retries = 4;
  auto t = make_transfer(content(2000), p);
  t.start();
  t.on_timeout();  // the one retransmission an unconfirmed peer gets
  t.on_packet(ack{1});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(blocks_of(t.on_timeout()), (std::vector<std::uint16_t>{2})) << i;
  const auto a = t.on_timeout();
  ASSERT_TRUE(a.end);
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], error_packet(error_code::not_defined, "Transfer timed out"));
}

TEST(ReadTransfer, UnconfirmedRetriesNeverExceedMaxRetries) {
  auto p = lockstep();
  p.max_retries = 0;
  p.unconfirmed_retries = 3;
  auto t = make_transfer(content(2000), p);
  const auto u = run_unanswered(t);
  EXPECT_EQ(u.datagrams, 1u);
}

TEST(ReadTransfer, UnconfirmedRetriesCanBeRaised) {
  auto p = lockstep();
  p.unconfirmed_retries = 3;
  auto t = make_transfer(content(2000), p);
  EXPECT_EQ(run_unanswered(t).datagrams, 4u);
}

// ---- Errors and illegal packets ------------------------------------------------

TEST(ReadTransfer, ClientErrorMidTransferEndsItWithoutAnswer) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();
  const auto a = t.on_packet(error{error_code::disk_full, "full"});
  EXPECT_TRUE(a.send.empty());
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::client_error);
  EXPECT_EQ(a.end->reason, "client error 3: full");
}

TEST(ReadTransfer, DataFromTheClientIsAnIllegalOperation) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();
  const auto a = t.on_packet(data{1, {1, 2}});
  bytes expected = {0, 5,  // ERROR
                    0, 4};  // illegal TFTP operation
  for (char c : std::string("Illegal TFTP operation")) expected.push_back(static_cast<std::uint8_t>(c));
  expected.push_back(0);
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], expected);
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::illegal_operation);
}

TEST(ReadTransfer, RequestMidTransferIsAnIllegalOperation) {
  auto t = make_transfer(content(2000), lockstep());
  t.start();
  const auto a = t.on_packet(request{opcode::rrq, "f", transfer_mode::octet, {}});
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::illegal_operation);
}

TEST(ReadTransfer, OackFromTheClientIsAnIllegalOperation) {
  auto t = make_transfer(content(2000), windowed(2));
  t.start();
  const auto a = t.on_packet(oack{});
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::illegal_operation);
}

TEST(ReadTransfer, EventsAfterTheEndDoNothing) {
  auto t = make_transfer(content(10), lockstep());
  t.start();
  t.on_packet(ack{1});
  ASSERT_TRUE(t.finished());
  const auto a = t.on_timeout();
  const auto b = t.on_packet(data{1, {}});
  EXPECT_TRUE(a.send.empty() && b.send.empty());
  EXPECT_FALSE(a.end || b.end || a.arm_timer || b.arm_timer);
}

TEST(ReadTransfer, PacketsBeforeStartAreIgnored) {
  auto t = make_transfer(content(10), lockstep());
  const auto a = t.on_packet(ack{1});
  EXPECT_TRUE(a.send.empty());
  EXPECT_FALSE(a.end);
}

// A source whose file shrank under it.
class shrinking_source final : public content_source {
public:
  std::uint64_t size() const override { return 2000; }
  std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out) override {
    return offset < 512 ? out.size() : 0;
  }
};

TEST(ReadTransfer, ShortReadEndsTheTransferWithErrorZero) {
  read_transfer t(lockstep(), std::make_unique<shrinking_source>());
  t.start();
  const auto a = t.on_packet(ack{1});
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::read_failed);
  ASSERT_EQ(a.send.size(), 1u);
  EXPECT_EQ(a.send[0], error_packet(error_code::not_defined, "Read error"));
}

// ---- Progress ----------------------------------------------------------------

TEST(ReadTransfer, ProgressCountsBytesRetransmissionsAndTimeouts) {
  auto t = make_transfer(content(2000), windowed(2));
  t.start();
  t.on_packet(ack{0});  // 1-2
  t.on_packet(ack{1});  // 2-3: block 2 again
  t.on_timeout();       // the probe: block 2 again
  const auto p = t.progress();
  EXPECT_EQ(p.bytes_sent, 3u * 512);
  EXPECT_EQ(p.bytes_acked, 512u);
  EXPECT_EQ(p.retransmissions, 2u);
  EXPECT_EQ(p.timeouts, 1u);
  EXPECT_EQ(p.window, 2u);
}

TEST(ReadTransfer, ProgressNeverCountsMoreThanTheFile) {
  auto t = make_transfer(content(700), lockstep());
  run_to_end(t);
  EXPECT_EQ(t.progress().bytes_sent, 700u);
  EXPECT_EQ(t.progress().bytes_acked, 700u);
}

TEST(ReadTransfer, RecycledDatagramsAreReusedForTheNextWindow) {
  const auto file = content(5 * 512 + 10);
  auto t = make_transfer(file, windowed(2));
  t.start();
  auto a = t.on_packet(ack{0});
  ASSERT_EQ(a.send.size(), 2u);
  const std::vector<const std::uint8_t*> buffers = {a.send[0].data(), a.send[1].data()};
  t.recycle(a.send);
  EXPECT_TRUE(a.send.empty());
  const auto b = t.on_packet(ack{2});
  ASSERT_EQ(b.send.size(), 2u);
  for (const auto& d : b.send) EXPECT_NE(std::find(buffers.begin(), buffers.end(), d.data()), buffers.end());
  EXPECT_EQ(b.send[0], data_wire(3, slice(file, 1024, 512)));
  EXPECT_EQ(b.send[1], data_wire(4, slice(file, 1536, 512)));
}

TEST(ReadTransfer, RecycledBuffersOfAnotherSizeStillMakeExactDatagrams) {
  const auto file = content(3 * 512 + 10);
  auto t = make_transfer(file, lockstep());
  auto a = t.start();
  std::vector<std::vector<std::uint8_t>> odd = {bytes(3, 0xee), bytes(900, 0xdd)};
  t.recycle(odd);
  t.recycle(a.send);
  EXPECT_EQ(t.on_packet(ack{1}).send.at(0), data_wire(2, slice(file, 512, 512)));
  auto last = t.on_packet(ack{2});
  last = t.on_packet(ack{3});
  EXPECT_EQ(last.send.at(0), data_wire(4, slice(file, 1536, 10)));
}

// A memory source that counts its reads, and can be told to come up short
// from some offset on.
class counting_source final : public content_source {
public:
  counting_source(bytes b, int& reads, std::uint64_t short_from = ~std::uint64_t{0})
      : inner_(std::move(b)), reads_(reads), short_from_(short_from) {}
  std::uint64_t size() const override { return inner_.size(); }
  std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out) override {
    ++reads_;
    if (offset >= short_from_) return 0;
    return inner_.read(offset, out);
  }

private:
  memory_source inner_;
  int& reads_;
  std::uint64_t short_from_;
};

TEST(ReadTransfer, ReadAheadBuildsTheNextWindowSoTheAckNeedsNoRead) {
  const auto file = content(20 * 512);
  int reads = 0;
  read_transfer t(windowed(4), std::make_unique<counting_source>(file, reads));
  t.start();
  auto a = t.on_packet(ack{0});  // 1-4
  EXPECT_EQ(reads, 4);
  t.recycle(a.send);
  t.read_ahead();                // 5-8
  EXPECT_EQ(reads, 8);
  t.read_ahead();                // already there
  EXPECT_EQ(reads, 8);
  const auto b = t.on_packet(ack{4});
  EXPECT_EQ(reads, 8);
  ASSERT_EQ(blocks_of(b), (std::vector<std::uint16_t>{5, 6, 7, 8}));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(b.send[i], data_wire(static_cast<std::uint16_t>(5 + i), slice(file, (4 + i) * 512, 512)));
  EXPECT_EQ(t.progress().bytes_sent, 8u * 512) << "reading ahead is not sending";
  EXPECT_EQ(t.progress().retransmissions, 0u);
}

TEST(ReadTransfer, AWindowStartingBeforeTheReadAheadReadsOnlyWhatIsMissing) {
  const auto file = content(20 * 512);
  int reads = 0;
  read_transfer t(windowed(4), std::make_unique<counting_source>(file, reads));
  t.start();
  t.on_packet(ack{0});  // 1-4
  t.read_ahead();       // 5-8
  reads = 0;
  const auto a = t.on_packet(ack{2});  // 3-6: 3 and 4 read again, 5 and 6 ready
  EXPECT_EQ(reads, 2);
  ASSERT_EQ(blocks_of(a), (std::vector<std::uint16_t>{3, 4, 5, 6}));
  EXPECT_EQ(a.send[2], data_wire(5, slice(file, 4 * 512, 512)));
  EXPECT_EQ(a.send[3], data_wire(6, slice(file, 5 * 512, 512)));
  const auto b = t.on_packet(ack{6});  // 7-10: 7 and 8 ready
  EXPECT_EQ(reads, 4);
  ASSERT_EQ(blocks_of(b), (std::vector<std::uint16_t>{7, 8, 9, 10}));
  EXPECT_EQ(b.send[0], data_wire(7, slice(file, 6 * 512, 512)));
}

TEST(ReadTransfer, AReadAheadThatComesUpShortFailsOnlyWhenTheBlockIsDue) {
  const auto file = content(6 * 512 + 10);  // blocks 1-7
  int reads = 0;
  read_transfer t(windowed(4), std::make_unique<counting_source>(file, reads, 5 * 512));
  t.start();
  t.on_packet(ack{0});  // 1-4
  t.read_ahead();       // 5, then 6 comes up short: no error yet
  EXPECT_FALSE(t.finished());
  const auto a = t.on_packet(ack{4});
  ASSERT_TRUE(a.end);
  EXPECT_EQ(a.end->outcome, transfer_outcome::read_failed);
}

TEST(ReadTransfer, ReadAheadCompletesTheWholeFileUnchanged) {
  // The run_to_end client with read_ahead between every step, across the
  // rollover, with windows that do not divide the file.
  const auto file = content(70000 * 8 + 5);
  auto t = make_transfer(file, windowed(7, 8));
  auto a = t.start();
  a = t.on_packet(ack{0});
  bytes received;
  std::uint64_t next = 1;
  while (!a.end) {
    std::uint16_t last_block = 0;
    for (const auto& d : a.send) {
      const auto r = decode(d);
      ASSERT_TRUE(r.ok());
      const auto& payload = std::get<data>(r.value()).payload;
      ASSERT_EQ(std::get<data>(r.value()).block, static_cast<std::uint16_t>(next));
      received.insert(received.end(), payload.begin(), payload.end());
      last_block = std::get<data>(r.value()).block;
      ++next;
    }
    t.recycle(a.send);
    t.read_ahead();
    a = t.on_packet(ack{last_block});
  }
  EXPECT_TRUE(a.end->ok());
  EXPECT_EQ(received, file);
}

TEST(ReadTransfer, SharedMemorySourceServesManyTransfers) {
  const auto file = std::make_shared<const bytes>(content(1500));
  read_transfer a(lockstep(), std::make_unique<memory_source>(file));
  read_transfer b(lockstep(), std::make_unique<memory_source>(file));
  EXPECT_EQ(run_to_end(a).received, *file);
  EXPECT_EQ(run_to_end(b).received, *file);
}

}  // namespace
}  // namespace provbox::tftp
