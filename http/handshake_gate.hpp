#pragma once
// TLS handshakes in flight on the HTTPS listener, at most `limit` at once.
// A handshake holds an SSL object and Asio's buffers (50 KB after a few
// bytes, 94 KB once done, more in between) until it completes or its
// deadline passes, so the bound is the memory clients that stall
// mid-handshake can hold. Beyond it a connection waits its turn,
// first come first served, holding only its socket.
//
// Pure: the waiter's `wake` function is all it knows of timers.
#include <cstddef>
#include <functional>
#include <list>

namespace provbox::http {

class handshake_gate {
public:
  using ticket = std::list<std::function<void()>>::iterator;

  explicit handshake_gate(std::size_t limit) : limit_(limit) {}
  handshake_gate(const handshake_gate&) = delete;
  handshake_gate& operator=(const handshake_gate&) = delete;

  // True when the caller may start its handshake now; it then calls
  // leave() once the handshake has ended, however it ended.
  bool try_enter() {
    if (in_flight_ >= limit_ || !waiting_.empty()) return false;
    ++in_flight_;
    return true;
  }
  // Queues the caller. `wake` is called once a slot has been handed to it
  // (the caller then owns the slot, and leaves it as above); until then it
  // may give up with cancel().
  ticket wait(std::function<void()> wake) { return waiting_.insert(waiting_.end(), std::move(wake)); }
  void cancel(ticket t) { waiting_.erase(t); }
  // A handshake ended: its slot goes to the first waiter, if any.
  void leave() {
    --in_flight_;
    admit_waiters();
  }

  void set_limit(std::size_t limit) {
    limit_ = limit;
    admit_waiters();
  }
  std::size_t limit() const { return limit_; }
  std::size_t in_flight() const { return in_flight_; }
  std::size_t waiting() const { return waiting_.size(); }

private:
  void admit_waiters() {
    while (in_flight_ < limit_ && !waiting_.empty()) {
      auto wake = std::move(waiting_.front());
      waiting_.pop_front();
      ++in_flight_;
      wake();
    }
  }

  std::size_t limit_;
  std::size_t in_flight_ = 0;
  std::list<std::function<void()>> waiting_;
};

}  // namespace provbox::http
