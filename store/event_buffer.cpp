#include "store/event_buffer.hpp"

namespace provbox::store {

event_buffer::event_buffer(event_log& log, event_buffer_limits limits) : log_(log), limits_(limits) {
  if (limits_.capacity == 0) limits_.capacity = 1;
  if (limits_.flush_at == 0 || limits_.flush_at > limits_.capacity) limits_.flush_at = limits_.capacity;
}

event_buffer::next_step event_buffer::add(event e) {
  if (queue_.size() >= limits_.capacity) {
    // A full queue means flushes have been failing; the owner retries on
    // its schedule rather than on every request.
    ++stats_.dropped;
    return next_step::none;
  }
  queue_.push_back(std::move(e));
  // Only on reaching the mark: past it a flush has just failed, and the
  // owner's retry is already scheduled.
  if (queue_.size() == limits_.flush_at) return next_step::flush_now;
  return queue_.size() == 1 ? next_step::schedule_flush : next_step::none;
}

bool event_buffer::flush() {
  if (queue_.empty()) return true;
  try {
    log_.record_all(queue_);
  } catch (const store_error&) {
    ++stats_.failed_flushes;
    return false;
  }
  stats_.written += queue_.size();
  queue_.clear();
  return true;
}

event_buffer_stats event_buffer::stats() const {
  auto s = stats_;
  s.pending = queue_.size();
  return s;
}

}  // namespace provbox::store
