// The provisioning service when things go wrong (issue 12): the CLI writing
// while the daemon serves, a database that went back, a store that fails,
// requesters that would fill the disk or the cache.
#include <gtest/gtest.h>

#include <cstdio>

#include "store/certificates.hpp"
#include "store/events.hpp"
#include "tests/provisioning/service_fixture.hpp"
#include "tests/support/process_locks.hpp"

namespace provbox::provisioning {
namespace {

using namespace provbox::provisioning::service_testing;
using provbox::test_support::this_process_locks;

std::string random_mac_file(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "fv0021F2%06X.conf", 0x500000 + i);
  return name;
}

TEST_F(service_test, serving_while_the_cli_commits_keeps_the_daemons_sqlite_locks) {
  // Issue 12, finding 1: the request path's change check opened and closed
  // SQLite's -shm, which drops every POSIX lock the process holds on it; the
  // CLI then rebuilt the WAL-index under the daemon (SIGBUS).
  ASSERT_EQ(service_->resolve(http_get(file_of(phone))).status, 200);
  ASSERT_TRUE(this_process_locks(db_path() + "-shm")) << "SQLite's own shared lock while connected";
  for (int i = 0; i < 3; ++i) {
    {
      store::inventory cli(db_path());
      cli.set_param(store::scope::global(), "DBID_NTP_SERVER", "ntp" + std::to_string(i));
    }
    const auto a = service_->resolve(http_get(file_of(phone)));
    ASSERT_EQ(a.status, 200) << a.reason;
    EXPECT_TRUE(contains(*a.body, "DBID_NTP_SERVER=ntp" + std::to_string(i))) << "the next request sees the change";
    EXPECT_TRUE(this_process_locks(db_path() + "-shm")) << "after CLI commit " << i;
  }
}

TEST_F(service_test, a_database_that_went_back_never_serves_a_lower_version) {
  const auto first = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(first.status, 200) << first.reason;
  {
    // Another process's view of a database that lost its last commits: the
    // same state with lower counters (put back by hand, behind SQLite).
    store::database cli(db_path());
    cli.exec("UPDATE meta SET value = value - 50 WHERE key = 'version_floor'");
    cli.exec("UPDATE meta SET value = value + 1 WHERE key = 'revision'");
  }
  const auto fallen = service_->resolve(http_get(file_of(phone)));
  EXPECT_EQ(fallen.status, 500) << "not the lower version";
  EXPECT_TRUE(contains(fallen.reason, "below one already served")) << fallen.reason;
  EXPECT_EQ(service_->metrics().version_floor_raises, 1u);
  const auto again = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(again.status, 200) << again.reason;
  EXPECT_GT(again.dbase_version, first.dbase_version);
}

TEST_F(service_test, a_new_service_starts_above_every_version_recorded_as_served) {
  const auto r = http_get(file_of(phone), phone_address);
  const auto a = service_->resolve(r);
  ASSERT_EQ(a.status, 200) << a.reason;
  service_->record(r, a, 200, a.body->size(), std::chrono::milliseconds(1));
  service_.reset();  // writes the event, and with it the highest version served
  {
    store::database cli(db_path());
    cli.exec("UPDATE meta SET value = value - 50 WHERE key = 'version_floor'");
  }
  service_ = std::make_unique<service>(*inventory_, service_options{data_dir_.string(), 200, false});
  EXPECT_EQ(service_->metrics().version_floor_raises, 1u);
  const auto after = service_->resolve(r);
  ASSERT_EQ(after.status, 200) << after.reason;
  EXPECT_GT(after.dbase_version, a.dbase_version);
}

TEST_F(service_test, a_failing_store_is_a_500_answer_and_the_next_request_recovers) {
  ASSERT_EQ(service_->resolve(http_get(file_of(phone))).status, 200);
  {
    store::database cli(db_path());
    cli.exec("ALTER TABLE devices RENAME TO devices_away");
    cli.exec("UPDATE meta SET value = value + 1 WHERE key = 'revision'");
  }
  const auto broken = service_->resolve(http_get(file_of(phone)));
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.kind, answer_kind::refusal);
  EXPECT_TRUE(contains(broken.reason, "internal error")) << broken.reason;
  EXPECT_EQ(service_->metrics().internal_errors, 1u);
  {
    store::database cli(db_path());
    cli.exec("ALTER TABLE devices_away RENAME TO devices");
    cli.exec("UPDATE meta SET value = value + 1 WHERE key = 'revision'");
  }
  EXPECT_EQ(service_->resolve(http_get(file_of(phone))).status, 200);
}

