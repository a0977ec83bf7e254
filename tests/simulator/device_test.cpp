// provbox-sim's pure parts: rules, URLs, macros, the KEY=VALUE file and the
// keys that change the device's own settings, firmware paths, the report.
#include "tests/simulator/device.hpp"

#include <gtest/gtest.h>

#include "tests/simulator/report.hpp"

namespace provbox::sim {
namespace {

TEST(Rule, KeyInBracketsThenTheUrl) {
  auto r = parse_rule("  [--key 123456] http://10.0.0.1/fv$(MAU).conf ");
  ASSERT_TRUE(r.key);
  EXPECT_EQ(*r.key, "123456");
  EXPECT_EQ(r.url, "http://10.0.0.1/fv$(MAU).conf");
}

TEST(Rule, NoBracketsNoKey) {
  auto r = parse_rule("tftp://prov.call.com/cpe/CW$MA.conf");
  EXPECT_FALSE(r.key);
  EXPECT_EQ(r.url, "tftp://prov.call.com/cpe/CW$MA.conf");
}

TEST(Rule, UnknownOptionsAreIgnored) {
  auto r = parse_rule("[--uid u --pwd p --key K]/x.conf");
  ASSERT_TRUE(r.key);
  EXPECT_EQ(*r.key, "K");
  EXPECT_EQ(r.url, "/x.conf");
}

TEST(Url, SchemeHostPortPath) {
  std::string why;
  auto u = parse_url("http://neptune.speak.net:8080/prov/IP542N/0021F2011B19.conf", "", why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "neptune.speak.net");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/prov/IP542N/0021F2011B19.conf");
}

TEST(Url, DefaultPortsPerScheme) {
  std::string why;
  EXPECT_EQ(parse_url("tftp://a/x", "", why)->port, 69);
  EXPECT_EQ(parse_url("http://a/x", "", why)->port, 80);
  EXPECT_EQ(parse_url("HTTPS://a/x", "", why)->port, 443);
  EXPECT_EQ(parse_url("HTTPS://a/x", "", why)->scheme, "https");
}

TEST(Url, NoSchemeIsTftpAndNoServerIsTheOption66Server) {
  std::string why;
  auto u = parse_url("/IP542N.bin", "10.77.0.1", why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->scheme, "tftp");
  EXPECT_EQ(u->host, "10.77.0.1");
  EXPECT_EQ(u->port, 69);
  EXPECT_EQ(u->path, "/IP542N.bin");
  auto with_port = parse_url("/x", "127.0.0.1:6969", why);
  ASSERT_TRUE(with_port) << why;
  EXPECT_EQ(with_port->port, 6969);
}

TEST(Url, ErrorsSayWhy) {
  std::string why;
  EXPECT_FALSE(parse_url("ftp://a/x", "", why));
  EXPECT_NE(why.find("ftp"), std::string::npos);
  EXPECT_FALSE(parse_url("/x", "", why));
  EXPECT_NE(why.find("option 66"), std::string::npos);
  EXPECT_FALSE(parse_url("http://a:0/x", "", why));
  EXPECT_FALSE(parse_url("http://a:70000/x", "", why));
  EXPECT_FALSE(parse_url("http://a:8x/x", "", why));
  EXPECT_FALSE(parse_url("http://:80/x", "", why));
}

TEST(Identity, MacSpellingsAndMacros) {
  auto mac = parse_mac("00-21-F2-01-1B-19");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, 0x0021f2011b19ULL);
  EXPECT_FALSE(parse_mac("00:21:f2:01:1b"));
  EXPECT_FALSE(parse_mac("zz:21:f2:01:1b:19"));
  auto who = make_identity(*mac + 1, "IP542N", "SIM");
  EXPECT_EQ(who.mac, "00:21:f2:01:1b:1a");
  EXPECT_EQ(who.ma, "0021f2011b1a");
  EXPECT_EQ(who.mau, "0021F2011B1A");
  EXPECT_EQ(who.serial, "SIM0021F2011B1A");
  who.ip = "10.77.1.5";
  who.sw = "v3.3.8";
  who.hw = "v1.0.1";
  EXPECT_EQ(expand(who, "http://h/fv$(MAU).conf?ip=$IP&pn=$PN&sn=$SN&m=$MAC&a=$MA&s=$SWVER&w=$HWVER&u=$UNKNOWN"),
            "http://h/fv0021F2011B1A.conf?ip=10.77.1.5&pn=IP542N&sn=SIM0021F2011B1A"
            "&m=00:21:f2:01:1b:1a&a=0021f2011b1a&s=v3.3.8&w=v1.0.1&u=$UNKNOWN");
}

TEST(KeyValues, LinesCommentsAndCrLf) {
  auto kv = parse_key_values(
      "# comment\r\nDBID_DBASE_VERSION=7\r\nDBID_SIP_ENABLE=1\t0\t0\t0\n=orphan\nno equals\n"
      "DBID_EMPTY=\nDBID_DBASE_VERSION=8");
  EXPECT_EQ(kv.size(), 3u);
  EXPECT_EQ(kv["DBID_DBASE_VERSION"], "8");  // the last wins
  EXPECT_EQ(kv["DBID_SIP_ENABLE"], "1\t0\t0\t0");
  EXPECT_EQ(kv["DBID_EMPTY"], "");
}

TEST(OwnSettings, TheFileMovesTheDeviceFromOption66ToTheProfileRule) {
  settings s;
  ASSERT_TRUE(s.option66);
  apply_own_settings(s, {{"DBID_PRV_OPTION66_ENABLED", "0"},
                         {"DBID_PRV_PROFILE_RULE", "https://h/fv$(MAU).conf"},
                         {"DBID_PRV_CONFIG_FILE_NAME", "X.conf"},
                         {"DBID_PRV_RESYNC_PERIODIC", "60"},
                         {"DBID_PRV_RESYNC_ERROR_RETRY_DELAY", "5"}});
  EXPECT_FALSE(s.option66);
  EXPECT_EQ(s.profile_rule, "https://h/fv$(MAU).conf");
  EXPECT_EQ(s.config_file, "X.conf");
  EXPECT_EQ(s.periodic_s, 60);
  EXPECT_EQ(s.error_retry_s, 5);
}

TEST(OwnSettings, UpgradeKeys) {
  settings s;
  apply_own_settings(s, {{"DBID_PRV_UPGRADE_RULE", "http://h/firmware/IP542N/1.0.7/f.bin"},
                         {"DBID_PRV_UPGRADE_ENABLE", "Enable"},
                         {"DBID_PRV_UPGRADE_ERROR_RETRY_DELAY", "2"},
                         {"DBID_PRV_RESYNC_AFTER_UPGRADE", "0"}});
  EXPECT_EQ(s.upgrade_rule, "http://h/firmware/IP542N/1.0.7/f.bin");
  EXPECT_TRUE(s.upgrade_enable);
  EXPECT_EQ(s.upgrade_error_retry_s, 2);
  EXPECT_FALSE(s.resync_after_upgrade);
}

TEST(OwnSettings, BadNumbersLeaveTheSettingAlone) {
  settings s;
  apply_own_settings(s, {{"DBID_PRV_RESYNC_PERIODIC", "soon"},
                         {"DBID_PRV_RESYNC_ERROR_RETRY_DELAY", "-5"},
                         {"DBID_PRV_UPGRADE_ERROR_RETRY_DELAY", "99999999999999"}});
  EXPECT_EQ(s.periodic_s, 3600);
  EXPECT_EQ(s.error_retry_s, 3600);
  EXPECT_EQ(s.upgrade_error_retry_s, 3600);
}

TEST(OwnSettings, Truthy) {
  EXPECT_TRUE(truthy("1"));
  EXPECT_TRUE(truthy("YES"));
  EXPECT_TRUE(truthy(" enable "));
  EXPECT_FALSE(truthy("0"));
  EXPECT_FALSE(truthy("no"));
  EXPECT_FALSE(truthy(""));
}

TEST(Firmware, VersionFromProvboxPaths) {
  EXPECT_EQ(firmware_version_of("/firmware/G502N/1.0.7/G502_F107_S334.bin"), "1.0.7");
  EXPECT_EQ(firmware_version_of("firmware/IP542N/v3.4/IP542N.bin"), "v3.4");
  EXPECT_FALSE(firmware_version_of("/IP542N.bin"));
  EXPECT_FALSE(firmware_version_of("/firmware/IP542N/IP542N.bin"));
  EXPECT_FALSE(firmware_version_of("/firmware/IP542N//x.bin"));
  EXPECT_FALSE(firmware_version_of("/firmware/IP542N/1.0/x.bin/more"));
  EXPECT_FALSE(firmware_version_of("/other/IP542N/1.0/x.bin"));
}

TEST(Firmware, Sha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Report, TotalsFirstAndLastProvisioned) {
  std::vector<std::unique_ptr<device_state>> devices;
  for (double at : {4.0, -1.0, 2.5}) {
    auto d = std::make_unique<device_state>();
    d->first_apply_s = at;
    if (at >= 0) d->applied_version = "1";
    d->failures = 1;
    devices.push_back(std::move(d));
  }
  devices[0]->upgrades = 2;
  auto t = sum(devices);
  EXPECT_EQ(t.devices, 3u);
  EXPECT_EQ(t.provisioned, 2u);
  EXPECT_EQ(t.failures, 3u);
  EXPECT_EQ(t.upgrades, 2u);
  EXPECT_DOUBLE_EQ(t.first_apply_s, 2.5);
  EXPECT_DOUBLE_EQ(t.last_apply_s, 4.0);
  auto without = report_json(devices, false, false, 1.0);
  EXPECT_EQ(without.find("\"devices\": ["), std::string::npos);
  EXPECT_NE(without.find("\"last_apply_s\": 4.000"), std::string::npos);
  auto with = report_json(devices, true, true, 1.0);
  EXPECT_NE(with.find("\"devices\": ["), std::string::npos);
  EXPECT_NE(with.find("\"final\": true"), std::string::npos);
}

}  // namespace
}  // namespace provbox::sim
