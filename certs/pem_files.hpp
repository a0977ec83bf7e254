#pragma once
// Writing the small PEM files certs/ keeps: keys must never be
// readable by others, not even for a moment, and a crash must never leave
// half a certificate where the daemon will look for a whole one.
#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace provbox::certs {

// Writes `text` to a temporary file beside `path` that has `mode` from the
// start, flushes it to disk, then renames it over `path`. Throws
// std::runtime_error naming the file on any failure (nothing is left behind).
void write_file_atomically(const std::filesystem::path& path, std::string_view text, mode_t mode);

}  // namespace provbox::certs
