#include "server/cli/csv.hpp"

namespace provbox::cli {

csv_table parse_csv(std::string_view text) {
  csv_table table;
  csv_row row;
  std::string cell;
  std::size_t line = 1;
  row.line = 1;
  bool quoted = false;       // inside a quoted field
  std::size_t quote_line = 0;  // where the open quoted field began
  bool was_quoted = false;   // the current field was quoted (only a separator may follow)
  bool row_has_content = false;

  auto end_cell = [&] {
    row.cells.push_back(std::move(cell));
    cell.clear();
    was_quoted = false;
  };
  auto end_row = [&] {
    end_cell();
    if (row_has_content) table.rows.push_back(std::move(row));
    row = {};
    row_has_content = false;
  };

  // Spreadsheets ("CSV UTF-8") start the file with a byte order mark; it is
  // not part of the first column's name.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
          was_quoted = true;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == ',') {
      end_cell();
      row_has_content = true;
    } else if (c == '\n') {
      end_row();
      row.line = ++line;
    } else if (c == '"' && cell.empty() && !was_quoted) {
      quoted = true;
      quote_line = line;
      row_has_content = true;
    } else if (was_quoted) {
      table.error = "unexpected text after a closing quote";
      table.error_line = line;
      return table;
    } else if (c == '"') {
      table.error = "a quote inside an unquoted field (quote the whole field and double the quote)";
      table.error_line = line;
      return table;
    } else {
      cell += c;
      row_has_content = true;
    }
  }
  if (quoted) {
    // Named by the line where it opened, not the end of the file.
    table.error = "unterminated quoted field";
    table.error_line = quote_line;
    return table;
  }
  end_row();
  // Trim spaces around unquoted header names so "mac, model" works.
  if (!table.rows.empty())
    for (auto& name : table.rows.front().cells) {
      while (!name.empty() && name.front() == ' ') name.erase(name.begin());
      while (!name.empty() && name.back() == ' ') name.pop_back();
    }
  return table;
}

std::string format_csv_row(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) out += ',';
    const auto& v = cells[i];
    if (v.find_first_of(",\"\r\n") == std::string::npos && (v.empty() || (v.front() != ' ' && v.back() != ' '))) {
      out += v;
      continue;
    }
    out += '"';
    for (char c : v) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out + "\n";
}

}  // namespace provbox::cli
