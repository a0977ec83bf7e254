#include "store/firmware.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "store/validation.hpp"

namespace provbox::store {
namespace {

namespace fs = std::filesystem;

bool is_segment_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// A URL path segment that needs no encoding and cannot climb out of a folder.
bool is_plain_segment(std::string_view s, std::size_t max_size) {
  if (s.empty() || s.size() > max_size || s == "." || s == "..") return false;
  for (char c : s)
    if (!is_segment_char(c)) return false;
  return true;
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

[[noreturn]] void fail_errno(const std::string& what) {
  throw store_error(what + ": " + std::strerror(errno));
}

// Closes a descriptor on every path out of store_firmware_blob.
class file_descriptor {
public:
  explicit file_descriptor(int fd) : fd_(fd) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // close(2) can report a failed write-back; the caller must hear of it.
  void close_checked(const std::string& what) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_errno("closing " + what);
  }

private:
  int fd_;
};

void write_all(int fd, const unsigned char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("writing " + what);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// A rename is durable only once its folder is synced.
void sync_directory(const fs::path& dir) {
  file_descriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail_errno("opening " + dir.string());
  if (::fsync(fd.get()) != 0) fail_errno("syncing " + dir.string());
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
  }
  return out;
}

// The inventory's one counter: the daemon compares it to drop stale caches.
std::int64_t next_revision(database& db) {
  auto stmt = db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value");
  stmt.step();
  const auto value = stmt.integer(0);
  stmt.run();
  return value;
}

// Changing a model's firmware version changes what its devices' files may say
// (the Upgrade Rule), so the model's revision moves with it and every
// device's DBID_DBASE_VERSION rises.
void set_model_firmware_version(database& db, std::int64_t model_id, std::string_view version) {
  db.prepare("UPDATE models SET firmware_version = ?1, revision = ?2 WHERE id = ?3")
      .bind_all(version, next_revision(db), model_id)
      .run();
}

struct model_row {
  std::int64_t id = 0;
  std::string name;
  std::string firmware_version;
};

std::optional<model_row> find_model_row(database& db, std::string_view name) {
  // models.name is COLLATE NOCASE, as everywhere else in the inventory.
  auto stmt = db.prepare("SELECT id, name, firmware_version FROM models WHERE name = ?1");
  stmt.bind_all(name);
  if (!stmt.step()) return std::nullopt;
  return model_row{stmt.integer(0), stmt.text(1), stmt.text(2)};
}

model_row require_model(database& db, std::string_view name) {
  auto model = find_model_row(db, name);
  if (!model) throw store_error("unknown model '" + std::string(name) + "'");
  return *model;
}

constexpr const char* firmware_select =
    "SELECT m.name, f.version, f.file_name, f.sha256, f.size, f.added_at, "
    "       f.version = m.firmware_version "
    "FROM firmware f JOIN models m ON m.id = f.model_id ";

firmware_record read_firmware_row(const statement& row) {
  firmware_record r;
  r.model = row.text(0);
  r.version = row.text(1);
  r.file_name = row.text(2);
  r.sha256 = row.text(3);
  r.size = static_cast<std::uint64_t>(row.integer(4));
  r.added_at = row.text(5);
  r.current = row.integer(6) != 0;
  return r;
}

std::optional<firmware_record> first_row(statement& stmt) {
  if (!stmt.step()) return std::nullopt;
  return read_firmware_row(stmt);
}

std::string describe(std::string_view model, std::string_view version) {
  return "firmware " + std::string(model) + " " + std::string(version);
}

// Unlinks a blob; a blob already gone is not an error.
void unlink_blob(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail_errno("removing " + path.string());
}

}  // namespace

// ---- names and the URL path -------------------------------------------------

bool is_valid_firmware_version(std::string_view version) { return is_plain_segment(version, 128); }
bool is_valid_firmware_file_name(std::string_view name) { return is_plain_segment(name, 128); }
bool is_valid_firmware_model(std::string_view model) {
  return is_valid_model_name(model) && model != "." && model != "..";
}

std::string firmware_url_path(std::string_view model, std::string_view version, std::string_view file_name) {
  if (!is_valid_firmware_model(model) || !is_valid_firmware_version(version) ||
      !is_valid_firmware_file_name(file_name))
    throw store_error("cannot make a firmware path from '" + std::string(model) + "', '" + std::string(version) +
                      "', '" + std::string(file_name) + "'");
  std::string path = "firmware/";
  path.append(model).append("/").append(version).append("/").append(file_name);
  return path;
}

std::optional<firmware_path> parse_firmware_url_path(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  constexpr std::string_view prefix = "firmware/";
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  std::string_view segments[3];
  for (int i = 0; i < 3; ++i) {
    const auto slash = path.find('/');
    if ((i < 2) != (slash != std::string_view::npos)) return std::nullopt;  // exactly three segments
    segments[i] = path.substr(0, slash);
    path = i < 2 ? path.substr(slash + 1) : std::string_view{};
  }
  if (!is_valid_firmware_model(segments[0]) || !is_valid_firmware_version(segments[1]) ||
      !is_valid_firmware_file_name(segments[2]))
    return std::nullopt;
  return firmware_path{std::string(segments[0]), std::string(segments[1]), std::string(segments[2])};
}

// ---- blobs --------------------------------------------------------------------

fs::path firmware_blob_path(const fs::path& data_dir, std::string_view sha256) {
  // The name is only ever a hash we computed; refuse anything else so a
  // stray value can never point outside the folder.
  if (!is_sha256_hex(sha256)) throw store_error("not a SHA-256: '" + std::string(sha256) + "'");
  return data_dir / "firmware" / std::string(sha256);
}

firmware_blob store_firmware_blob(const fs::path& data_dir, const fs::path& source) {
  const auto folder = data_dir / "firmware";
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw store_error("cannot create " + folder.string() + ": " + ec.message());

  // O_NONBLOCK so that a FIFO given by mistake is refused instead of
  // blocking; it changes nothing for a regular file.
  file_descriptor in(::open(source.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (in.get() < 0) fail_errno("cannot open " + source.string());
  struct stat info {};
  if (::fstat(in.get(), &info) != 0) fail_errno("cannot inspect " + source.string());
  if (!S_ISREG(info.st_mode)) throw store_error(source.string() + " is not a regular file");

  // The temporary file lives in the blob folder, so the rename that
  // publishes it stays on one file system and is atomic.
  std::string temp_name = (folder / ".incoming-XXXXXX").string();
  file_descriptor out(::mkstemp(temp_name.data()));
  if (out.get() < 0) fail_errno("cannot create a file in " + folder.string());
  bool published = false;
  struct remove_temp {
    const std::string& name;
    const bool& published;
    ~remove_temp() {
      if (!published) ::unlink(name.c_str());
    }
  } cleanup{temp_name, published};
  // mkstemp makes it 0600; firmware is no secret and a daemon running as
  // another user of the group must be able to read it.
  if (::fchmod(out.get(), 0644) != 0) fail_errno("cannot set the mode of " + temp_name);

  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!digest || EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr) != 1)
    throw store_error("cannot start SHA-256");

  // 64 KiB: a few syscalls per megabyte, and a 100 MB image never sits in
  // memory whole.
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[64 * 1024]);
  std::uint64_t size = 0;
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.get(), 64 * 1024);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("reading " + source.string());
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(digest.get(), buffer.get(), static_cast<std::size_t>(n)) != 1)
      throw store_error("SHA-256 failed");
    write_all(out.get(), buffer.get(), static_cast<std::size_t>(n), temp_name);
    size += static_cast<std::uint64_t>(n);
  }
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_size = 0;
  if (EVP_DigestFinal_ex(digest.get(), hash, &hash_size) != 1) throw store_error("SHA-256 failed");

  firmware_blob blob{to_hex(hash, hash_size), size, false};
  const auto final_path = firmware_blob_path(data_dir, blob.sha256);

  // Same name means same content; but a blob of the wrong size was damaged
  // (say, a disk filled up before this code existed), so it is replaced.
  struct stat existing {};
  if (::stat(final_path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode) &&
      static_cast<std::uint64_t>(existing.st_size) == size)
    return blob;  // the temporary file goes with `cleanup`

  // Data on disk before the name points at it, or a crash could leave a
  // blob of the right name with missing content.
  if (::fsync(out.get()) != 0) fail_errno("syncing " + temp_name);
  out.close_checked(temp_name);
  if (::rename(temp_name.c_str(), final_path.c_str()) != 0) fail_errno("cannot store " + final_path.string());
  published = true;
  sync_directory(folder);
  blob.created = true;
  return blob;
}

