#pragma once
// Whether this process holds a POSIX lock on a file, read from /proc/locks:
// how the store tests see that SQLite's own locks are still in place (issue
// 12: a close(2) on one of SQLite's files drops every lock the process holds
// on it).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace provbox::test_support {

inline bool this_process_locks(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    // "1: POSIX  ADVISORY  READ 3250 fe:00:10952758 128 128"
    std::istringstream fields(line);
    std::string number, kind, mode, access, pid, device_inode;
    fields >> number >> kind;
    if (kind == "->") fields >> kind;  // a waiter blocked on the lock above
    fields >> mode >> access >> pid >> device_inode;
    if (pid == std::to_string(::getpid()) &&
        device_inode.substr(device_inode.rfind(':') + 1) == std::to_string(st.st_ino))
      return true;
  }
  return false;
}

}  // namespace provbox::test_support
