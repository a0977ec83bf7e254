// The provisioning service over a real (temporary) SQLite inventory: which
// device a request names, what it gets, what is refused and why, the cache,
// and what is recorded. No sockets: requests are plain structs.
#include "server/provisioning/service.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "server/profile/cipher.hpp"
#include "server/provisioning/device_file.hpp"
#include "store/certificates.hpp"
#include "store/events.hpp"
#include "store/firmware.hpp"
#include "store/inventory.hpp"
#include "tests/provisioning/service_fixture.hpp"

namespace provbox::provisioning {
namespace {

using namespace provbox::provisioning::service_testing;
namespace fs = std::filesystem;
using profile::mac_address;

// ---- device resolution by pattern ------------------------------------------

TEST_F(service_test, a_pattern_path_gets_the_same_bytes_as_render) {
  const auto a = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.kind, answer_kind::profile);
  EXPECT_EQ(a.device, phone);
  ASSERT_TRUE(a.body);
  EXPECT_EQ(*a.body, rendered(phone));
}

TEST_F(service_test, the_answer_carries_the_rendered_dbase_version) {
  const auto a = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.dbase_version, render_device_file(*inventory_, phone)->dbase_version);
  EXPECT_TRUE(contains(*a.body, "DBID_DBASE_VERSION=" + std::to_string(a.dbase_version) + "\n"));
}

TEST_F(service_test, an_unknown_mac_in_a_pattern_is_404_naming_it) {
  const auto a = service_->resolve(http_get(file_of(stranger)));
  EXPECT_EQ(a.kind, answer_kind::refusal);
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.body);
  EXPECT_TRUE(contains(a.reason, "00:21:f2:99:99:99")) << a.reason;
}

TEST_F(service_test, a_disabled_device_is_404) {
  const auto a = service_->resolve(http_get(file_of(unplugged), "192.0.2.14"));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.body);
  EXPECT_TRUE(contains(a.reason, "disabled")) << a.reason;
}

TEST_F(service_test, a_name_no_model_knows_is_404) {
  const auto a = service_->resolve(http_get("index.html", phone_address));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.body);
}

TEST_F(service_test, models_sharing_a_pattern_each_serve_their_own_device) {
  const auto for_phone = service_->resolve(http_get(file_of(phone)));
  const auto for_ata = service_->resolve(http_get(file_of(ata)));
  ASSERT_EQ(for_phone.status, 200) << for_phone.reason;
  ASSERT_EQ(for_ata.status, 200) << for_ata.reason;
  EXPECT_TRUE(contains(*for_phone.body, "DBID_SIP_ENABLE=1\t0\t0\t0\n"));  // the IP542N template
  EXPECT_TRUE(contains(*for_ata.body, "DBID_SIP_ENABLE=1\t1\n"));         // the G502N template
  EXPECT_EQ(*for_ata.body, rendered(ata));
}

// ---- the Config File Name: which device asks? -----------------------------

TEST_F(service_test, config_file_name_is_resolved_by_the_static_address) {
  const auto a = service_->resolve(http_get("IP542N.conf", phone_address));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.device, phone);
  EXPECT_EQ(*a.body, rendered(phone));
}

TEST_F(service_test, config_file_name_from_an_unknown_address_is_404) {
  const auto a = service_->resolve(http_get("IP542N.conf", unknown_address));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.body);
  EXPECT_TRUE(contains(a.reason, unknown_address)) << a.reason;
}

TEST_F(service_test, config_file_name_of_another_model_is_404) {
  // The ATA is a G502N: IP542N.conf is not its file.
  const auto a = service_->resolve(http_get("IP542N.conf", ata_address));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.body);
}

TEST_F(service_test, config_file_name_of_a_disabled_device_is_404) {
  const auto a = service_->resolve(http_get("IP542N.conf", "192.0.2.14"));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.body);
}

TEST_F(service_test, client_identity_resolves_config_file_name_without_an_address) {
  const auto a = service_->resolve(https_get("IP542N.conf", phone, unknown_address));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.device, phone);
  EXPECT_EQ(*a.body, rendered(phone));
}