TEST_F(service_test, a_failing_store_leaves_certificate_answers_to_the_last_snapshot) {
  // The handshake's question has no one to throw to: it must answer.
  store::certificates(inventory_->db()).record({"8A01", phone.colon_lower(), store::certificate_kind::device, "a", "b"});
  ASSERT_TRUE(service_->certificate_acceptable("8A01"));
  {
    store::database cli(db_path());
    cli.exec("ALTER TABLE certificates RENAME TO certificates_away");
    cli.exec("UPDATE meta SET value = value + 1 WHERE key = 'revision'");
  }
  EXPECT_TRUE(service_->certificate_acceptable("8A01")) << "the last snapshot answers";
  EXPECT_FALSE(service_->certificate_acceptable("8A02"));
  EXPECT_GE(service_->metrics().internal_errors, 1u);
  {
    store::database cli(db_path());
    cli.exec("ALTER TABLE certificates_away RENAME TO certificates");
    cli.exec("UPDATE certificates SET revoked_at = '2026-12-03T00:00:00Z' WHERE serial = '8A01'");
    cli.exec("UPDATE meta SET value = value + 1 WHERE key = 'revision'");
  }
  EXPECT_FALSE(service_->certificate_acceptable("8A01")) << "and the next good read counts";
}

TEST_F(service_test, requests_from_many_addresses_keep_one_cached_file_per_device) {
  // `secret` has no static address: $IP is where the request came from. A
  // forged TFTP source per request must not grow the cache.
  for (int i = 0; i < 300; ++i) {
    const auto a = service_->resolve(http_get(file_of(secret), "10.1." + std::to_string(i / 250) + "." +
                                                                 std::to_string(i % 250 + 1)));
    ASSERT_EQ(a.status, 200) << a.reason;
  }
  EXPECT_EQ(service_->cached_files(), 1u);
  EXPECT_EQ(service_->metrics().renders, 300u) << "each new address is rendered with its own $IP";
  service_->resolve(http_get(file_of(phone)));
  EXPECT_EQ(service_->cached_files(), 2u);
}

TEST_F(service_test, a_scan_of_unknown_macs_costs_a_few_rows_and_one_summary) {
  store::event_log log(inventory_->db());
  const auto before = log.latest(100000).size();
  for (int i = 0; i < 2000; ++i) {
    const auto r = http_get(random_mac_file(i), "203.0.113.9");
    const auto a = service_->resolve(r);
    ASSERT_EQ(a.status, 404);
    service_->record(r, a, a.status, 0, std::chrono::microseconds(5));
  }
  // A known device's requests still get their own rows.
  const auto known = http_get(file_of(phone), phone_address);
  service_->record(known, service_->resolve(known), 200, 10, std::chrono::microseconds(5));
  service_->flush_events();
  const auto rows = log.latest(100000).size() - before;
  EXPECT_EQ(rows, 11u) << "ten unknown MACs with rows of their own, and the known device";
  EXPECT_EQ(service_->metrics().events_folded, 1990u);

  service_->maintain(std::chrono::steady_clock::now() + std::chrono::minutes(2));
  const auto latest = log.latest(1);
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0].peer, "203.0.113.9");
  EXPECT_EQ(latest[0].repeats, 1990u) << "the rest counted on one summary row";
  EXPECT_EQ(latest[0].mac, "");
  EXPECT_EQ(latest[0].status, 404);
  EXPECT_GE(service_->metrics().log_lines_held_back, 2000u - 60u);
}

}  // namespace
}  // namespace provbox::provisioning
