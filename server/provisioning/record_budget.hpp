#pragma once
// How much disk one requester may cost: access-log lines and device events.
// Issue 12: pipelined requests for random MACs (574,287 in 30 s) grew the
// database from 8 to 101 MB and the log to 109 MB, since every unknown MAC
// got rows of its own and every request a line.
//
// Per window (a minute by default):
// - log lines: at most `lines_per_requester` per device (or, for a request
//   no device owns and for a refused TLS handshake, per address); the rest
//   are counted and said in one line when the window ends;
// - device events of requests no device owns (unknown MACs, names no model
//   knows): at most `unknown_events_per_address` rows of their own per
//   address and `unknown_events_total` in all; the rest are folded into one
//   event per address, transport and status, with repeats = how many, written
//   when the window ends. A new phone not yet in the inventory still shows up
//   with its MAC; a scan costs a few rows a minute.
// Events of known devices are not limited here: their rows are bounded per
// device (event_log), and the table as a whole by event_log::trim.
//
// Pure: no clock (the caller passes `now`), no I/O. Addresses counted one by
// one are bounded too; beyond `tracked_addresses`, further ones share "*".
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/events.hpp"

namespace provbox::provisioning {

struct record_limits {
  std::chrono::seconds window{60};
  std::size_t lines_per_requester = 60;
  std::size_t unknown_events_per_address = 10;
  std::size_t unknown_events_total = 100;
  std::size_t tracked_addresses = 1024;
};

class record_budget {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit record_budget(record_limits limits = {});

  struct decision {
    bool log_line = true;   // write this request's access-log line
    bool own_event = true;  // queue its event; false: it was folded into a summary
  };
  // `known`: the request was answered for a device of the inventory (then
  // e.mac names it); otherwise its address is what is counted.
  decision admit(const store::event& e, bool known, time_point now);
  // A log line about a client that is not a request (a refused TLS
  // handshake): counted with that address's lines. False: hold it back.
  bool admit_line(const std::string& address, time_point now);

  struct window_end {
    std::vector<store::event> events;     // the folded events, one per address, transport and status
    std::vector<std::string> log_lines;   // one per requester whose lines were held back
  };
  // Once `window` has passed since the window began: what it held back, and
  // a new window. Empty otherwise. Call it now and then even when idle (the
  // daemon: once a second) so summaries do not wait for the next request.
  window_end roll(time_point now);

private:
  // The address itself while fewer than tracked_addresses are counted in
  // this window, else "*".
  std::string tracked(const std::string& address);
  bool count_line(const std::string& requester, time_point now);

  record_limits limits_;
  time_point window_start_{};
  bool started_ = false;
  std::unordered_map<std::string, std::uint64_t> lines_;       // requester -> lines in this window
  std::map<std::string, std::uint64_t> suppressed_;            // requester -> lines held back
  std::unordered_map<std::string, std::uint64_t> own_events_;  // address -> unknown events with rows of their own
  std::uint64_t own_events_total_ = 0;
  std::unordered_set<std::string> addresses_;  // unknown requesters counted one by one
  std::map<std::tuple<std::string, std::string, int>, store::event> folded_;  // (address, transport, status)
};

}  // namespace provbox::provisioning