// ---- client certificate identity -------------------------------------------

TEST_F(service_test, another_devices_file_is_403_naming_both_macs) {
  const auto a = service_->resolve(https_get(file_of(phone), ata));
  EXPECT_EQ(a.kind, answer_kind::refusal);
  EXPECT_EQ(a.status, 403);
  EXPECT_FALSE(a.body);
  EXPECT_TRUE(contains(a.reason, "00:21:f2:22:ae:f1")) << a.reason;
  EXPECT_TRUE(contains(a.reason, "00:21:f2:01:1b:19")) << a.reason;
}

TEST_F(service_test, the_devices_own_file_with_its_certificate_is_200) {
  const auto a = service_->resolve(https_get(file_of(phone), phone));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.device, phone);
  EXPECT_EQ(*a.body, rendered(phone));
}

TEST_F(service_test, a_certificate_does_not_win_over_the_address_of_another_device) {
  // The ATA's certificate asking for IP542N.conf from the phone's address:
  // the certificate names the device, and it is not an IP542N.
  const auto a = service_->resolve(https_get("IP542N.conf", ata, phone_address));
  EXPECT_NE(a.status, 200);
  EXPECT_FALSE(a.body);
}

// ---- User-Agent hint ---------------------------------------------------------

TEST_F(service_test, a_user_agent_naming_another_mac_is_403) {
  auto r = http_get(file_of(phone));
  r.user_agent = "Flyingvoice FIP13G V0.6.24 00:21:F2:22:AE:F1";
  const auto a = service_->resolve(r);
  EXPECT_EQ(a.status, 403);
  EXPECT_FALSE(a.body);
  EXPECT_TRUE(contains(a.reason, "00:21:f2:22:ae:f1")) << a.reason;
  EXPECT_TRUE(contains(a.reason, "00:21:f2:01:1b:19")) << a.reason;
}

TEST_F(service_test, a_user_agent_naming_the_same_mac_is_200) {
  auto r = http_get(file_of(phone));
  r.user_agent = "Flyingvoice FIP13G V0.6.24 00:21:F2:01:1B:19";
  const auto a = service_->resolve(r);
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(*a.body, rendered(phone));
}

TEST_F(service_test, a_user_agent_without_a_mac_is_no_hint) {
  auto r = http_get(file_of(phone));
  r.user_agent = "Flyingvoice FIP13G V0.6.24";
  EXPECT_EQ(service_->resolve(r).status, 200);
}

TEST_F(service_test, a_user_agent_mac_resolves_config_file_name_without_an_address) {
  auto r = http_get("IP542N.conf", unknown_address);
  r.user_agent = "Flyingvoice FIP13G V0.6.24 00:21:F2:01:1B:19";
  const auto a = service_->resolve(r);
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.device, phone);
}

TEST(mac_in_user_agent, colon_form) {
  EXPECT_EQ(mac_in_user_agent("Flyingvoice FIP13G V0.6.24 00:21:F2:22:AE:F1"), mac("00:21:f2:22:ae:f1"));
}

TEST(mac_in_user_agent, dash_form) {
  EXPECT_EQ(mac_in_user_agent("Phone/1.0 (00-21-f2-22-ae-f1)"), mac("00:21:f2:22:ae:f1"));
}

TEST(mac_in_user_agent, twelve_hex_digits_standing_alone) {
  // Cisco: "Cisco/SPA504G-7.6.2 (0021F2011B19)(CCQ...)".
  EXPECT_EQ(mac_in_user_agent("Cisco/SPA504G-7.6.2 (0021F2011B19)(CCQ1234)"), mac("00:21:f2:01:1b:19"));
}

TEST(mac_in_user_agent, twelve_hex_digits_at_the_end) {
  EXPECT_EQ(mac_in_user_agent("Device 0021f2011b19"), mac("00:21:f2:01:1b:19"));
}

TEST(mac_in_user_agent, a_version_string_is_not_a_mac) {
  EXPECT_FALSE(mac_in_user_agent("Flyingvoice FIP13G V0.6.24"));
}

