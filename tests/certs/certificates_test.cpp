#include "store/certificates.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/inventory.hpp"
#include "tests/certs/test_support.hpp"

namespace provbox::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const auto phone = *profile::mac_address::parse("00:21:f2:01:1b:19");
const auto ata = *profile::mac_address::parse("00:21:f2:22:ae:f1");

certificate_record device_certificate(std::string serial, const profile::mac_address& mac) {
  return {std::move(serial), mac.colon_lower(), certificate_kind::device, "2026-01-01T00:00:00Z",
          "2036-01-01T00:00:00Z", "", std::nullopt};
}

std::vector<std::string> serials_of(const std::vector<certificate_record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.serial);
  return out;
}

class CertificatesTest : public ::testing::Test {
protected:
  certs::test_support::temp_folder folder_;
  inventory inventory_{(folder_.path() / "provbox.db").string()};
  certificates certificates_{inventory_.db()};
};

TEST_F(CertificatesTest, RecordedDeviceCertificateIsAcceptable) {
  certificates_.record(device_certificate("8A01", phone));
  EXPECT_TRUE(certificates_.is_acceptable("8A01"));
  // The spellings openssl prints elsewhere find it too.
  EXPECT_TRUE(certificates_.is_acceptable("8a01"));
  EXPECT_TRUE(certificates_.is_acceptable("8a:01"));
  EXPECT_TRUE(certificates_.is_acceptable("serial=8A01"));
}

TEST_F(CertificatesTest, UnknownSerialsAndServerCertificatesAreNotAcceptable) {
  certificates_.record({"9B02", "prov.example", certificate_kind::server, "a", "b", "", std::nullopt});
  EXPECT_FALSE(certificates_.is_acceptable("9B02"));
  EXPECT_FALSE(certificates_.is_acceptable("8A01"));
  EXPECT_FALSE(certificates_.is_acceptable(""));
  EXPECT_FALSE(certificates_.is_acceptable("' OR 1=1 --"));
}

TEST_F(CertificatesTest, RecordKeepsEveryFieldAndStampsTheIssueTime) {
  certificates_.record(device_certificate("8a01", phone));
  const auto found = certificates_.find("8A01");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->serial, "8A01");
  EXPECT_EQ(found->subject, "00:21:f2:01:1b:19");
  EXPECT_EQ(found->kind, certificate_kind::device);
  EXPECT_EQ(found->not_before, "2026-01-01T00:00:00Z");
  EXPECT_EQ(found->not_after, "2036-01-01T00:00:00Z");
  EXPECT_THAT(found->issued_at, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_EQ(found->revoked_at, std::nullopt);
}

TEST_F(CertificatesTest, RecordMovesTheRevision) {
  const auto before = inventory_.revision();
  certificates_.record(device_certificate("8A01", phone));
  EXPECT_EQ(inventory_.revision(), before + 1);
}

TEST_F(CertificatesTest, DuplicateOrMalformedSerialChangesNothing) {
  certificates_.record(device_certificate("8A01", phone));
  const auto revision = inventory_.revision();
  EXPECT_THROW(certificates_.record(device_certificate("8a01", ata)), store_error);
  EXPECT_THROW(certificates_.record(device_certificate("not hex", ata)), store_error);
  EXPECT_EQ(inventory_.revision(), revision);
  EXPECT_THAT(serials_of(certificates_.list()), ElementsAre("8A01"));
  EXPECT_EQ(certificates_.find("8A01")->subject, phone.colon_lower());
}

TEST_F(CertificatesTest, RevokeBySerialRefusesItFromThenOn) {
  certificates_.record(device_certificate("8A01", phone));
  certificates_.record(device_certificate("8A02", phone));
  const auto before = inventory_.revision();
  EXPECT_THAT(certificates_.revoke("8a01"), ElementsAre("8A01"));
  EXPECT_FALSE(certificates_.is_acceptable("8A01"));
  EXPECT_TRUE(certificates_.is_acceptable("8A02"));
  EXPECT_EQ(inventory_.revision(), before + 1);
  EXPECT_TRUE(certificates_.find("8A01")->revoked_at.has_value());
}

TEST_F(CertificatesTest, RevokingAgainOrUnknownChangesNothing) {
  certificates_.record(device_certificate("8A01", phone));
  certificates_.revoke("8A01");
  const auto revoked_at = certificates_.find("8A01")->revoked_at;
  const auto before = inventory_.revision();
  EXPECT_THAT(certificates_.revoke("8A01"), IsEmpty());
  EXPECT_THAT(certificates_.revoke("FFFF"), IsEmpty());
  EXPECT_THAT(certificates_.revoke("zz"), IsEmpty());
  EXPECT_THAT(certificates_.revoke_device(ata), IsEmpty());
  EXPECT_EQ(inventory_.revision(), before);
  EXPECT_EQ(certificates_.find("8A01")->revoked_at, revoked_at);
}

TEST_F(CertificatesTest, RevokeDeviceRevokesAllOfItsCertificatesAndNoOthers) {
  certificates_.record(device_certificate("8A01", phone));
  certificates_.record(device_certificate("8A02", phone));
  certificates_.record(device_certificate("8A03", ata));
  const auto before = inventory_.revision();
  EXPECT_THAT(certificates_.revoke_device(phone), UnorderedElementsAre("8A01", "8A02"));
  EXPECT_EQ(inventory_.revision(), before + 1) << "one change, one revision";
  EXPECT_FALSE(certificates_.is_acceptable("8A01"));
  EXPECT_FALSE(certificates_.is_acceptable("8A02"));
  EXPECT_TRUE(certificates_.is_acceptable("8A03"));
}

TEST_F(CertificatesTest, RevokeInsideARolledBackTransactionLeavesItAcceptable) {
  certificates_.record(device_certificate("8A01", phone));
  const auto before = inventory_.revision();
  {
    transaction outer(inventory_.db());
    certificates_.revoke("8A01");
    // destroyed without commit
  }
  EXPECT_TRUE(certificates_.is_acceptable("8A01"));
  EXPECT_EQ(inventory_.revision(), before);
}

TEST_F(CertificatesTest, ListsAllOrOneSubjects) {
  certificates_.record(device_certificate("8A01", phone));
  certificates_.record(device_certificate("8A03", ata));
  certificates_.record(device_certificate("8A02", phone));
  certificates_.revoke("8A02");
  EXPECT_THAT(serials_of(certificates_.list()), UnorderedElementsAre("8A01", "8A02", "8A03"));
  const auto phones = certificates_.list(phone.colon_lower());
  EXPECT_THAT(serials_of(phones), UnorderedElementsAre("8A01", "8A02"));
  EXPECT_THAT(certificates_.list("00:00:00:00:00:01"), IsEmpty());
}

TEST(NormalizeSerial, AcceptsOpensslSpellingsOnly) {
  EXPECT_EQ(normalize_serial("0a1B"), "0A1B");
  EXPECT_EQ(normalize_serial("0a:1b"), "0A1B");
  EXPECT_EQ(normalize_serial("serial=0A1B"), "0A1B");
  EXPECT_EQ(normalize_serial(""), std::nullopt);
  EXPECT_EQ(normalize_serial("0x0A"), std::nullopt);
  EXPECT_EQ(normalize_serial("0A 1B"), std::nullopt);
  EXPECT_EQ(normalize_serial(std::string(41, 'A')), std::nullopt);
  EXPECT_EQ(normalize_serial(std::string(40, 'A')), std::string(40, 'A'));
}

}  // namespace
}  // namespace provbox::store
