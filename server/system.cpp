#include "server/system.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace provbox::server {

void notify_systemd(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::size_t length = std::strlen(path);
  if (length >= sizeof address.sun_path) return;
  std::memcpy(address.sun_path, path, length);
  // A leading '@' names an abstract socket: its first byte is NUL.
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  // Best effort: systemd not listening must not stop provisioning.
  (void)::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), size);
  ::close(fd);
}

std::optional<long> watchdog_interval_ms() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (!usec || !*usec) return std::nullopt;
  const long value = std::strtol(usec, nullptr, 10);
  if (value <= 0) return std::nullopt;
  return std::max(1L, value / 2000);
}

bool started_by_systemd() {
  const char* id = std::getenv("INVOCATION_ID");
  return id && *id;
}

std::string drop_privileges(const std::string& user, const std::string& data_dir) {
  if (::geteuid() != 0) return "";
  errno = 0;
  const passwd* entry = ::getpwnam(user.c_str());
  if (!entry) throw std::runtime_error("running as root, and user '" + user + "' to drop to does not exist");
  const uid_t uid = entry->pw_uid;
  const gid_t gid = entry->pw_gid;
  // The data folder becomes the user's, so the database, the CA and firmware
  // stay writable after the switch.
  std::error_code ec;
  if (::chown(data_dir.c_str(), uid, gid) != 0)
    throw std::runtime_error("cannot give " + data_dir + " to " + user + ": " + std::strerror(errno));
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0)
      throw std::runtime_error("cannot give " + it->path().string() + " to " + user + ": " + std::strerror(errno));
  }
  if (::initgroups(user.c_str(), gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
    throw std::runtime_error("cannot become " + user + ": " + std::strerror(errno));
  // Proof that root cannot be regained.
  if (::setuid(0) == 0) throw std::runtime_error("dropped to " + user + " but could become root again");
  return "dropped root privileges: running as " + user + " (uid " + std::to_string(uid) + ")";
}

}  // namespace provbox::server
