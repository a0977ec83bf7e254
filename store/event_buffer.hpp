#pragma once
// Device events queued in memory and written to the event log in one
// transaction: a commit per request cost as much as the rest of the request.
// The owner decides when to flush (the daemon: a few milliseconds after the
// first queued event, when the queue is long, and at shutdown). Memory is
// bounded: when the queue is full (the database has been failing or locked
// for a while), new events are dropped and counted, never queued without end.
// An event that repeats the last one queued for its device (same_answer) is
// counted on that one instead of taking a slot, so a device in a fetch loop
// or a scanner costs one queued row, not one per request.
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "store/events.hpp"

namespace provbox::store {

struct event_buffer_limits {
  std::size_t flush_at = 256;    // add() asks for a flush now at this many queued
  std::size_t capacity = 8192;   // queued rows; more are dropped until a flush succeeds
};

// Events count occurrences (requests), whether they got a row of their own
// or were counted as a repeat on another.
struct event_buffer_stats {
  std::uint64_t written = 0;        // events committed to the log
  std::uint64_t dropped = 0;        // events lost because the queue was full
  std::uint64_t failed_flushes = 0;  // flushes the database refused (kept queued)
  std::uint64_t repeats = 0;        // events counted on the previous queued one of their device
  std::size_t pending = 0;          // events queued now
  std::size_t queued_rows = 0;      // rows they take (what the capacity bounds)
};

class event_buffer {
public:
  enum class next_step {
    none,            // already queued behind a scheduled flush
    schedule_flush,  // the first event queued: flush a little later
    flush_now,       // the queue reached flush_at: flush before going on
  };

  explicit event_buffer(event_log& log, event_buffer_limits limits = {});

  // Queues one event (its `at` should be set: the time it happened, not the
  // time it is written). A repeat of its device's last queued event is
  // folded into it, even when the queue is full; anything else is dropped
  // and counted when the queue is full.
  next_step add(event e);
  // Writes every queued event in one transaction. On a store_error the
  // events stay queued and false is returned: the owner schedules a retry.
  bool flush();

  event_buffer_stats stats() const;

private:
  event_log& log_;
  event_buffer_limits limits_;
  std::vector<event> queue_;
  // By a hash of the MAC ("" for no device), the device's last event in
  // queue_, so a repeat is found without a scan. A collision only means a
  // repeat that takes a row of its own: same_answer() compares the MACs.
  std::unordered_map<std::size_t, std::size_t> last_of_device_;
  std::uint64_t pending_ = 0;  // occurrences in queue_
  event_buffer_stats stats_;
};

}  // namespace provbox::store
