// provbox: the provisioning daemon and its admin CLI in one binary.
#include <sys/stat.h>

#include <iostream>
#include <string>
#include <vector>

#include "server/cli/cli.hpp"

int main(int argc, char** argv) {
  // Everything provbox creates is its owner's alone: the database holds
  // device encryption keys and SIP passwords, the data folder the CA's key,
  // exports and backups the same. Folders 0700, files 0600.
  ::umask(077);
  std::vector<std::string> args(argv + 1, argv + argc);
  return provbox::cli::run(args, std::cout, std::cerr);
}
