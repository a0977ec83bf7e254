// provbox: the provisioning daemon and its admin CLI in one binary.
#include <iostream>
#include <string>
#include <vector>

#include "server/cli/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return provbox::cli::run(args, std::cout, std::cerr);
}
