// Firmware images: the URL path, blob storage by SHA-256, and the rows.
#include "store/firmware.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "store/inventory.hpp"
#include "tests/support/temp_folder.hpp"

namespace provbox::store {
namespace {

namespace fs = std::filesystem;

// FIPS 180-2 appendix B test vectors.
constexpr const char* sha256_of_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* sha256_of_nothing = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* sha256_of_million_a = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

std::string openssl_sha256(const std::string& bytes) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), hash, &size, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    hex += digits[hash[i] >> 4];
    hex += digits[hash[i] & 0x0f];
  }
  return hex;
}

// Not a multiple of the 64 KiB copy buffer, so the last chunk is partial.
std::string pattern_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return bytes;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class firmware_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_dir_ = root_ / "data";
    inventory_ = std::make_unique<inventory>((root_ / "provbox.db").string());
    inventory_->add_model({"G502N", "G502N.conf", {"fv$(MAU).conf"}, "", 0});
    inventory_->add_model({"IP542N", "IP542N.conf", {}, "", 0});
  }
  void TearDown() override {
    inventory_.reset();
  }

  database& db() { return inventory_->db(); }

  fs::path write_source(const std::string& name, const std::string& bytes) {
    const auto path = root_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  firmware_record image(std::string model, std::string version, std::string file_name,
                        std::string sha256 = sha256_of_abc, std::uint64_t size = 3) {
    firmware_record r;
    r.model = std::move(model);
    r.version = std::move(version);
    r.file_name = std::move(file_name);
    r.sha256 = std::move(sha256);
    r.size = size;
    return r;
  }

  std::string model_firmware_version(const std::string& model) {
    auto stmt = db().prepare("SELECT firmware_version FROM models WHERE name = ?1");
    stmt.bind_all(model);
    stmt.step();
    return stmt.text(0);
  }

  std::vector<fs::path> files_in_blob_folder() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(data_dir_ / "firmware")) files.push_back(entry.path());
    return files;
  }

  provbox::test_support::temp_folder folder_{"provbox-firmware"};
  const fs::path& root_ = folder_.path();
  fs::path data_dir_;
  std::unique_ptr<inventory> inventory_;
};

// ---- the URL path ----------------------------------------------------------------

TEST(firmware_url_path, is_model_version_and_file_name_under_firmware) {
  EXPECT_EQ(firmware_url_path("G502N", "1.0.7", "G502_F107_S334.bin"), "firmware/G502N/1.0.7/G502_F107_S334.bin");
}

TEST(firmware_url_path, parses_back_to_its_parts) {
  const auto parsed = parse_firmware_url_path(firmware_url_path("SPA-112", "1.4.1_SR5", "spa112-1-4-1.bin"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->model, "SPA-112");
  EXPECT_EQ(parsed->version, "1.4.1_SR5");
  EXPECT_EQ(parsed->file_name, "spa112-1-4-1.bin");
}

TEST(firmware_url_path, accepts_the_leading_slash_of_an_http_target) {
  const auto parsed = parse_firmware_url_path("/firmware/G502N/1.0.7/a.bin");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->file_name, "a.bin");
}

TEST(firmware_url_path, refuses_paths_that_could_leave_the_folder_or_need_decoding) {
  for (const char* path : {
           "firmware/G502N/../a.bin",          "firmware/G502N/1.0/..",
           "firmware/../1.0/a.bin",            "firmware/G502N/./a.bin",
           "firmware/G502N/1.0/.",             "firmware/G502N/1.0/a/b.bin",
           "firmware/G502N/1.0/",              "firmware/G502N//a.bin",
           "firmware//1.0/a.bin",              "firmware/G502N/1.0",
           "firmware/G502N/1.0/%2e%2e",        "firmware/G502N/1.0/a.bin?x=1",
           "firmware/G502N/1.0/a\\b.bin",      "//firmware/G502N/1.0/a.bin",
           "Firmware/G502N/1.0/a.bin",         "firmwareG502N/1.0/a.bin",
           "",                                 "/",
           "firmware/",                        "G502N/1.0/a.bin",
       })
    EXPECT_FALSE(parse_firmware_url_path(path)) << path;
  EXPECT_FALSE(parse_firmware_url_path(std::string("firmware/G502N/1.0/a\0.bin", 25)));
  EXPECT_FALSE(parse_firmware_url_path("firmware/G502N/1.0/" + std::string(129, 'a')));
  EXPECT_TRUE(parse_firmware_url_path("firmware/G502N/1.0/" + std::string(128, 'a')));
}

