#pragma once
// `provbox [--db PATH] [--json] COMMAND ...`: the admin CLI.
#include <ostream>
#include <string>
#include <vector>

namespace provbox::cli {

// Exit status: 0 done, 1 the operation failed (nothing changed), 2 the
// command line was wrong.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace provbox::cli
