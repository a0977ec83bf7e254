#include "server/provisioning/record_budget.hpp"

namespace provbox::provisioning {

record_budget::record_budget(record_limits limits) : limits_(limits) {}

std::string record_budget::tracked(const std::string& address) {
  if (addresses_.contains(address)) return address;
  if (addresses_.size() < limits_.tracked_addresses) {
    addresses_.insert(address);
    return address;
  }
  return "*";
}

bool record_budget::count_line(const std::string& requester, time_point now) {
  if (!started_) {
    window_start_ = now;
    started_ = true;
  }
  if (++lines_[requester] <= limits_.lines_per_requester) return true;
  ++suppressed_[requester];
  return false;
}

bool record_budget::admit_line(const std::string& address, time_point now) {
  return count_line(tracked(address), now);
}

record_budget::decision record_budget::admit(const store::event& e, bool known, time_point now) {
  decision d;
  const std::string requester = known ? e.mac : tracked(e.peer);
  d.log_line = count_line(requester, now);
  if (known) return d;

  auto& own = own_events_[requester];
  if (own < limits_.unknown_events_per_address && own_events_total_ < limits_.unknown_events_total) {
    ++own;
    ++own_events_total_;
    return d;
  }
  d.own_event = false;
  auto [it, fresh] = folded_.try_emplace({requester, e.transport, e.status});
  auto& summary = it->second;
  if (fresh) {
    summary.at = e.at.empty() ? store::utc_now_iso8601() : e.at;
    summary.transport = e.transport;
    summary.peer = requester;
    summary.file = "*";
    summary.status = e.status;
    summary.repeats = 0;
  } else {
    summary.last_at = e.at.empty() ? store::utc_now_iso8601() : e.at;
  }
  summary.repeats += e.repeats == 0 ? 1 : e.repeats;
  summary.bytes += e.bytes;
  return d;
}

record_budget::window_end record_budget::roll(time_point now) {
  window_end out;
  if (!started_ || now - window_start_ < limits_.window) return out;
  const auto seconds = std::to_string(limits_.window.count());
  for (auto& [key, summary] : folded_) {
    summary.detail = std::to_string(summary.repeats) + " requests for no known device in " + seconds +
                     " s, recorded as one (the first " +
                     std::to_string(limits_.unknown_events_per_address) + " from an address have rows of their own)";
    out.events.push_back(std::move(summary));
  }
  for (const auto& [requester, count] : suppressed_)
    out.log_lines.push_back(std::to_string(count) + " more lines " +
                            (requester == "*" ? std::string("of other addresses") : "of " + requester) +
                            " in the last " + seconds + " s not logged one by one (more than " +
                            std::to_string(limits_.lines_per_requester) + ")");
  lines_.clear();
  suppressed_.clear();
  own_events_.clear();
  own_events_total_ = 0;
  addresses_.clear();
  folded_.clear();
  window_start_ = now;
  return out;
}

}  // namespace provbox::provisioning