TEST(mac_in_user_agent, hex_inside_a_longer_token_is_not_a_mac) {
  EXPECT_FALSE(mac_in_user_agent("Build 0021F2011B19AB"));
  EXPECT_FALSE(mac_in_user_agent("Build X0021F2011B19"));
}

TEST(mac_in_user_agent, an_empty_user_agent_has_none) { EXPECT_FALSE(mac_in_user_agent("")); }

// ---- the cache -----------------------------------------------------------------

TEST_F(service_test, a_second_resolve_is_a_cache_hit) {
  const auto first = service_->resolve(http_get(file_of(phone)));
  const auto second = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(second.status, 200) << second.reason;
  EXPECT_EQ(service_->metrics().cache_misses, 1u);
  EXPECT_EQ(service_->metrics().cache_hits, 1u);
  EXPECT_EQ(service_->metrics().renders, 1u);
  EXPECT_EQ(first.body, second.body);  // the very same buffer
}

TEST_F(service_test, a_change_through_another_inventory_object_invalidates_the_cache) {
  const auto before = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(before.status, 200) << before.reason;

  // As the CLI would, from another process: its own connection to the file.
  {
    store::inventory cli(db_path());
    cli.set_variable(store::scope::device(phone), "SIP_USER", "23199");
  }

  const auto after = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(after.status, 200) << after.reason;
  EXPECT_EQ(service_->metrics().cache_hits, 0u);
  EXPECT_EQ(service_->metrics().renders, 2u);
  EXPECT_TRUE(contains(*after.body, "DBID_SIP_ACCOUNT=23199\n"));
  EXPECT_GT(after.dbase_version, before.dbase_version);
  EXPECT_TRUE(contains(*after.body, "DBID_DBASE_VERSION=" + std::to_string(after.dbase_version) + "\n"));
}

TEST_F(service_test, the_etag_changes_with_the_version) {
  const auto before = service_->resolve(http_get(file_of(phone)));
  {
    store::inventory cli(db_path());
    cli.bump({store::scope::device(phone)});
  }
  const auto after = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(after.status, 200) << after.reason;
  EXPECT_FALSE(before.etag.empty());
  EXPECT_EQ(before.etag.front(), '"');
  EXPECT_EQ(before.etag.back(), '"');
  EXPECT_NE(before.etag, after.etag);
}

TEST_F(service_test, the_etag_is_stable_while_nothing_changes) {
  const auto first = service_->resolve(http_get(file_of(phone)));
  const auto second = service_->resolve(http_get("IP542N.conf", phone_address));
  ASSERT_EQ(second.status, 200) << second.reason;
  EXPECT_EQ(first.etag, second.etag);
}

TEST_F(service_test, the_etag_differs_when_the_current_address_changes_the_file) {
  // A device without a static address: $IP is where the request came from,
  // so two addresses give two files, which must not share a validator (a
  // 304 would keep the old address in the device's configuration).
  const auto roaming = mac("00:21:f2:55:55:55");
  add_device(roaming, "IP542N", "");
  inventory_->set_param(store::scope::device(roaming), "DBID_LOCAL_ADDRESS", "$IP");
  const auto here = service_->resolve(http_get(file_of(roaming), "192.0.2.50"));
  const auto there = service_->resolve(http_get(file_of(roaming), "192.0.2.51"));
  ASSERT_EQ(here.status, 200) << here.reason;
  ASSERT_EQ(there.status, 200) << there.reason;
  ASSERT_TRUE(contains(*here.body, "DBID_LOCAL_ADDRESS=192.0.2.50\n"));
  ASSERT_TRUE(contains(*there.body, "DBID_LOCAL_ADDRESS=192.0.2.51\n"));
  EXPECT_NE(here.etag, there.etag);
}

// ---- encrypted profiles ------------------------------------------------------------

TEST_F(service_test, an_encrypted_device_gets_openssl_salted_bytes) {
  const auto a = service_->resolve(http_get(file_of(secret)));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_TRUE(a.encrypted);
  ASSERT_TRUE(a.body);
  EXPECT_TRUE(a.body->starts_with("Salted__"));
}

