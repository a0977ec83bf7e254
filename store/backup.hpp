#pragma once
// Consistent copies of the live inventory (SQLite's online backup), and
// putting one back without ever letting a device see a version go backwards.
#include <cstdint>
#include <string>

#include "store/database.hpp"

namespace provbox::store {

// Copies the whole database into `destination` (written beside it and
// renamed into place, so the file is complete or absent). Safe while the
// daemon and the CLI keep writing: the copy is one snapshot.
void backup_database(database& source, const std::string& destination);

struct restore_result {
  std::uint64_t restored_revision = 0;
  std::uint64_t new_version_floor = 0;
};

// Replaces the contents of `target` with the backup at `source` in one
// transaction. The backup must be a provbox inventory no newer than this
// build. Its versions would be lower than those devices have already seen,
// so the version floor is raised past every version served before, and the
// revision counter continues from where it was.
restore_result restore_database(database& target, const std::string& source);

}  // namespace provbox::store
