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

}  // namespace provbox::store