TEST_F(service_test, an_encrypted_profile_decrypts_to_the_rendered_text) {
  const auto a = service_->resolve(http_get(file_of(secret)));
  ASSERT_EQ(a.status, 200) << a.reason;
  const auto decrypted = profile::decrypt_profile(*a.body, "123456");
  ASSERT_TRUE(decrypted.plain) << profile::describe(decrypted.error);
  EXPECT_EQ(*decrypted.plain, render_device_file(*inventory_, secret)->plain);
}

TEST_F(service_test, an_encrypted_profile_is_the_same_bytes_on_a_second_resolve) {
  // A fresh salt per encryption would change the bytes (and defeat ETags);
  // the cache keeps one ciphertext per version.
  const auto first = service_->resolve(http_get(file_of(secret)));
  const auto second = service_->resolve(http_get(file_of(secret)));
  ASSERT_EQ(second.status, 200) << second.reason;
  EXPECT_EQ(*first.body, *second.body);
  EXPECT_EQ(first.etag, second.etag);
}

TEST_F(service_test, a_plain_device_is_not_marked_encrypted) {
  const auto a = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_FALSE(a.encrypted);
}

// ---- record() ----------------------------------------------------------------------

TEST_F(service_test, record_writes_a_device_event) {
  const auto r = https_get(file_of(phone), phone, "192.0.2.10");
  const auto a = service_->resolve(r);
  ASSERT_EQ(a.status, 200) << a.reason;
  service_->record(r, a, 200, a.body->size(), std::chrono::milliseconds(3));

  store::event_log log(inventory_->db());
  const auto events = log.recent("00:21:f2:01:1b:19", 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].transport, "https");
  EXPECT_EQ(events[0].peer, "192.0.2.10");
  EXPECT_EQ(events[0].file, file_of(phone));
  EXPECT_EQ(events[0].status, 200);
  EXPECT_EQ(events[0].bytes, a.body->size());
  EXPECT_EQ(events[0].dbase_version, a.dbase_version);
  EXPECT_FALSE(events[0].at.empty());
}

TEST_F(service_test, record_of_a_403_names_both_macs_in_the_event) {
  const auto r = https_get(file_of(phone), ata);
  const auto a = service_->resolve(r);
  service_->record(r, a, a.status, 0, std::chrono::milliseconds(1));

  store::event_log log(inventory_->db());
  const auto events = log.recent("00:21:f2:01:1b:19", 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, 403);
  EXPECT_FALSE(events[0].dbase_version);
  EXPECT_TRUE(contains(events[0].detail, "00:21:f2:22:ae:f1")) << events[0].detail;
  EXPECT_TRUE(contains(events[0].detail, "00:21:f2:01:1b:19")) << events[0].detail;
}

TEST_F(service_test, record_of_an_unknown_device_is_an_event_of_its_mac) {
  const auto r = http_get(file_of(stranger));
  const auto a = service_->resolve(r);
  service_->record(r, a, a.status, 0, std::chrono::milliseconds(1));

  store::event_log log(inventory_->db());
  const auto events = log.recent("00:21:f2:99:99:99", 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, 404);
}

TEST_F(service_test, record_uses_the_final_status_and_detail) {
  const auto r = http_get(file_of(phone));
  const auto a = service_->resolve(r);
  service_->record(r, a, 304, 0, std::chrono::milliseconds(1), "not modified");

  store::event_log log(inventory_->db());
  const auto events = log.recent("00:21:f2:01:1b:19", 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status, 304);
  EXPECT_EQ(events[0].detail, "not modified");
}

TEST_F(service_test, record_counts_requests_by_transport_and_status) {
  const auto ok = http_get(file_of(phone));
  const auto missing = http_get(file_of(stranger));
  service_->record(ok, service_->resolve(ok), 200, 100, {});
  service_->record(ok, service_->resolve(ok), 200, 50, {});
  service_->record(missing, service_->resolve(missing), 404, 0, {});

  const auto& m = service_->metrics();
  EXPECT_EQ(m.requests.at({"http", 200}), 2u);
  EXPECT_EQ(m.requests.at({"http", 404}), 1u);
  EXPECT_EQ(m.requests.count({"https", 200}), 0u);
  EXPECT_EQ(m.bytes.at("http"), 150u);
}

