#pragma once
// Firmware images: rows in the `firmware` table, blobs in the data folder
// named by their SHA-256, and the one URL path devices fetch them by.
//
// A device upgrades from its Upgrade Rule, e.g.
// `http://SERVER/firmware/G502N/1.0.7/G502_F107_S334.bin`. Cisco devices do
// not retry an upgrade until the rule's URL changes, so every version has its
// own path; the version is part of it. Devices do not upgrade over HTTPS, so
// the rule is HTTP or TFTP.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace provbox::store {

struct firmware_record {
  std::string model;      // the model's name as the inventory spells it
  std::string version;    // 1.0.7
  std::string file_name;  // G502_F107_S334.bin: the last segment of the URL path
  std::string sha256;     // 64 lowercase hex digits; also the blob's name
  std::uint64_t size = 0;
  std::string added_at;   // UTC, ISO 8601
  bool current = false;   // the version the model's devices should run
};

// ---- names and the URL path -----------------------------------------------

// Versions and file names: 1..128 of [A-Za-z0-9_.-], not "." or "..". They
// become URL path segments as they are, so nothing ever needs encoding.
bool is_valid_firmware_version(std::string_view version);
bool is_valid_firmware_file_name(std::string_view name);
// A model name that can also be a path segment (so not "." or "..").
bool is_valid_firmware_model(std::string_view model);

// `firmware/<model>/<version>/<file_name>`, without a leading '/'. Throws
// store_error for names that break the rules above (stored rows never do).
std::string firmware_url_path(std::string_view model, std::string_view version, std::string_view file_name);

struct firmware_path {
  std::string model;
  std::string version;
  std::string file_name;
};
// The inverse; accepts one leading '/' (HTTP targets have it, TFTP names may
// not). Anything else (more or fewer segments, "..", '%', a query) is nullopt.
std::optional<firmware_path> parse_firmware_url_path(std::string_view path);

// ---- blobs ------------------------------------------------------------------

struct firmware_blob {
  std::string sha256;
  std::uint64_t size = 0;
  bool created = false;  // false when an identical blob was already stored
};

// <data_dir>/firmware/<sha256>
std::filesystem::path firmware_blob_path(const std::filesystem::path& data_dir, std::string_view sha256);

// Copies a regular file into the data folder under its SHA-256, hashing while
// it copies, and makes it appear whole or not at all (temporary file, fsync,
// rename). An existing blob of the same content is kept. Throws store_error.
firmware_blob store_firmware_blob(const std::filesystem::path& data_dir, const std::filesystem::path& source);

// True when some firmware row still names this blob.
bool firmware_blob_in_use(database& db, std::string_view sha256);

// ---- rows -------------------------------------------------------------------

// Inserts the row (model, version, file_name, sha256, size are used) and, if
// `make_current`, makes it the model's firmware version. One transaction,
// which also moves the inventory revision so the daemon notices. Throws
// store_error for an unknown model, a duplicate version or a bad name.
firmware_record add_firmware(database& db, const firmware_record& image, bool make_current = true);

// All images (model and added order), or one model's.
std::vector<firmware_record> list_firmware(database& db, std::optional<std::string_view> model = std::nullopt);
std::optional<firmware_record> find_firmware(database& db, std::string_view model, std::string_view version);
// The model's current image, if it has one.
std::optional<firmware_record> current_firmware(database& db, std::string_view model);
// What a request path names: parsed, then the row for (model, version) if its
// file name is the one asked for.
std::optional<firmware_record> find_firmware_by_path(database& db, std::string_view url_path);
// A bare file name asked for by a device whose model is known (a TFTP rule
// such as `tftp://SERVER/IP542N.bin`): the current image if it has this name,
// else the newest image of the model with this name.
std::optional<firmware_record> find_firmware_by_request(database& db, std::string_view model,
                                                        std::string_view file_name);

// Makes a stored version current. Throws store_error if there is no such row.
void set_current_firmware(database& db, std::string_view model, std::string_view version);

// Deletes the row and returns it. The current version is refused unless
// `force`, which also leaves the model with no current version. The blob is
// the caller's to remove (when firmware_blob_in_use says nobody needs it).
firmware_record remove_firmware(database& db, std::string_view model, std::string_view version, bool force = false);

// ---- both together ----------------------------------------------------------

// store_firmware_blob then add_firmware; if the row cannot be added, a blob
// this call created is removed again, so nothing is left half-written.
firmware_record import_firmware(database& db, const std::filesystem::path& data_dir,
                                const std::filesystem::path& source, const firmware_record& image,
                                bool make_current = true);

struct removed_firmware {
  firmware_record record;
  bool blob_removed = false;  // false when another row still uses the blob
};
// remove_firmware, and the blob too when no other row names it; the blob goes
// while the write lock is held, so a concurrent import cannot adopt it midway.
removed_firmware delete_firmware(database& db, const std::filesystem::path& data_dir, std::string_view model,
                                 std::string_view version, bool force = false);

}  // namespace provbox::store
