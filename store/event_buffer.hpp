#pragma once
// Device events queued in memory and written to the event log in one
// transaction: a commit per request cost as much as the rest of the request.
// The owner decides when to flush (the daemon: a few milliseconds after the
// first queued event, when the queue is long, and at shutdown). Memory is
// bounded: when the queue is full (the database has been failing or locked
// for a while), new events are dropped and counted, never queued without end.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "store/events.hpp"

namespace provbox::store {

struct event_buffer_limits {
  std::size_t flush_at = 256;    // add() asks for a flush now at this many queued
  std::size_t capacity = 8192;   // more are dropped until a flush succeeds
};

struct event_buffer_stats {
  std::uint64_t written = 0;        // events committed to the log
  std::uint64_t dropped = 0;        // events lost because the queue was full
  std::uint64_t failed_flushes = 0;  // flushes the database refused (kept queued)
  std::size_t pending = 0;          // queued now
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
  // time it is written). Dropped and counted when the queue is full.
  next_step add(event e);
  // Writes every queued event in one transaction. On a store_error the
  // events stay queued and false is returned: the owner schedules a retry.
  bool flush();

  event_buffer_stats stats() const;

private:
  event_log& log_;
  event_buffer_limits limits_;
  std::vector<event> queue_;
  event_buffer_stats stats_;
};

}  // namespace provbox::store