TEST_F(service_test, recording_an_event_does_not_invalidate_the_cache) {
  const auto r = http_get(file_of(phone));
  service_->record(r, service_->resolve(r), 200, 1, {});
  const auto again = service_->resolve(r);
  ASSERT_EQ(again.status, 200) << again.reason;
  EXPECT_EQ(service_->metrics().cache_hits, 1u);
}

// ---- firmware ----------------------------------------------------------------------

TEST_F(service_test, a_firmware_path_gets_the_blob_and_its_size) {
  const std::string bytes = "G502N firmware image bytes";
  const auto image = add_g502n_firmware(bytes);
  const auto a = service_->resolve(http_get("firmware/G502N/1.0.7/G502_F107_S334.bin"));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.kind, answer_kind::firmware);
  EXPECT_FALSE(a.body);
  ASSERT_TRUE(a.firmware);
  EXPECT_EQ(a.firmware->disk_path, store::firmware_blob_path(data_dir_, image.sha256).string());
  EXPECT_EQ(a.firmware->size, bytes.size());
  EXPECT_EQ(a.firmware->sha256, image.sha256);
  EXPECT_EQ(a.firmware->model, "G502N");
  EXPECT_EQ(a.firmware->version, "1.0.7");
  EXPECT_FALSE(a.etag.empty());
}

TEST_F(service_test, a_firmware_path_with_a_wrong_file_name_is_404) {
  add_g502n_firmware();
  const auto a = service_->resolve(http_get("firmware/G502N/1.0.7/other.bin"));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.firmware);
}

TEST_F(service_test, firmware_of_the_certificates_own_model_is_200) {
  add_g502n_firmware();
  const auto a = service_->resolve(https_get("firmware/G502N/1.0.7/G502_F107_S334.bin", ata));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.kind, answer_kind::firmware);
  EXPECT_EQ(a.device, ata);
}

TEST_F(service_test, firmware_of_another_model_is_403_for_a_certificate) {
  add_g502n_firmware();
  const auto a = service_->resolve(https_get("firmware/G502N/1.0.7/G502_F107_S334.bin", phone));
  EXPECT_EQ(a.status, 403);
  EXPECT_FALSE(a.firmware);
  EXPECT_TRUE(contains(a.reason, "00:21:f2:01:1b:19")) << a.reason;
}

TEST_F(service_test, a_bare_firmware_name_is_resolved_by_the_peers_model) {
  const auto image = add_g502n_firmware();
  const auto a = service_->resolve(http_get("G502_F107_S334.bin", ata_address));
  ASSERT_EQ(a.status, 200) << a.reason;
  EXPECT_EQ(a.kind, answer_kind::firmware);
  ASSERT_TRUE(a.firmware);
  EXPECT_EQ(a.firmware->sha256, image.sha256);
  EXPECT_EQ(a.device, ata);
}

TEST_F(service_test, a_certificate_of_no_known_device_gets_no_firmware_by_address) {
  // The certificate names the device; the address of another device does
  // not stand in for it.
  add_g502n_firmware();
  const auto a = service_->resolve(https_get("G502_F107_S334.bin", stranger, ata_address));
  EXPECT_NE(a.status, 200);
  EXPECT_FALSE(a.firmware);
  EXPECT_NE(a.device, ata);
}

TEST_F(service_test, a_bare_firmware_name_from_a_device_of_another_model_is_404) {
  add_g502n_firmware();
  const auto a = service_->resolve(http_get("G502_F107_S334.bin", phone_address));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.firmware);
}

TEST_F(service_test, a_bare_firmware_name_from_an_unknown_address_is_404) {
  add_g502n_firmware();
  const auto a = service_->resolve(http_get("G502_F107_S334.bin", unknown_address));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.firmware);
}