TEST(firmware_url_path, refuses_to_build_from_unsafe_names) {
  EXPECT_THROW(firmware_url_path("G502N", "..", "a.bin"), store_error);
  EXPECT_THROW(firmware_url_path("G502N", "1.0", "../a.bin"), store_error);
  EXPECT_THROW(firmware_url_path("G502N", "1.0", "dir/a.bin"), store_error);
  EXPECT_THROW(firmware_url_path("G502N", "", "a.bin"), store_error);
  EXPECT_THROW(firmware_url_path("G502N", "1.0", ""), store_error);
  EXPECT_THROW(firmware_url_path("..", "1.0", "a.bin"), store_error);
  EXPECT_THROW(firmware_url_path("G502N", "1 0", "a.bin"), store_error);
}

// ---- blobs --------------------------------------------------------------------------

TEST_F(firmware_test, blob_hash_matches_the_standard_test_vectors) {
  EXPECT_EQ(store_firmware_blob(data_dir_, write_source("abc", "abc")).sha256, sha256_of_abc);
  EXPECT_EQ(store_firmware_blob(data_dir_, write_source("empty", "")).sha256, sha256_of_nothing);
  // A million bytes: sixteen buffers and a partial one.
  const auto blob = store_firmware_blob(data_dir_, write_source("million", std::string(1'000'000, 'a')));
  EXPECT_EQ(blob.sha256, sha256_of_million_a);
  EXPECT_EQ(blob.size, 1'000'000u);
}

TEST_F(firmware_test, blob_is_a_byte_exact_copy_named_by_its_hash) {
  const auto bytes = pattern_bytes(3 * 64 * 1024 + 17);
  const auto blob = store_firmware_blob(data_dir_, write_source("image.bin", bytes));
  EXPECT_EQ(blob.sha256, openssl_sha256(bytes));
  EXPECT_EQ(blob.size, bytes.size());
  EXPECT_TRUE(blob.created);
  const auto path = firmware_blob_path(data_dir_, blob.sha256);
  EXPECT_EQ(path, data_dir_ / "firmware" / blob.sha256);
  EXPECT_EQ(read_all(path), bytes);
  // Only the blob: the temporary file was renamed, not left behind.
  EXPECT_EQ(files_in_blob_folder(), std::vector<fs::path>{path});
}

