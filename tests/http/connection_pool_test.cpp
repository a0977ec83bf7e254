// One listener's connections and who may open another (connection_pool),
// and the bound on TLS handshakes in flight (handshake_gate): decisions
// checked without sockets, the sessions' `close` functions recorded.
#include "http/connection_pool.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/handshake_gate.hpp"

namespace provbox::http {
namespace {

using phase = connection_pool::phase;
using admission = connection_pool::admission;

// A pool whose sessions record their closing in `closed` by name.
class pool_test : public ::testing::Test {
protected:
  connection_pool pool{"https", {.max_connections = 4, .max_per_address = 2}};
  std::vector<std::string> closed;

  // Admits a connection from `address` and gives it a close function that
  // records `name`; fails the test when it is not admitted.
  connection_pool::handle open(const std::string& address, const std::string& name) {
    connection_pool::handle c;
    EXPECT_EQ(pool.admit(address, c), admission::admitted) << name;
    c->close = [this, name] { closed.push_back(name); };
    return c;
  }
};

TEST_F(pool_test, admits_up_to_the_per_address_limit_then_turns_the_address_away) {
  open("10.0.0.1", "a1");
  open("10.0.0.1", "a2");
  connection_pool::handle c;
  EXPECT_EQ(pool.admit("10.0.0.1", c), admission::address_full);
  EXPECT_EQ(pool.open(), 2u);
  EXPECT_EQ(pool.refused().at("address_full"), 1u);
  EXPECT_TRUE(closed.empty()) << "connections still opening or busy never give way";
}

TEST_F(pool_test, another_address_still_gets_in_while_one_is_at_its_limit) {
  open("10.0.0.1", "a1");
  open("10.0.0.1", "a2");
  open("10.0.0.2", "b1");
  EXPECT_EQ(pool.open_from("10.0.0.1"), 2u);
  EXPECT_EQ(pool.open_from("10.0.0.2"), 1u);
}

TEST_F(pool_test, the_oldest_idle_connection_of_a_full_address_gives_way) {
  auto a1 = open("10.0.0.1", "a1");
  auto a2 = open("10.0.0.1", "a2");
  auto b1 = open("10.0.0.2", "b1");
  pool.set_phase(b1, phase::idle);  // idle, but another address's
  pool.set_phase(a2, phase::idle);
  pool.set_phase(a1, phase::idle);  // idle since later than a2
  open("10.0.0.1", "a3");
  EXPECT_EQ(closed, std::vector<std::string>{"a2"});
  EXPECT_EQ(pool.open_from("10.0.0.1"), 2u);
  EXPECT_EQ(pool.closed().at("gave_way"), 1u);
}

TEST_F(pool_test, a_full_listener_closes_its_oldest_idle_connection_for_a_new_one) {
  auto a1 = open("10.0.0.1", "a1");
  open("10.0.0.2", "b1");
  auto c1 = open("10.0.0.3", "c1");
  open("10.0.0.4", "d1");
  pool.set_phase(c1, phase::idle);
  pool.set_phase(a1, phase::idle);
  open("10.0.0.5", "e1");
  EXPECT_EQ(closed, std::vector<std::string>{"c1"});
  EXPECT_EQ(pool.open(), 4u);
}

TEST_F(pool_test, a_full_listener_without_idle_connections_has_no_room_and_refuses) {
  for (const char* address : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) open(address, address);
  EXPECT_FALSE(pool.has_room());
  connection_pool::handle c;
  EXPECT_EQ(pool.admit("10.0.0.5", c), admission::listener_full);
  EXPECT_EQ(pool.refused().at("listener_full"), 1u);
}

TEST_F(pool_test, a_connection_going_idle_makes_room_in_a_full_listener) {
  std::vector<connection_pool::handle> all;
  for (const char* address : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) all.push_back(open(address, address));
  int notified = 0;
  pool.on_room([&] { ++notified; });
  pool.set_phase(all[1], phase::busy);
  EXPECT_EQ(notified, 0);
  pool.set_phase(all[1], phase::idle);
  EXPECT_EQ(notified, 1);
  EXPECT_TRUE(pool.has_room());
}

TEST_F(pool_test, a_session_ending_makes_room_and_tells_the_waiting_listener) {
  std::vector<connection_pool::handle> all;
  for (const char* address : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) all.push_back(open(address, address));
  int notified = 0;
  pool.on_room([&] { ++notified; });
  pool.remove(all[2]);
  EXPECT_EQ(notified, 1);
  EXPECT_TRUE(pool.has_room());
  EXPECT_EQ(pool.open_from("10.0.0.3"), 0u);
}

TEST_F(pool_test, a_closed_connection_stops_counting_at_once_and_is_forgotten_when_its_session_ends) {
  auto a1 = open("10.0.0.1", "a1");
  open("10.0.0.1", "a2");
  pool.close(a1, "revoked");
  EXPECT_EQ(closed, std::vector<std::string>{"a1"});
  EXPECT_EQ(pool.open(), 1u);
  EXPECT_EQ(pool.sessions(), 2u) << "its session has not ended yet";
  open("10.0.0.1", "a3");  // the address has room again
  pool.close(a1, "revoked");
  EXPECT_EQ(closed.size(), 1u) << "closing twice calls close once";
  pool.remove(a1);
  EXPECT_EQ(pool.open(), 2u);
  EXPECT_EQ(pool.sessions(), 2u);
  EXPECT_EQ(pool.closed().at("revoked"), 1u);
}

TEST_F(pool_test, the_stop_closes_all_but_busy_connections) {
  auto a1 = open("10.0.0.1", "a1");
  auto b1 = open("10.0.0.2", "b1");
  auto c1 = open("10.0.0.3", "c1");
  pool.set_phase(a1, phase::idle);
  pool.set_phase(b1, phase::busy);
  pool.close_all_but_busy();
  EXPECT_EQ(closed, (std::vector<std::string>{"a1", "c1"}));
  EXPECT_EQ(pool.open(), 1u);
  EXPECT_TRUE(pool.closed().empty()) << "the stop is not counted as a reason";
  (void)c1;
}

TEST_F(pool_test, the_peak_is_the_most_open_since_the_last_reset) {
  auto a1 = open("10.0.0.1", "a1");
  auto b1 = open("10.0.0.2", "b1");
  pool.remove(a1);
  pool.remove(b1);
  EXPECT_EQ(pool.peak(), 2u);
  pool.reset_peak();
  EXPECT_EQ(pool.peak(), 0u);
}

TEST(connection_pool, without_a_per_address_limit_one_address_may_fill_the_listener) {
  connection_pool admin{"admin", {.max_connections = 3, .max_per_address = 0}};
  connection_pool::handle c;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(admin.admit("127.0.0.1", c), admission::admitted);
  EXPECT_EQ(admin.admit("127.0.0.1", c), admission::listener_full);
}

TEST(connection_pool, lowering_the_limits_applies_to_the_next_admission) {
  connection_pool pool{"http", {.max_connections = 10, .max_per_address = 10}};
  connection_pool::handle c;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(pool.admit("10.0.0.1", c), admission::admitted);
  pool.set_limits({.max_connections = 10, .max_per_address = 2});
  EXPECT_EQ(pool.admit("10.0.0.1", c), admission::address_full);
  EXPECT_EQ(pool.open(), 3u) << "no connection already open is closed for it";
}

// ---- handshake_gate -----------------------------------------------------------

TEST(handshake_gate, lets_in_up_to_its_limit) {
  handshake_gate gate(2);
  EXPECT_TRUE(gate.try_enter());
  EXPECT_TRUE(gate.try_enter());
  EXPECT_FALSE(gate.try_enter());
  EXPECT_EQ(gate.in_flight(), 2u);
}

TEST(handshake_gate, a_slot_left_goes_to_the_first_waiter) {
  handshake_gate gate(1);
  ASSERT_TRUE(gate.try_enter());
  std::vector<int> woken;
  gate.wait([&] { woken.push_back(1); });
  gate.wait([&] { woken.push_back(2); });
  gate.leave();
  EXPECT_EQ(woken, std::vector<int>{1});
  EXPECT_EQ(gate.in_flight(), 1u) << "the slot was handed over, not freed";
  EXPECT_EQ(gate.waiting(), 1u);
}

TEST(handshake_gate, a_newcomer_does_not_overtake_waiters) {
  handshake_gate gate(1);
  ASSERT_TRUE(gate.try_enter());
  bool woken = false;
  gate.wait([&] { woken = true; });
  gate.leave();
  ASSERT_TRUE(woken);
  EXPECT_FALSE(gate.try_enter()) << "the waiter holds the slot now";
}

TEST(handshake_gate, a_waiter_that_gave_up_is_not_woken) {
  handshake_gate gate(1);
  ASSERT_TRUE(gate.try_enter());
  bool woken = false;
  auto ticket = gate.wait([&] { woken = true; });
  gate.cancel(ticket);
  gate.leave();
  EXPECT_FALSE(woken);
  EXPECT_EQ(gate.in_flight(), 0u);
}

TEST(handshake_gate, raising_the_limit_wakes_waiters) {
  handshake_gate gate(1);
  ASSERT_TRUE(gate.try_enter());
  int woken = 0;
  gate.wait([&] { ++woken; });
  gate.wait([&] { ++woken; });
  gate.set_limit(3);
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(gate.in_flight(), 3u);
}

}  // namespace
}  // namespace provbox::http
