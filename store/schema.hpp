#pragma once
// The inventory's schema, versioned with PRAGMA user_version. Migrations only
// move forward, each in its own transaction; a database from a newer provbox
// is refused rather than guessed at.
#include "store/database.hpp"

namespace provbox::store {

int schema_version(database& db);
int latest_schema_version();
// Brings the database up to the latest version. Returns the version it had.
int migrate(database& db);
// Only up to `target` (at most the latest): how tests make a database as an
// older provbox left it, to prove the next migrations upgrade it in place.
int migrate(database& db, int target);

}  // namespace provbox::store