TEST_F(firmware_test, blob_of_the_same_bytes_is_stored_once) {
  const auto bytes = pattern_bytes(100'000);
  const auto first = store_firmware_blob(data_dir_, write_source("a.bin", bytes));
  struct stat before {};
  ASSERT_EQ(::stat(firmware_blob_path(data_dir_, first.sha256).c_str(), &before), 0);
  const auto second = store_firmware_blob(data_dir_, write_source("b.bin", bytes));
  EXPECT_EQ(second.sha256, first.sha256);
  EXPECT_FALSE(second.created);
  struct stat after {};
  ASSERT_EQ(::stat(firmware_blob_path(data_dir_, first.sha256).c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // kept, not replaced
  EXPECT_EQ(files_in_blob_folder().size(), 1u);
}

TEST_F(firmware_test, blob_of_the_wrong_size_is_replaced) {
  const auto bytes = pattern_bytes(70'000);
  const auto path = firmware_blob_path(data_dir_, openssl_sha256(bytes));
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << "truncated";
  const auto blob = store_firmware_blob(data_dir_, write_source("a.bin", bytes));
  EXPECT_TRUE(blob.created);
  EXPECT_EQ(read_all(path), bytes);
}

TEST_F(firmware_test, blob_source_must_be_a_readable_regular_file) {
  EXPECT_THROW(store_firmware_blob(data_dir_, root_ / "missing.bin"), store_error);
  EXPECT_THROW(store_firmware_blob(data_dir_, root_), store_error);  // a folder
  const auto fifo = root_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(store_firmware_blob(data_dir_, fifo), store_error);  // refused, not blocked on
  EXPECT_TRUE(files_in_blob_folder().empty());
}

TEST(firmware_blob_path, refuses_anything_but_a_sha256) {
  EXPECT_THROW(firmware_blob_path("/data", "../etc/passwd"), store_error);
  EXPECT_THROW(firmware_blob_path("/data", std::string(64, 'A')), store_error);  // upper case
  EXPECT_THROW(firmware_blob_path("/data", std::string(63, 'a')), store_error);
  EXPECT_EQ(firmware_blob_path("/data", sha256_of_abc), fs::path("/data/firmware") / sha256_of_abc);
}

// ---- rows -----------------------------------------------------------------------------

TEST_F(firmware_test, add_makes_the_version_current_and_moves_the_revision) {
  const auto revision = inventory_->revision();
  const auto model_revision = inventory_->find_model("G502N")->revision;
  const auto added = add_firmware(db(), image("G502N", "1.0.7", "G502_F107_S334.bin"));
  EXPECT_EQ(added.model, "G502N");
  EXPECT_EQ(added.sha256, sha256_of_abc);
  EXPECT_EQ(added.size, 3u);
  EXPECT_TRUE(added.current);
  EXPECT_FALSE(added.added_at.empty());
  EXPECT_EQ(model_firmware_version("G502N"), "1.0.7");
  EXPECT_GT(inventory_->revision(), revision);
  // The Upgrade Rule in the model's files changes, so their version must rise.
  EXPECT_GT(inventory_->find_model("G502N")->revision, model_revision);
}

TEST_F(firmware_test, add_without_activation_leaves_the_current_version) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  const auto revision = inventory_->revision();
  const auto added = add_firmware(db(), image("G502N", "1.0.8", "b.bin"), false);
  EXPECT_FALSE(added.current);
  EXPECT_EQ(model_firmware_version("G502N"), "1.0.7");
  EXPECT_GT(inventory_->revision(), revision);  // the daemon still learns of the new image
}

TEST_F(firmware_test, add_uses_the_models_own_spelling) {
  EXPECT_EQ(add_firmware(db(), image("g502n", "1.0.7", "a.bin")).model, "G502N");
}

TEST_F(firmware_test, duplicate_version_is_refused_and_changes_nothing) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  const auto revision = inventory_->revision();
  EXPECT_THROW(add_firmware(db(), image("G502N", "1.0.7", "other.bin", sha256_of_nothing, 0)), store_error);
  EXPECT_EQ(inventory_->revision(), revision);
  ASSERT_EQ(list_firmware(db()).size(), 1u);
  EXPECT_EQ(list_firmware(db()).front().file_name, "a.bin");
}

TEST_F(firmware_test, same_version_for_another_model_is_fine) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  EXPECT_NO_THROW(add_firmware(db(), image("IP542N", "1.0.7", "a.bin")));
}

TEST_F(firmware_test, add_refuses_unknown_models_and_bad_names) {
  const auto revision = inventory_->revision();
  EXPECT_THROW(add_firmware(db(), image("SPA112", "1.0", "a.bin")), store_error);
  EXPECT_THROW(add_firmware(db(), image("G502N", "..", "a.bin")), store_error);
  EXPECT_THROW(add_firmware(db(), image("G502N", "1.0", "x/a.bin")), store_error);
  EXPECT_THROW(add_firmware(db(), image("G502N", "1.0", "a.bin", "not-a-hash")), store_error);
  EXPECT_EQ(inventory_->revision(), revision);
  EXPECT_TRUE(list_firmware(db()).empty());
}

TEST_F(firmware_test, list_orders_by_model_then_by_when_added) {
  add_firmware(db(), image("IP542N", "2.0", "ip.bin"));
  add_firmware(db(), image("G502N", "1.0.9", "c.bin"));
  add_firmware(db(), image("G502N", "1.0.10", "d.bin"), false);
  const auto all = list_firmware(db());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].version, "1.0.9");
  EXPECT_TRUE(all[0].current);
  EXPECT_EQ(all[1].version, "1.0.10");
  EXPECT_FALSE(all[1].current);
  EXPECT_EQ(all[2].model, "IP542N");
  const auto ip = list_firmware(db(), "ip542n");
  ASSERT_EQ(ip.size(), 1u);
  EXPECT_EQ(ip[0].file_name, "ip.bin");
  EXPECT_THROW(list_firmware(db(), "SPA112"), store_error);
}

TEST_F(firmware_test, find_by_model_and_version) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  ASSERT_TRUE(find_firmware(db(), "G502N", "1.0.7"));
  EXPECT_EQ(find_firmware(db(), "G502N", "1.0.7")->file_name, "a.bin");
  EXPECT_FALSE(find_firmware(db(), "G502N", "1.0.8"));
  EXPECT_FALSE(find_firmware(db(), "IP542N", "1.0.7"));
}

