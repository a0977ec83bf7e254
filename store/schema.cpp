#include "store/schema.hpp"

#include <string>
#include <string_view>

namespace provbox::store {
namespace {

// migrations[i] takes the schema from version i to i + 1. Append only: a
// released migration is never edited.
constexpr std::string_view migrations[] = {
    // 0 -> 1: the inventory.
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
-- revision: one counter for every change, so versions never repeat.
-- version_floor: DBID_DBASE_VERSION = floor + revision.
INSERT INTO meta (key, value) VALUES ('revision', 0), ('version_floor', 10000);

CREATE TABLE models (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  config_file TEXT NOT NULL,
  template    TEXT NOT NULL DEFAULT '',
  revision    INTEGER NOT NULL
);

CREATE TABLE model_patterns (
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  pattern  TEXT NOT NULL,
  PRIMARY KEY (model_id, position)
) WITHOUT ROWID;

CREATE TABLE devices (
  id             INTEGER PRIMARY KEY,
  mac            TEXT NOT NULL UNIQUE,
  model_id       INTEGER NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
  serial         TEXT NOT NULL DEFAULT '',
  hw_version     TEXT NOT NULL DEFAULT '',
  sw_version     TEXT NOT NULL DEFAULT '',
  label          TEXT NOT NULL DEFAULT '',
  group_name     TEXT NOT NULL DEFAULT '',
  static_ip      TEXT NOT NULL DEFAULT '',
  encryption_key TEXT NOT NULL DEFAULT '',
  enabled        INTEGER NOT NULL DEFAULT 1,
  revision       INTEGER NOT NULL,
  created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX devices_by_model ON devices (model_id);
CREATE INDEX devices_by_group ON devices (group_name);

-- scope is global, group, model or device; target is '' for global, else
-- the group name, the model name or the device's MAC.
CREATE TABLE params (
  scope  TEXT NOT NULL CHECK (scope IN ('global', 'group', 'model', 'device')),
  target TEXT NOT NULL,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (scope, target, key)
) WITHOUT ROWID;

CREATE TABLE variables (
  scope  TEXT NOT NULL CHECK (scope IN ('global', 'group', 'model', 'device')),
  target TEXT NOT NULL,
  name   TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (scope, target, name)
) WITHOUT ROWID;

-- The last revision at which anything in a scope changed (a param or
-- variable set or removed, or a bump): removals leave no row behind, so
-- this is what keeps versions rising when a param goes away.
CREATE TABLE scope_revisions (
  scope    TEXT NOT NULL,
  target   TEXT NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (scope, target)
) WITHOUT ROWID;
)sql",
    // 1 -> 2: what the daemon records and serves.
    R"sql(
-- One row per answer given to a device (or to a request no device owned),
-- kept bounded per device by the daemon.
CREATE TABLE events (
  id            INTEGER PRIMARY KEY,
  at            TEXT NOT NULL,              -- UTC, ISO 8601 with milliseconds
  mac           TEXT NOT NULL DEFAULT '',   -- '' when no device was resolved
  transport     TEXT NOT NULL,              -- tftp, http, https, dhcp
  peer          TEXT NOT NULL,
  file          TEXT NOT NULL,
  dbase_version INTEGER,                    -- the version served, if a profile
  status        INTEGER NOT NULL,           -- HTTP-style: 200, 206, 304, 403, 404...
  bytes         INTEGER NOT NULL DEFAULT 0,
  detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_mac ON events (mac, id);
CREATE INDEX devices_by_static_ip ON devices (static_ip);

-- Certificates the device CA issued; revoked ones fail the TLS handshake.
CREATE TABLE certificates (
  serial     TEXT PRIMARY KEY,              -- hex, as openssl x509 -serial prints it
  subject    TEXT NOT NULL,                 -- a device's MAC, or the server's name
  kind       TEXT NOT NULL CHECK (kind IN ('device', 'server')),
  not_before TEXT NOT NULL,
  not_after  TEXT NOT NULL,
  issued_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  revoked_at TEXT
) WITHOUT ROWID;
CREATE INDEX certificates_by_subject ON certificates (subject);

-- Firmware images, stored in the data folder by SHA-256.
CREATE TABLE firmware (
  id        INTEGER PRIMARY KEY,
  model_id  INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  version   TEXT NOT NULL,
  file_name TEXT NOT NULL,                  -- the name devices ask for
  sha256    TEXT NOT NULL,
  size      INTEGER NOT NULL,
  added_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  UNIQUE (model_id, version)
);
-- The version a model's devices should run: the Upgrade Rule points at it.
ALTER TABLE models ADD COLUMN firmware_version TEXT NOT NULL DEFAULT '';
)sql",
    // 2 -> 3: DHCP leases (dhcp/lease_engine.hpp says what each state means).
    R"sql(
CREATE TABLE leases (
  address    INTEGER PRIMARY KEY,             -- IPv4 in host byte order
  client_key TEXT NOT NULL,                   -- 'id:' + option 61 hex, or 'hw:' + htype and chaddr; '' when declined
  mac        TEXT NOT NULL,                   -- 00:21:f2:01:1b:19
  state      TEXT NOT NULL CHECK (state IN ('bound', 'released', 'expired', 'declined')),
  expires_at INTEGER NOT NULL,                -- Unix seconds: end of the lease, or of a decline's hold
  hostname   TEXT NOT NULL DEFAULT '',        -- option 12
  updated_at INTEGER NOT NULL                 -- Unix seconds
);
-- No other index: the daemon holds every lease in memory and writes by
-- address; the CLI and the provisioning service look up by address too.
)sql",
    // 3 -> 4: repeated answers counted on one row, syslog's "last message
    // repeated N times", so a device in a fetch loop keeps its history.
    R"sql(
-- Occurrences this row stands for: a request answered exactly as the
-- device's newest row (same transport, peer, file, version, status and
-- detail) adds to it, and its bytes to bytes.
ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
-- The newest occurrence when repeats > 1 (NULL otherwise); at stays the first.
ALTER TABLE events ADD COLUMN last_at TEXT;
)sql",
    // 4 -> 5: the highest DBID_DBASE_VERSION ever served, so a database that
    // went back (a crash that lost commits, a copy put back by hand) never
    // makes a device apply an older file (inventory::keep_versions_above).
    R"sql(
INSERT INTO meta (key, value) SELECT 'served_version', coalesce(max(dbase_version), 0) FROM events;
)sql",
};

}  // namespace

int schema_version(database& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  stmt.step();
  return static_cast<int>(stmt.integer(0));
}

int latest_schema_version() { return static_cast<int>(std::size(migrations)); }

int migrate(database& db) { return migrate(db, latest_schema_version()); }

int migrate(database& db, int target) {
  if (target > latest_schema_version()) target = latest_schema_version();
  const int found = schema_version(db);
  if (found > latest_schema_version()) {
    throw store_error("database " + db.path() + " has schema version " + std::to_string(found) +
                      ", newer than this provbox understands (" +
                      std::to_string(latest_schema_version()) + "); upgrade provbox");
  }
  for (int version = found; version < target; ++version) {
    transaction tx(db);
    // Another connection (the daemon, or the CLI) may have run this step
    // between our read of the version and our write lock.
    if (schema_version(db) > version) continue;
    db.exec(migrations[version]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
  }
  return found;
}

}  // namespace provbox::store
