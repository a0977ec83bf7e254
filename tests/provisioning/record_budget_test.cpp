// What one requester may cost in log lines and event rows per window, with
// the clock passed in.
#include "server/provisioning/record_budget.hpp"

#include <gtest/gtest.h>

namespace provbox::provisioning {
namespace {

using clock_type = std::chrono::steady_clock;
const clock_type::time_point t0{std::chrono::hours(1000)};

store::event request_from(std::string peer, std::string mac = "", int status = 404) {
  store::event e;
  e.at = "2026-12-03T17:00:00.000Z";
  e.mac = std::move(mac);
  e.transport = "tftp";
  e.peer = std::move(peer);
  e.file = "fv0021F2999999.conf";
  e.status = status;
  e.bytes = 0;
  return e;
}

record_limits small() {
  record_limits l;
  l.window = std::chrono::seconds(60);
  l.lines_per_requester = 3;
  l.unknown_events_per_address = 2;
  l.unknown_events_total = 5;
  l.tracked_addresses = 4;
  return l;
}

TEST(record_budget, a_known_device_gets_every_event_and_its_lines_up_to_the_limit) {
  record_budget budget(small());
  int lines = 0;
  for (int i = 0; i < 10; ++i) {
    const auto d = budget.admit(request_from("192.0.2.10", "00:21:f2:01:1b:19", 200), true, t0);
    EXPECT_TRUE(d.own_event);
    lines += d.log_line;
  }
  EXPECT_EQ(lines, 3);
  const auto ended = budget.roll(t0 + std::chrono::seconds(60));
  EXPECT_TRUE(ended.events.empty());
  ASSERT_EQ(ended.log_lines.size(), 1u);
  EXPECT_NE(ended.log_lines[0].find("7 more lines of 00:21:f2:01:1b:19"), std::string::npos) << ended.log_lines[0];
}

TEST(record_budget, other_lines_of_an_address_count_with_its_requests) {
  record_budget budget(small());
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(budget.admit(request_from("203.0.113.9"), false, t0).log_line);
  EXPECT_TRUE(budget.admit_line("203.0.113.9", t0)) << "a refused handshake's line, the third of three";
  EXPECT_FALSE(budget.admit_line("203.0.113.9", t0));
  EXPECT_TRUE(budget.admit_line("203.0.113.10", t0)) << "another address has its own lines";
  const auto ended = budget.roll(t0 + std::chrono::minutes(1));
  ASSERT_EQ(ended.log_lines.size(), 1u);
  EXPECT_NE(ended.log_lines[0].find("1 more lines of 203.0.113.9"), std::string::npos) << ended.log_lines[0];
}

TEST(record_budget, nothing_rolls_before_the_window_ends) {
  record_budget budget(small());
  for (int i = 0; i < 10; ++i) budget.admit(request_from("203.0.113.9"), false, t0);
  const auto early = budget.roll(t0 + std::chrono::seconds(59));
  EXPECT_TRUE(early.events.empty());
  EXPECT_TRUE(early.log_lines.empty());
  EXPECT_EQ(budget.roll(t0 + std::chrono::seconds(60)).events.size(), 1u);
}

TEST(record_budget, unknown_requests_beyond_the_per_address_limit_fold_into_one_event) {
  record_budget budget(small());
  int own = 0;
  for (int i = 0; i < 10; ++i) own += budget.admit(request_from("203.0.113.9"), false, t0).own_event;
  EXPECT_EQ(own, 2);
  const auto ended = budget.roll(t0 + std::chrono::seconds(61));
  ASSERT_EQ(ended.events.size(), 1u);
  const auto& summary = ended.events[0];
  EXPECT_EQ(summary.repeats, 8u);
  EXPECT_EQ(summary.peer, "203.0.113.9");
  EXPECT_EQ(summary.mac, "") << "no device: the summary names none";
  EXPECT_EQ(summary.status, 404);
  EXPECT_EQ(summary.transport, "tftp");
  EXPECT_NE(summary.detail.find("8 requests for no known device"), std::string::npos) << summary.detail;
}

TEST(record_budget, the_total_of_unknown_rows_is_bounded_across_addresses) {
  record_budget budget(small());
  int own = 0;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) own += budget.admit(request_from("203.0.113." + std::to_string(i)), false, t0).own_event;
  EXPECT_EQ(own, 5) << "2 per address, 5 in all";
}

TEST(record_budget, addresses_beyond_the_tracked_number_share_one_summary) {
  record_budget budget(small());
  for (int i = 0; i < 100; ++i) budget.admit(request_from("198.51.100." + std::to_string(i)), false, t0);
  const auto ended = budget.roll(t0 + std::chrono::minutes(1));
  std::uint64_t folded = 0;
  bool shared = false;
  for (const auto& e : ended.events) {
    folded += e.repeats;
    shared |= e.peer == "*";
  }
  EXPECT_TRUE(shared);
  EXPECT_EQ(folded, 95u) << "100 requests, 5 with rows of their own";
  EXPECT_LE(ended.events.size(), 5u) << "4 tracked addresses and one shared summary at most";
}

TEST(record_budget, summaries_are_kept_apart_by_transport_and_status) {
  record_budget budget(small());
  for (int i = 0; i < 3; ++i) budget.admit(request_from("203.0.113.9"), false, t0);
  auto http = request_from("203.0.113.9");
  http.transport = "http";
  for (int i = 0; i < 3; ++i) budget.admit(http, false, t0);
  auto refused = request_from("203.0.113.9", "", 403);
  budget.admit(refused, false, t0);
  EXPECT_EQ(budget.roll(t0 + std::chrono::minutes(1)).events.size(), 3u);
}

TEST(record_budget, a_new_window_starts_afresh) {
  record_budget budget(small());
  for (int i = 0; i < 10; ++i) budget.admit(request_from("203.0.113.9"), false, t0);
  budget.roll(t0 + std::chrono::minutes(1));
  EXPECT_TRUE(budget.admit(request_from("203.0.113.9"), false, t0 + std::chrono::minutes(1)).own_event);
  EXPECT_TRUE(budget.admit(request_from("203.0.113.9"), false, t0 + std::chrono::minutes(1)).log_line);
}

}  // namespace
}  // namespace provbox::provisioning