TEST_F(firmware_test, find_by_path_needs_the_file_name_the_rule_names) {
  add_firmware(db(), image("G502N", "1.0.7", "G502_F107_S334.bin"));
  const auto found = find_firmware_by_path(db(), "/firmware/G502N/1.0.7/G502_F107_S334.bin");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->version, "1.0.7");
  EXPECT_FALSE(find_firmware_by_path(db(), "/firmware/G502N/1.0.7/other.bin"));
  EXPECT_FALSE(find_firmware_by_path(db(), "/firmware/G502N/1.0.8/G502_F107_S334.bin"));
  EXPECT_FALSE(find_firmware_by_path(db(), "/firmware/G502N/../G502_F107_S334.bin"));
  EXPECT_FALSE(find_firmware_by_path(db(), "/G502_F107_S334.bin"));
}

TEST_F(firmware_test, find_by_request_prefers_the_current_image_then_the_newest) {
  add_firmware(db(), image("IP542N", "1.0", "IP542N.bin"));
  add_firmware(db(), image("IP542N", "1.1", "IP542N.bin", sha256_of_nothing, 0), false);
  EXPECT_EQ(find_firmware_by_request(db(), "IP542N", "IP542N.bin")->version, "1.0");
  set_current_firmware(db(), "IP542N", "1.1");
  EXPECT_EQ(find_firmware_by_request(db(), "IP542N", "IP542N.bin")->version, "1.1");
  add_firmware(db(), image("IP542N", "1.2", "IP542N-new.bin"));  // current, other name
  EXPECT_EQ(find_firmware_by_request(db(), "IP542N", "IP542N.bin")->version, "1.1");
  EXPECT_FALSE(find_firmware_by_request(db(), "G502N", "IP542N.bin"));
  EXPECT_FALSE(find_firmware_by_request(db(), "IP542N", "../IP542N.bin"));
}

TEST_F(firmware_test, activate_switches_the_current_version_and_raises_device_versions) {
  device_record phone;
  phone.mac = *profile::mac_address::parse("00:21:f2:01:1b:19");
  phone.model = "G502N";
  inventory_->add_device(phone);
  const auto device = *inventory_->find_device(phone.mac);
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  add_firmware(db(), image("G502N", "1.0.8", "b.bin"), false);
  const auto version_before = inventory_->dbase_version(device);
  set_current_firmware(db(), "G502N", "1.0.8");
  EXPECT_EQ(model_firmware_version("G502N"), "1.0.8");
  EXPECT_TRUE(current_firmware(db(), "G502N"));
  EXPECT_EQ(current_firmware(db(), "G502N")->version, "1.0.8");
  EXPECT_FALSE(find_firmware(db(), "G502N", "1.0.7")->current);
  EXPECT_GT(inventory_->dbase_version(device), version_before);
}

TEST_F(firmware_test, activating_the_current_version_changes_nothing) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  const auto revision = inventory_->revision();
  set_current_firmware(db(), "G502N", "1.0.7");
  EXPECT_EQ(inventory_->revision(), revision);
}

TEST_F(firmware_test, activate_refuses_unknown_versions_and_models) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  EXPECT_THROW(set_current_firmware(db(), "G502N", "9.9"), store_error);
  EXPECT_THROW(set_current_firmware(db(), "SPA112", "1.0.7"), store_error);
  EXPECT_EQ(model_firmware_version("G502N"), "1.0.7");
}

TEST_F(firmware_test, remove_deletes_a_version_that_is_not_current) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  add_firmware(db(), image("G502N", "1.0.8", "b.bin"), false);
  const auto removed = remove_firmware(db(), "G502N", "1.0.8");
  EXPECT_EQ(removed.file_name, "b.bin");
  EXPECT_FALSE(find_firmware(db(), "G502N", "1.0.8"));
  EXPECT_EQ(model_firmware_version("G502N"), "1.0.7");
  EXPECT_THROW(remove_firmware(db(), "G502N", "1.0.8"), store_error);
}

