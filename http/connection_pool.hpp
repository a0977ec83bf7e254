#pragma once
// One listener's open connections and the rule for letting another in: at
// most max_connections on the listener and max_per_address from one client
// address, where a keep-alive connection that waits idle for its next
// request gives way (is closed) rather than a new client being turned away.
//
// Each listener has its own pool, so a flood of one cannot starve another
// (the admin listener's /healthz least of all), and the per-address limit
// stops one client from filling a device listener.
//
// Pure: no sockets, no clock. The listener asks and carries out the answer;
// a connection is closed through the `close` function its session gave.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace provbox::http {

class connection_pool {
public:
  enum class phase {
    opening,  // accepted; its first request (and, for HTTPS, the handshake) not read yet
    busy,     // a request was read and its response is not finished
    idle,     // keep-alive: answered, waiting for its next request
  };

  struct connection {
    std::string address;
    phase at = phase::opening;
    std::string certificate_serial;  // HTTPS, once the handshake is done: for revocation
    std::function<void()> close;     // ends the session's pending I/O; the session then calls remove()
    bool leaving = false;            // told to close: no longer counted against any limit
    std::uint64_t idle_since = 0;    // its key in idle_ while idle
  };
  using handle = std::list<connection>::iterator;

  struct limits {
    std::size_t max_connections = 2048;
    std::size_t max_per_address = 0;  // 0: no per-address limit
  };

  enum class admission {
    admitted,
    address_full,   // the address has max_per_address open and none idle
    listener_full,  // max_connections open and none idle
  };

  connection_pool(std::string name, limits limit) : name_(std::move(name)), limit_(limit) {}
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  // Whether a new connection could be admitted from an address below its
  // limit: false when max_connections are open and none is idle. The
  // listener then stops accepting (clients wait in the kernel's backlog)
  // until on_room's function is called.
  bool has_room() const { return open_ < limit_.max_connections || !idle_.empty(); }

  // Registers a connection from `address` (its session sets `close` once it
  // runs), first closing the oldest idle connection of that address when
  // the address is full, or the listener's oldest idle one when the
  // listener is full. Refuses when no idle connection can give way.
  admission admit(std::string_view address, handle& out);

  void set_phase(handle c, phase p);
  // The session has ended: forgets it.
  void remove(handle c);
  // Closes a connection now (revocation, stop); `reason` is counted.
  void close(handle c, std::string_view reason);
  // At stop: closes every connection not in the middle of a response.
  void close_all_but_busy();

  // Called when has_room() may have turned true; the listener sets it
  // while it waits and clears it after.
  void on_room(std::function<void()> notify) { on_room_ = std::move(notify); }
  // Calls it regardless (the stop: a waiting listener must look again).
  void wake() {
    if (on_room_) on_room_();
  }

  void set_limits(limits limit);
  const limits& limit() const { return limit_; }
  const std::string& name() const { return name_; }
  // Connections counted against the limits (not those told to close).
  std::size_t open() const { return open_; }
  // Sessions still running, those told to close included.
  std::size_t sessions() const { return connections_.size(); }
  std::size_t open_from(std::string_view address) const;
  // The most connections open at once since the last reset_peak().
  std::size_t peak() const { return peak_; }
  void reset_peak() { peak_ = open_; }

  std::list<connection>& connections() { return connections_; }
  // By reason: address_full, listener_full (turned away at accept);
  // gave_way, and whatever close() was told (closed while open).
  const std::map<std::string, std::uint64_t, std::less<>>& refused() const { return refused_; }
  const std::map<std::string, std::uint64_t, std::less<>>& closed() const { return closed_; }
  // Times the listener found no room and stopped accepting (counted by it).
  std::uint64_t pauses = 0;

private:
  struct per_address {
    std::size_t open = 0;
    std::size_t idle = 0;
  };

  // Stops counting `c` (it is closing or gone); its session may still run.
  void release(handle c);
  void give_way(handle c);
  void notify_if_room();
  // The idle entry of `c` is removed, keeping per-address counts.
  void leave_idle(handle c);

  std::string name_;
  limits limit_;
  std::list<connection> connections_;
  std::unordered_map<std::string, per_address> addresses_;  // counted connections only
  std::map<std::uint64_t, handle> idle_;                      // by idle_since: the oldest first
  std::uint64_t next_idle_ = 0;
  std::size_t open_ = 0;
  std::size_t peak_ = 0;
  std::function<void()> on_room_;
  std::map<std::string, std::uint64_t, std::less<>> refused_;
  std::map<std::string, std::uint64_t, std::less<>> closed_;
};

}  // namespace provbox::http
