#pragma once
// RFC 4180 CSV for device import and export: comma-separated, fields with
// commas, quotes or line breaks in double quotes, "" for a quote inside.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace provbox::cli {

struct csv_row {
  std::size_t line = 0;  // where the row starts, 1-based
  std::vector<std::string> cells;
};

struct csv_table {
  std::vector<csv_row> rows;  // blank lines are skipped
  std::string error;          // empty when the text parsed
  std::size_t error_line = 0;
};

csv_table parse_csv(std::string_view text);
std::string format_csv_row(const std::vector<std::string>& cells);

}  // namespace provbox::cli