TEST_F(firmware_test, remove_refuses_the_current_version_unless_forced) {
  add_firmware(db(), image("G502N", "1.0.7", "a.bin"));
  EXPECT_THROW(remove_firmware(db(), "G502N", "1.0.7"), store_error);
  EXPECT_TRUE(find_firmware(db(), "G502N", "1.0.7"));
  const auto removed = remove_firmware(db(), "G502N", "1.0.7", true);
  EXPECT_TRUE(removed.current);
  EXPECT_FALSE(find_firmware(db(), "G502N", "1.0.7"));
  EXPECT_EQ(model_firmware_version("G502N"), "");
  EXPECT_FALSE(current_firmware(db(), "G502N"));
}

TEST_F(firmware_test, removing_the_model_removes_its_firmware_rows) {
  add_firmware(db(), image("IP542N", "1.0", "a.bin"));
  inventory_->remove_model("IP542N");
  EXPECT_TRUE(list_firmware(db()).empty());
  EXPECT_FALSE(firmware_blob_in_use(db(), sha256_of_abc));
}

// ---- import and delete: rows and blobs together ------------------------------------------

TEST_F(firmware_test, import_stores_the_blob_and_the_row) {
  const auto bytes = pattern_bytes(200'000);
  const auto added =
      import_firmware(db(), data_dir_, write_source("G502_F107_S334.bin", bytes), image("G502N", "1.0.7", "G502_F107_S334.bin", "", 0));
  EXPECT_EQ(added.sha256, openssl_sha256(bytes));
  EXPECT_EQ(added.size, bytes.size());
  EXPECT_EQ(read_all(firmware_blob_path(data_dir_, added.sha256)), bytes);
}

TEST_F(firmware_test, failed_import_removes_the_blob_it_created) {
  import_firmware(db(), data_dir_, write_source("a.bin", "abc"), image("G502N", "1.0.7", "a.bin", "", 0));
  const auto other = pattern_bytes(5000);
  EXPECT_THROW(
      import_firmware(db(), data_dir_, write_source("b.bin", other), image("G502N", "1.0.7", "b.bin", "", 0)),
      store_error);
  EXPECT_FALSE(fs::exists(firmware_blob_path(data_dir_, openssl_sha256(other))));
  EXPECT_TRUE(fs::exists(firmware_blob_path(data_dir_, sha256_of_abc)));
  EXPECT_EQ(files_in_blob_folder().size(), 1u);
}

TEST_F(firmware_test, failed_import_keeps_a_blob_another_row_uses) {
  import_firmware(db(), data_dir_, write_source("a.bin", "abc"), image("G502N", "1.0.7", "a.bin", "", 0));
  EXPECT_THROW(
      import_firmware(db(), data_dir_, write_source("a.bin", "abc"), image("G502N", "1.0.7", "a.bin", "", 0)),
      store_error);
  EXPECT_TRUE(fs::exists(firmware_blob_path(data_dir_, sha256_of_abc)));
}

TEST_F(firmware_test, import_restores_a_blob_that_vanished) {
  const auto source = write_source("a.bin", "abc");
  import_firmware(db(), data_dir_, source, image("G502N", "1.0.7", "a.bin", "", 0));
  fs::remove(firmware_blob_path(data_dir_, sha256_of_abc));
  import_firmware(db(), data_dir_, source, image("IP542N", "1.0", "a.bin", "", 0));
  EXPECT_EQ(read_all(firmware_blob_path(data_dir_, sha256_of_abc)), "abc");
}

TEST_F(firmware_test, delete_keeps_a_shared_blob_until_its_last_row_goes) {
  const auto source = write_source("a.bin", "abc");
  import_firmware(db(), data_dir_, source, image("G502N", "1.0.7", "a.bin", "", 0));
  import_firmware(db(), data_dir_, source, image("IP542N", "1.0", "a.bin", "", 0));
  const auto blob = firmware_blob_path(data_dir_, sha256_of_abc);

  const auto first = delete_firmware(db(), data_dir_, "IP542N", "1.0", true);
  EXPECT_FALSE(first.blob_removed);
  EXPECT_TRUE(fs::exists(blob));

  EXPECT_THROW(delete_firmware(db(), data_dir_, "G502N", "1.0.7"), store_error);  // current
  EXPECT_TRUE(fs::exists(blob));
  const auto last = delete_firmware(db(), data_dir_, "G502N", "1.0.7", true);
  EXPECT_TRUE(last.blob_removed);
  EXPECT_FALSE(fs::exists(blob));
}

}  // namespace
}  // namespace provbox::store
