#include "store/event_buffer.hpp"

#include <functional>
#include <string_view>

namespace provbox::store {

event_buffer::event_buffer(event_log& log, event_buffer_limits limits) : log_(log), limits_(limits) {
  if (limits_.capacity == 0) limits_.capacity = 1;
  if (limits_.flush_at == 0 || limits_.flush_at > limits_.capacity) limits_.flush_at = limits_.capacity;
}

event_buffer::next_step event_buffer::add(event e) {
  if (e.repeats == 0) e.repeats = 1;
  // A repeat's time becomes its row's last_at, so it must be known now.
  if (e.at.empty()) e.at = utc_now_iso8601();
  const auto device = std::hash<std::string_view>{}(e.mac);
  if (auto last = last_of_device_.find(device); last != last_of_device_.end()) {
    auto& queued = queue_[last->second];
    if (same_answer(queued, e)) {
      fold_repeat(queued, e);
      pending_ += e.repeats;
      stats_.repeats += e.repeats;
      // The queue is not empty, so its flush is already scheduled.
      return next_step::none;
    }
  }
  if (queue_.size() >= limits_.capacity) {
    // A full queue means flushes have been failing; the owner retries on
    // its schedule rather than on every request.
    stats_.dropped += e.repeats;
    return next_step::none;
  }
  pending_ += e.repeats;
  last_of_device_[device] = queue_.size();
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
  stats_.written += pending_;
  pending_ = 0;
  queue_.clear();
  last_of_device_.clear();
  return true;
}

event_buffer_stats event_buffer::stats() const {
  auto s = stats_;
  s.pending = static_cast<std::size_t>(pending_);
  s.queued_rows = queue_.size();
  return s;
}

}  // namespace provbox::store
