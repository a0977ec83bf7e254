// libFuzzer target for the TFTP codec and the read-transfer state machine.
//  1. decode() any bytes; a packet that decodes must survive encode+decode
//     unchanged, and its encoding must be a fixed point.
//  2. to_netascii() must match netascii_size() and convert back exactly.
//  3. The same bytes drive a read_transfer over a small file as a script of
//     events; every datagram it sends must be well formed and every DATA
//     block must carry the right slice of the file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "tftp/netascii.hpp"
#include "tftp/packet.hpp"
#include "tftp/transfer.hpp"

namespace tftp = provbox::tftp;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

void check_round_trip(std::span<const std::uint8_t> input) {
  const auto first = tftp::decode(input);
  if (!first) return;
  const auto wire = tftp::encode(first.value());
  const auto second = tftp::decode(wire);
  require(second.ok());
  require(second.value() == first.value());
  require(tftp::encode(second.value()) == wire);
}

void check_netascii(std::span<const std::uint8_t> input) {
  const auto wire = tftp::to_netascii(input);
  require(wire.size() == tftp::netascii_size(input));
  std::vector<std::uint8_t> back;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\r') {
      require(i + 1 < wire.size() && (wire[i + 1] == '\n' || wire[i + 1] == 0));
      back.push_back(wire[i + 1] == '\n' ? '\n' : '\r');
      ++i;
    } else {
      require(wire[i] != '\n');  // every LF is preceded by CR
      back.push_back(wire[i]);
    }
  }
  require(back == std::vector<std::uint8_t>(input.begin(), input.end()));
}

// Reads the input front to back; zeros once it runs out.
class script {
public:
  explicit script(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }
  std::uint8_t byte() { return pos_ < bytes_.size() ? bytes_[pos_++] : 0; }
  std::span<const std::uint8_t> take(std::size_t n) {
    n = std::min(n, bytes_.size() - std::min(pos_, bytes_.size()));
    const auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

// Checks one action against the file and the transfer's rules.
void check_action(const tftp::action& a, const std::vector<std::uint8_t>& file,
                  const tftp::transfer_params& p, bool finished_before) {
  if (finished_before) {
    require(a.send.empty() && !a.arm_timer && !a.end);
    return;
  }
  require(a.send.size() <= p.windowsize || a.end);
  for (const auto& d : a.send) {
    const auto r = tftp::decode(d);
    require(r.ok());
    if (const auto* block = std::get_if<tftp::data>(&r.value())) {
      // The file is far below 65535 blocks, so wire numbers are absolute.
      require(block->block >= 1);
      const auto offset = static_cast<std::size_t>(block->block - 1) * p.blksize;
      require(offset <= file.size());
      const auto length = std::min(p.blksize, file.size() - offset);
      require(block->payload.size() == length);
      require(std::equal(block->payload.begin(), block->payload.end(),
                         file.begin() + static_cast<std::ptrdiff_t>(offset)));
    } else if (const auto* o = std::get_if<tftp::oack>(&r.value())) {
      require(o->options == p.oack);
    } else {
      require(std::holds_alternative<tftp::error>(r.value()));
      require(a.end.has_value());
    }
  }
  if (a.end) require(!a.arm_timer);
}

void drive_transfer(std::span<const std::uint8_t> input) {
  script s(input);
  // A small file and parameters chosen by the first bytes.
  const auto setup = s.byte();
  std::vector<std::uint8_t> file(static_cast<std::size_t>(s.byte()) * 3 % 700);
  for (std::size_t i = 0; i < file.size(); ++i) file[i] = static_cast<std::uint8_t>(i * 13 + 1);

  tftp::option_list requested;
  if (setup & 1) requested.push_back({"blksize", std::to_string(8 + (s.byte() % 64))});
  if (setup & 2) requested.push_back({"windowsize", std::to_string(1 + (s.byte() % 8))});
  if (setup & 4) requested.push_back({"tsize", "0"});
  tftp::server_limits limits;
  limits.max_retries = setup >> 5;  // 0..7
  const auto params = tftp::negotiate(requested, file.size(), limits);
  tftp::read_transfer t(params, std::make_unique<tftp::memory_source>(file));

  std::uint16_t last_sent = 0;
  auto note = [&](const tftp::action& a, bool finished_before) {
    check_action(a, file, t.params(), finished_before);
    for (const auto& d : a.send) {
      if (d.size() >= 4 && d[1] == 3) last_sent = static_cast<std::uint16_t>((d[2] << 8) | d[3]);
    }
    const auto progress = t.progress();
    require(progress.bytes_acked <= progress.bytes_sent);
    require(progress.bytes_sent <= file.size());
    require(progress.window >= 1 && progress.window <= t.params().windowsize);
    if (a.end && a.end->ok()) require(progress.bytes_acked == file.size());
  };

  note(t.start(), false);
  for (int steps = 0; steps < 4096 && !s.done(); ++steps) {
    const bool was_finished = t.finished();
    const auto op = s.byte();
    switch (op % 4) {
      case 0:
        note(t.on_timeout(), was_finished);
        break;
      case 1:  // an ACK near the last block sent: in-window, duplicate or early
        note(t.on_packet(tftp::ack{static_cast<std::uint16_t>(last_sent - (op >> 2) % 8 + (op >> 5) % 2)}),
             was_finished);
        break;
      case 2:  // any ACK number
        note(t.on_packet(tftp::ack{static_cast<std::uint16_t>((s.byte() << 8) | s.byte())}), was_finished);
        break;
      default: {  // a datagram from the input, if it decodes
        const auto r = tftp::decode(s.take(op >> 2));
        if (r) note(t.on_packet(r.value()), was_finished);
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  check_round_trip(input);
  check_netascii(input);
  drive_transfer(input);
  return 0;
}
