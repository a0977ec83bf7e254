#include "tftp/transfer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <type_traits>
#include <utility>

namespace provbox::tftp {
namespace {

// Plain decimal digits only: no sign, no spaces, no hex. RFC 2347 values are
// "a base-10 ASCII string"; a client sending anything else gets its option
// ignored rather than guessed at.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

transfer_params negotiate(std::span<const option> requested,
                          std::optional<std::uint64_t> file_size,
                          const server_limits& limits) {
  const auto blksize_cap = std::clamp(limits.max_blksize, min_blksize, max_blksize);
  const auto window_cap = std::clamp(limits.max_windowsize, min_windowsize, max_windowsize);

  transfer_params p;
  p.timeout = std::max(limits.default_timeout, std::chrono::milliseconds{1});
  p.max_retries = limits.max_retries;

  for (const auto& o : requested) {
    auto name = lower(o.name);
    if (find_option(p.oack, name) != nullptr) continue;  // first one wins
    const auto value = parse_decimal(o.value);
    if (!value) continue;
    if (name == "blksize") {  // RFC 2348
      if (*value < min_blksize) continue;
      p.blksize = static_cast<std::size_t>(std::min<std::uint64_t>(*value, blksize_cap));
      p.oack.push_back({std::move(name), std::to_string(p.blksize)});
    } else if (name == "timeout") {  // RFC 2349
      if (*value < min_timeout_s || *value > max_timeout_s) continue;
      p.timeout = std::chrono::seconds{*value};
      p.oack.push_back({std::move(name), std::to_string(*value)});
    } else if (name == "tsize") {  // RFC 2349: a read request asks with 0
      if (*value != 0 || !file_size) continue;
      p.oack.push_back({std::move(name), std::to_string(*file_size)});
    } else if (name == "windowsize") {  // RFC 7440
      if (*value < min_windowsize || *value > max_windowsize) continue;
      p.windowsize = static_cast<unsigned>(std::min<std::uint64_t>(*value, window_cap));
      p.oack.push_back({std::move(name), std::to_string(p.windowsize)});
    }
  }
  // The byte budget depends on the final blksize, which may come after
  // windowsize in the request, so it is applied last.
  const auto budget = std::max<std::size_t>(1, limits.max_window_bytes / p.blksize);
  if (p.windowsize > budget) {
    p.windowsize = static_cast<unsigned>(budget);
    for (auto& o : p.oack) {
      if (o.name == "windowsize") o.value = std::to_string(p.windowsize);
    }
  }
  return p;
}

memory_source::memory_source(std::vector<std::uint8_t> bytes)
    : bytes_(std::make_shared<const std::vector<std::uint8_t>>(std::move(bytes))) {}

memory_source::memory_source(std::shared_ptr<const std::vector<std::uint8_t>> bytes)
    : bytes_(bytes ? std::move(bytes) : std::make_shared<const std::vector<std::uint8_t>>()) {}

std::uint64_t memory_source::size() const { return bytes_->size(); }

std::size_t memory_source::read(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (offset >= bytes_->size()) return 0;
  const auto n = std::min<std::uint64_t>(out.size(), bytes_->size() - offset);
  std::memcpy(out.data(), bytes_->data() + offset, static_cast<std::size_t>(n));
  return static_cast<std::size_t>(n);
}

read_transfer::read_transfer(transfer_params params, std::unique_ptr<content_source> source)
    : params_(std::move(params)), source_(std::move(source)) {
  params_.blksize = std::clamp(params_.blksize, min_blksize, max_blksize);
  params_.windowsize = std::clamp(params_.windowsize, min_windowsize, max_windowsize);
  size_ = source_->size();
  // The last block is always shorter than blksize, so a size that is a
  // multiple of blksize ends with an empty block (RFC 1350 §6).
  last_block_ = size_ / params_.blksize + 1;
}

action read_transfer::start() {
  if (phase_ != phase::idle) return {};
  if (params_.oack.empty()) {
    phase_ = phase::sending;
    return send_blocks(params_.windowsize);
  }
  phase_ = phase::oack_sent;
  action a;
  a.send.emplace_back();
  encode_oack(params_.oack, a.send.back());
  a.arm_timer = params_.timeout;
  return a;
}

action read_transfer::on_packet(const packet& p) {
  if (phase_ == phase::idle || phase_ == phase::done) return {};
  if (const auto* a = std::get_if<ack>(&p)) return on_ack(a->block);
  if (const auto* e = std::get_if<error>(&p)) {
    // Never answer an ERROR (RFC 1350 §7): the client has already gone.
    const auto code = static_cast<unsigned>(e->code);
    return fail(transfer_outcome::client_error,
                "client error " + std::to_string(code) + ": " + e->message, std::nullopt);
  }
  return fail(transfer_outcome::illegal_operation, "unexpected packet during a read transfer",
              error_code::illegal_operation);
}

action read_transfer::on_ack(std::uint16_t block) {
  if (phase_ == phase::oack_sent) {
    // RFC 2347: ACK 0 accepts the OACK; any other number means nothing yet.
    if (block != 0) return {};
    phase_ = phase::sending;
    confirmed_ = true;
    retries_ = 0;
    return send_blocks(params_.windowsize);
  }

  // Map the 16-bit number onto the blocks sent but not yet acknowledged,
  // (acked_, high_water_]. That range is at most one window (<= 65535
  // blocks) wide, so each wire number names at most one block in it. A
  // number outside it (0 distance: the ACK we already have) is old news.
  const auto distance = static_cast<std::uint16_t>(block - static_cast<std::uint16_t>(acked_));
  if (distance == 0 || distance > high_water_ - acked_) return {};

  acked_ += distance;
  confirmed_ = true;
  retries_ = 0;
  if (acked_ == last_block_) {
    phase_ = phase::done;
    action a;
    a.end = transfer_end{transfer_outcome::completed, {}};
    return a;
  }
  // The whole window arrived, or the client says where a gap begins (or
  // answers a probe): a new window from the block after the acknowledged one.
  return send_blocks(params_.windowsize);
}

action read_transfer::on_timeout() {
  if (phase_ == phase::idle || phase_ == phase::done) return {};
  ++timeouts_;
  if (!confirmed_ && retries_ >= std::min(params_.unconfirmed_retries, params_.max_retries)) {
    // Silent: see the class comment.
    return fail(transfer_outcome::timed_out,
                "the client acknowledged nothing (first packet sent " + std::to_string(retries_ + 1) + " times)",
                std::nullopt);
  }
  if (retries_ >= params_.max_retries) {
    return fail(transfer_outcome::timed_out,
                "timed out after " + std::to_string(retries_) + " retransmissions",
                error_code::not_defined, "Transfer timed out");
  }
  ++retries_;
  if (phase_ == phase::oack_sent) {
    ++retransmissions_;
    action a;
    a.send.emplace_back();
    encode_oack(params_.oack, a.send.back());
    a.arm_timer = params_.timeout;
    return a;
  }
  // The probe: see the class comment for why it is one block and not the
  // window again.
  return send_blocks(1);
}

bool read_transfer::build_block(std::uint64_t block, std::vector<std::uint8_t>& d) {
  const auto offset = (block - 1) * params_.blksize;
  const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(params_.blksize, size_ - offset));
  // Built in place so the payload is read straight into the datagram; a
  // recycled buffer of the same size is reused as it is, without zeroing.
  if (d.empty() && !spare_.empty()) {
    d = std::move(spare_.back());
    spare_.pop_back();
  }
  d.resize(4 + length);
  d[0] = 0;
  d[1] = static_cast<std::uint8_t>(opcode::data);
  // The low 16 bits of the index: wire numbers roll over from 65535 to 0.
  d[2] = static_cast<std::uint8_t>((block >> 8) & 0xff);
  d[3] = static_cast<std::uint8_t>(block & 0xff);
  return source_->read(offset, std::span(d).subspan(4)) == length;
}

action read_transfer::send_blocks(std::uint64_t count) {
  action a;
  const auto first = acked_ + 1;
  const auto last = std::min(acked_ + count, last_block_);
  a.send.reserve(static_cast<std::size_t>(last - first + 1));
  for (auto block = first; block <= last; ++block) {
    std::vector<std::uint8_t> d;
    // Blocks read ahead that this window no longer needs (it starts later)
    // go back to the pool; the one it needs is taken as it is.
    while (!ahead_.empty() && ahead_first_ < block) {
      spare_.push_back(std::move(ahead_.front()));
      ahead_.pop_front();
      ++ahead_first_;
    }
    if (!ahead_.empty() && ahead_first_ == block) {
      d = std::move(ahead_.front());
      ahead_.pop_front();
      ++ahead_first_;
    } else if (!build_block(block, d)) {
      const auto offset = (block - 1) * params_.blksize;
      return fail(transfer_outcome::read_failed,
                  "content source returned less than expected at offset " + std::to_string(offset),
                  error_code::not_defined, "Read error");
    }
    if (block <= high_water_) ++retransmissions_;
    a.send.push_back(std::move(d));
  }
  high_water_ = std::max(high_water_, last);
  a.arm_timer = params_.timeout;
  return a;
}

void read_transfer::read_ahead() {
  if (phase_ != phase::sending) return;
  // The window an ACK of everything sent so far would call for.
  const auto from = high_water_ + 1;
  const auto to = std::min(high_water_ + params_.windowsize, last_block_);
  if (from > to) return;
  if (ahead_.empty() || ahead_first_ + ahead_.size() < from) {
    for (auto& d : ahead_) spare_.push_back(std::move(d));
    ahead_.clear();
    ahead_first_ = from;
  }
  while (ahead_first_ + ahead_.size() <= to) {
    std::vector<std::uint8_t> d;
    // A read that fails here is left to fail again where it counts, when
    // the block is due.
    if (!build_block(ahead_first_ + ahead_.size(), d)) return;
    ahead_.push_back(std::move(d));
  }
}

action read_transfer::fail(transfer_outcome outcome, std::string reason,
                           std::optional<error_code> tell_client, std::string_view message) {
  phase_ = phase::done;
  action a;
  if (tell_client) a.send.push_back(error_packet(*tell_client, message));
  a.end = transfer_end{outcome, std::move(reason)};
  return a;
}

void read_transfer::recycle(std::vector<std::vector<std::uint8_t>>& sent) {
  // At most a window's worth is kept: that is all one action ever needs.
  for (auto& d : sent) {
    if (spare_.size() >= params_.windowsize) break;
    spare_.push_back(std::move(d));
  }
  sent.clear();
}

transfer_progress read_transfer::progress() const {
  transfer_progress p;
  p.bytes_sent = std::min<std::uint64_t>(size_, high_water_ * params_.blksize);
  p.bytes_acked = std::min<std::uint64_t>(size_, acked_ * params_.blksize);
  p.retransmissions = retransmissions_;
  p.timeouts = timeouts_;
  p.window = params_.windowsize;
  return p;
}

}  // namespace provbox::tftp