TEST_F(service_test, firmware_missing_on_disk_is_404) {
  const auto image = add_g502n_firmware();
  fs::remove(store::firmware_blob_path(data_dir_, image.sha256));
  const auto a = service_->resolve(http_get("firmware/G502N/1.0.7/G502_F107_S334.bin"));
  EXPECT_EQ(a.status, 404);
  EXPECT_FALSE(a.firmware);
}

// ---- batched events, the in-memory snapshot ----------------------------------------------

TEST_F(service_test, with_a_scheduler_events_wait_for_flush_events) {
  int scheduled = 0;
  service_->set_event_flush_scheduler([&] { ++scheduled; });
  store::event_log log(inventory_->db());
  for (int i = 0; i < 3; ++i) {
    const auto r = http_get(file_of(phone), phone_address);
    const auto a = service_->resolve(r);
    service_->record(r, a, a.status, 0, std::chrono::milliseconds(1));
  }
  EXPECT_EQ(scheduled, 1) << "one flush is scheduled for the first event of a batch";
  EXPECT_TRUE(log.recent("00:21:f2:01:1b:19", 10).empty()) << "nothing is written before the flush";
  EXPECT_EQ(service_->event_stats().pending, 3u);

  service_->flush_events();
  const auto events = log.recent("00:21:f2:01:1b:19", 10);
  ASSERT_EQ(events.size(), 1u) << "three equal answers are one row";
  EXPECT_EQ(events[0].repeats, 3u);
  EXPECT_EQ(service_->event_stats().written, 3u);
  EXPECT_EQ(service_->event_stats().pending, 0u);
  EXPECT_EQ(events[0].file, file_of(phone));

  const auto r = http_get(file_of(ata), ata_address);
  service_->record(r, service_->resolve(r), 200, 0, std::chrono::milliseconds(1));
  EXPECT_EQ(scheduled, 2) << "the next batch schedules its own flush";
}

TEST_F(service_test, destroying_the_service_writes_queued_events) {
  service_->set_event_flush_scheduler([] {});
  const auto r = http_get(file_of(phone), phone_address);
  service_->record(r, service_->resolve(r), 200, 0, std::chrono::milliseconds(1));
  service_.reset();
  EXPECT_EQ(store::event_log(inventory_->db()).recent("00:21:f2:01:1b:19", 10).size(), 1u);
}

TEST_F(service_test, a_change_by_another_connection_is_seen_by_the_next_request) {
  const auto before = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(before.status, 200) << before.reason;
  {
    // The CLI: another connection to the same file.
    store::inventory cli(db_path());
    store::device_changes disable;
    disable.enabled = false;
    cli.update_device(phone, disable);
  }
  EXPECT_EQ(service_->resolve(http_get(file_of(phone))).status, 404);
  {
    store::inventory cli(db_path());
    store::device_changes enable;
    enable.enabled = true;
    cli.update_device(phone, enable);
    cli.set_variable(store::scope::device(phone), "SIP_USER", "99999");
  }
  const auto after = service_->resolve(http_get(file_of(phone)));
  ASSERT_EQ(after.status, 200) << after.reason;
  EXPECT_GT(after.dbase_version, before.dbase_version);
  EXPECT_TRUE(contains(*after.body, "DBID_SIP_ACCOUNT=99999")) << *after.body;
}

TEST_F(service_test, certificate_acceptable_follows_revocation_by_another_connection) {
  store::certificates(inventory_->db()).record({"8A01", phone.colon_lower(), store::certificate_kind::device, "a", "b"});
  EXPECT_TRUE(service_->certificate_acceptable("8a:01"));
  EXPECT_FALSE(service_->certificate_acceptable("8A02")) << "never recorded";
  {
    store::inventory cli(db_path());
    ASSERT_EQ(store::certificates(cli.db()).revoke("8A01").size(), 1u);
  }
  EXPECT_FALSE(service_->certificate_acceptable("8A01")) << "revoked: refused on the next handshake";
}


}  // namespace
}  // namespace provbox::provisioning
