#include "store/change_signal.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

namespace provbox::store {

static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "the counter is shared between processes: it must be a lock-free atomic");

change_signal::change_signal(const std::string& database_path) {
  if (database_path.empty() || database_path == ":memory:") return;
  const auto path = file_for(database_path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  // Grown, never shrunk: another process may have it mapped, and a mapping
  // past the end of a shrunk file faults. A page holds the counter at
  // offset 0, zero when the file is new.
  const long page = ::sysconf(_SC_PAGESIZE);
  struct stat st {};
  if (page > 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (st.st_size >= page || ::ftruncate(fd, page) == 0)) {
    void* p = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      counter_ = static_cast<std::uint64_t*>(p);
      mapped_size_ = static_cast<std::size_t>(page);
    }
  }
  ::close(fd);  // our own file: no lock of anyone's is attached to it
}

change_signal::~change_signal() {
  if (counter_) ::munmap(counter_, mapped_size_);
}

void change_signal::notify() {
  if (counter_) std::atomic_ref<std::uint64_t>(*counter_).fetch_add(1, std::memory_order_release);
}

std::optional<std::uint64_t> change_signal::count() const {
  if (!counter_) return std::nullopt;
  return std::atomic_ref<std::uint64_t>(*counter_).load(std::memory_order_acquire);
}

}  // namespace provbox::store