bool firmware_blob_in_use(database& db, std::string_view sha256) {
  auto stmt = db.prepare("SELECT EXISTS (SELECT 1 FROM firmware WHERE sha256 = ?1)");
  stmt.bind_all(sha256);
  stmt.step();
  return stmt.integer(0) != 0;
}

// ---- rows -----------------------------------------------------------------------

firmware_record add_firmware(database& db, const firmware_record& image, bool make_current) {
  if (!is_valid_firmware_version(image.version))
    throw store_error("invalid firmware version '" + image.version + "' (1-128 of letters, digits, '_', '.', '-')");
  if (!is_valid_firmware_file_name(image.file_name))
    throw store_error("invalid firmware file name '" + image.file_name +
                      "' (1-128 of letters, digits, '_', '.', '-')");
  if (!is_sha256_hex(image.sha256)) throw store_error("invalid SHA-256 '" + image.sha256 + "'");

  transaction tx(db);
  const auto model = require_model(db, image.model);
  if (!is_valid_firmware_model(model.name))
    throw store_error("model '" + model.name + "' cannot name a firmware path; rename the model");
  if (find_firmware(db, model.name, image.version))
    throw store_error(describe(model.name, image.version) + " already exists");
  db.prepare("INSERT INTO firmware (model_id, version, file_name, sha256, size) VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind_all(model.id, image.version, image.file_name, image.sha256, image.size)
      .run();
  if (make_current)
    set_model_firmware_version(db, model.id, image.version);
  else
    next_revision(db);  // nothing a device renders changed, but the daemon's cache of images did
  auto added = find_firmware(db, model.name, image.version);
  tx.commit();
  return *added;
}

std::vector<firmware_record> list_firmware(database& db, std::optional<std::string_view> model) {
  std::vector<firmware_record> out;
  transaction snapshot(db, transaction::kind::read);
  if (model) {
    const auto row = require_model(db, *model);
    auto stmt = db.prepare(std::string(firmware_select) + "WHERE f.model_id = ?1 ORDER BY f.id");
    stmt.bind_all(row.id);
    while (stmt.step()) out.push_back(read_firmware_row(stmt));
  } else {
    auto stmt = db.prepare(std::string(firmware_select) + "ORDER BY m.name, f.id");
    while (stmt.step()) out.push_back(read_firmware_row(stmt));
  }
  return out;
}

std::optional<firmware_record> find_firmware(database& db, std::string_view model, std::string_view version) {
  auto stmt = db.prepare(std::string(firmware_select) + "WHERE m.name = ?1 AND f.version = ?2");
  stmt.bind_all(model, version);
  return first_row(stmt);
}

std::optional<firmware_record> current_firmware(database& db, std::string_view model) {
  auto stmt =
      db.prepare(std::string(firmware_select) + "WHERE m.name = ?1 AND f.version = m.firmware_version");
  stmt.bind_all(model);
  return first_row(stmt);
}

std::optional<firmware_record> find_firmware_by_path(database& db, std::string_view url_path) {
  const auto parsed = parse_firmware_url_path(url_path);
  if (!parsed) return std::nullopt;
  auto found = find_firmware(db, parsed->model, parsed->version);
  // The version picks the row; the file name must still be the one the rule
  // names, or a typo would be served some other file.
  if (!found || found->file_name != parsed->file_name) return std::nullopt;
  return found;
}

std::optional<firmware_record> find_firmware_by_request(database& db, std::string_view model,
                                                        std::string_view file_name) {
  if (!is_valid_firmware_file_name(file_name)) return std::nullopt;
  // Current first (`current` sorts true before false), then the newest.
  auto stmt = db.prepare(std::string(firmware_select) +
                         "WHERE m.name = ?1 AND f.file_name = ?2 "
                         "ORDER BY f.version = m.firmware_version DESC, f.id DESC LIMIT 1");
  stmt.bind_all(model, file_name);
  return first_row(stmt);
}

void set_current_firmware(database& db, std::string_view model, std::string_view version) {
  transaction tx(db);
  const auto row = require_model(db, model);
  if (!find_firmware(db, row.name, version))
    throw store_error("no " + describe(row.name, version) + " (see provbox firmware list)");
  // Already current: nothing a device sees changes, so versions stay put.
  if (row.firmware_version == version) return;
  set_model_firmware_version(db, row.id, version);
  tx.commit();
}

firmware_record remove_firmware(database& db, std::string_view model, std::string_view version, bool force) {
  transaction tx(db);
  const auto row = require_model(db, model);
  auto found = find_firmware(db, row.name, version);
  if (!found) throw store_error("no " + describe(row.name, version) + " (see provbox firmware list)");
  if (found->current && !force)
    throw store_error(describe(row.name, version) +
                      " is the model's current version; activate another first, or force its removal (rm --force)");
  db.prepare("DELETE FROM firmware WHERE model_id = ?1 AND version = ?2").bind_all(row.id, found->version).run();
  if (found->current)
    set_model_firmware_version(db, row.id, "");
  else
    next_revision(db);
  tx.commit();
  return *found;
}

// ---- both together -----------------------------------------------------------------

firmware_record import_firmware(database& db, const fs::path& data_dir, const fs::path& source,
                                const firmware_record& image, bool make_current) {
  // Copying and hashing can take seconds, so it happens before the write
  // lock is taken, and the daemon is never kept waiting for it.
  auto blob = store_firmware_blob(data_dir, source);
  try {
    transaction tx(db);
    // A concurrent delete_firmware may have removed an identical blob this
    // call found and kept; under the lock that can no longer happen, so
    // check once and put it back if needed.
    struct stat info {};
    if (::stat(firmware_blob_path(data_dir, blob.sha256).c_str(), &info) != 0) {
      const bool created = blob.created;
      blob = store_firmware_blob(data_dir, source);
      blob.created = blob.created || created;
    }
    auto record = image;
    record.sha256 = blob.sha256;
    record.size = blob.size;
    auto added = add_firmware(db, record, make_current);
    tx.commit();
    return added;
  } catch (...) {
    if (blob.created) {
      try {
        transaction tx(db);
        if (!firmware_blob_in_use(db, blob.sha256)) unlink_blob(firmware_blob_path(data_dir, blob.sha256));
        tx.commit();
      } catch (...) {
        // The first failure is the one to report; an orphaned blob is
        // harmless and the next import of the same image adopts it.
      }
    }
    throw;
  }
}

removed_firmware delete_firmware(database& db, const fs::path& data_dir, std::string_view model,
                                 std::string_view version, bool force) {
  transaction tx(db);
  removed_firmware removed{remove_firmware(db, model, version, force), false};
  if (!firmware_blob_in_use(db, removed.record.sha256)) {
    unlink_blob(firmware_blob_path(data_dir, removed.record.sha256));
    removed.blob_removed = true;
  }
  tx.commit();
  return removed;
}

}  // namespace provbox::store
