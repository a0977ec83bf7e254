#include "certs/pem_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <stdexcept>

namespace provbox::certs {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int error) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(error));
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  std::string temp = path.string() + ".tmp-XXXXXX";
  // mkstemp creates the file 0600, so a key is private from its first byte;
  // fchmod then widens it only when asked (a certificate is public).
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) fail("cannot create a file beside", path, errno);
  auto give_up = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    fail(what, path, error);
  };
  if (::fchmod(fd, mode) != 0) give_up("cannot set the mode of");
  for (std::size_t done = 0; done < text.size();) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) give_up("cannot write");
    done += static_cast<std::size_t>(n);
  }
  // Without the fsync a power cut after the rename can leave an empty file
  // under the final name, and an empty CA key is a lost CA.
  if (::fsync(fd) != 0) give_up("cannot flush");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail("cannot write", path, error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail("cannot replace", path, error);
  }
}

}  // namespace provbox::certs
