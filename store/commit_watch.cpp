#include "store/commit_watch.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

namespace provbox::store {

commit_watch::commit_watch(std::string database_path) : shm_path_(std::move(database_path) + "-shm") {}

commit_watch::~commit_watch() {
  if (header_) ::munmap(const_cast<unsigned char*>(header_), mapped_size_);
}

bool commit_watch::map() {
  const int fd = ::open(shm_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  // The wal-index is 136 bytes of headers and checkpoint information, then
  // the hash tables; a shorter file is not one SQLite has initialised.
  const long page = ::sysconf(_SC_PAGESIZE);
  if (::fstat(fd, &st) != 0 || st.st_size < 136 || page <= 0) {
    ::close(fd);
    return false;
  }
  void* p = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (p == MAP_FAILED) return false;
  header_ = static_cast<const volatile unsigned char*>(p);
  mapped_size_ = static_cast<std::size_t>(page);
  return true;
}

bool commit_watch::maybe_changed() {
  if (!header_ && !map()) return true;
  // Another process writes these bytes; volatile reads plus the fence keep
  // the compiler from reusing an earlier read.
  std::atomic_thread_fence(std::memory_order_acquire);
  std::array<unsigned char, header_bytes> now;
  for (std::size_t i = 0; i < header_bytes; ++i) now[i] = header_[i];
  const bool changed = !have_last_ || now != last_;
  last_ = now;
  have_last_ = true;
  return changed;
}

}  // namespace provbox::store
