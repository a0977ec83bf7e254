// The TFTP server: the listening loop, and one coroutine per read transfer
// that carries out read_transfer's actions on an ephemeral socket.
#include "tftp/server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <map>
#include <optional>
#include <unordered_map>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "server/provisioning/request_path.hpp"
#include "tftp/netascii.hpp"

// g++ 12 reports a false -Wmismatched-new-delete when it inlines the ramp of
// an Asio coroutine (class-specific operator new and delete of the frame)
// into its caller.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace provbox::tftp {
namespace net = boost::asio;
using udp = net::ip::udp;
using clock_type = std::chrono::steady_clock;
constexpr auto as_tuple_awaitable = net::as_tuple(net::use_awaitable);

namespace {

// The statuses the access log and the device events get, HTTP-style like
// every other transport's, so /metrics counts them alike.
constexpr int status_ok = 200;
constexpr int status_bad_request = 400;       // a name check_tftp_name refused, netascii firmware
constexpr int status_not_found = 404;         // the blob vanished between resolve and open
constexpr int status_not_allowed = 405;       // WRQ (HTTP says 405 for a method it does not serve)
constexpr int status_timed_out = 408;         // retransmissions unanswered (transfer.hpp: max_retries, or unconfirmed_retries)
constexpr int status_client_gone = 499;       // the client sent ERROR or something illegal
constexpr int status_server_error = 500;      // read failure, exception
constexpr int status_busy = 503;              // server busy (refused), or evicted while unconfirmed

// A datagram larger than any request a client needs to send (the filename
// and every option fit in a few hundred bytes); what is larger is cut and
// then fails to decode.
constexpr std::size_t request_buffer_size = 65536;
// What a transfer's socket can receive: ACK, ERROR, or junk. A client's
// ERROR text longer than this is cut and counted as malformed.
constexpr std::size_t reply_buffer_size = 1024;
// Datagrams per sendmmsg call (the kernel takes up to 1024): a whole default
// window in one system call, with its headers on the stack.
constexpr std::size_t burst_size = 64;

// What may go into a log line or an event's file column: a raw TFTP name is
// any bytes a client chose. Control bytes become \xNN, and the length is
// bounded so a 64 KB name cannot flood the log.
std::string printable(std::string_view name) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name.substr(0, 256)) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > 256) out += "...";
  return out;
}

// Devices are found by their IPv4 address; a dual-stack listener sees them as
// ::ffff:a.b.c.d.
std::string address_of(const udp::endpoint& peer) {
  auto address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  return address.to_string();
}

// Best effort, never blocking: ERRORs are sent once and not retransmitted
// (RFC 1350 §7), so one lost to a full buffer is one a timeout replaces.
void send_now(udp::socket& socket, const udp::endpoint& to, std::span<const std::uint8_t> datagram) {
  (void)::sendto(socket.native_handle(), datagram.data(), datagram.size(), MSG_DONTWAIT, to.data(),
                 static_cast<socklen_t>(to.size()));
}

// ---- content sources --------------------------------------------------------

// A rendered profile, shared with the service's cache: no copy per transfer.
class shared_text_source final : public content_source {
public:
  explicit shared_text_source(std::shared_ptr<const std::string> text) : text_(std::move(text)) {}
  std::uint64_t size() const override { return text_->size(); }
  std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset >= text_->size()) return 0;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), text_->size() - offset));
    std::memcpy(out.data(), text_->data() + offset, n);
    return n;
  }

private:
  std::shared_ptr<const std::string> text_;
};

// A firmware image read from disk by offset, never loaded whole: a 40 MB
// image times a few hundred transfers would not fit. Small blocks are served
// from a read-ahead buffer so a 512-byte transfer costs one pread per 64 KB,
// not per block; a retransmission behind the buffer simply reads again.
class file_source final : public content_source {
public:
  file_source(int fd, std::uint64_t size) : fd_(fd), size_(size) {
    // The kernel reads ahead too, and more eagerly for a sequential file.
    (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  ~file_source() override { ::close(fd_); }
  file_source(const file_source&) = delete;
  file_source& operator=(const file_source&) = delete;

  std::uint64_t size() const override { return size_; }

  std::size_t read(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset >= size_) return 0;
    const auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
    // Big blocks gain nothing from the buffer but a second copy.
    if (wanted >= direct_threshold) return pread_all(offset, out.first(wanted));
    if (offset < buffer_offset_ || offset + wanted > buffer_offset_ + buffer_.size()) {
      buffer_.resize(buffer_capacity);
      const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_capacity, size_ - offset));
      const auto got = pread_all(offset, std::span(buffer_).first(length));
      buffer_.resize(got);
      buffer_offset_ = offset;
      if (got < wanted) {
        std::memcpy(out.data(), buffer_.data(), got);
        return got;  // short: the file shrank; the transfer fails
      }
    }
    std::memcpy(out.data(), buffer_.data() + (offset - buffer_offset_), wanted);
    return wanted;
  }

private:
  static constexpr std::size_t buffer_capacity = 64 * 1024;
  static constexpr std::size_t direct_threshold = 16 * 1024;

  std::size_t pread_all(std::uint64_t offset, std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      const auto n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

  int fd_;
  std::uint64_t size_;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t buffer_offset_ = 0;
};

// ---- shared state -----------------------------------------------------------

struct registration;

// What the listener and the transfers share. Owned jointly, so a transfer
// that outlives run_server (its socket was closed) still finds it.
struct registry {
  provisioning::service& service;
  server_stats& stats;
  // The transfers running now by client transfer ID. Usually one each; two
  // when a client reuses its port for the next request while the last
  // transfer is still reading its final ACK.
  std::multimap<udp::endpoint, const registration*> peers;
  // Who holds a slot, and which transfer to end when the table gives its
  // slot away (transfer_table.hpp).
  transfer_table table;
  std::unordered_map<transfer_table::entry_id, registration*> entries;
};

// One transfer's socket and retransmission timer. The timer is a watchdog:
// arming only moves `deadline`, and the single pending wait re-waits when it
// wakes early, so an ACK costs no timer syscall. When the deadline passes it
// sets `timed_out` and cancels the pending receive.
struct transfer_io {
  transfer_io(udp::socket s, udp::endpoint p)
      : socket(std::move(s)), peer(std::move(p)), timer(socket.get_executor()) {}
  udp::socket socket;
  udp::endpoint peer;
  net::steady_timer timer;
  clock_type::time_point deadline{};
  bool watching = false;
  bool timed_out = false;
  bool done = false;
};

void watch(const std::shared_ptr<transfer_io>& io) {
  io->watching = true;
  io->timer.expires_at(io->deadline);
  io->timer.async_wait([io](const boost::system::error_code&) {
    if (io->done) {
      io->watching = false;
      return;
    }
    if (clock_type::now() < io->deadline) {
      watch(io);  // re-armed since this wait began
      return;
    }
    io->watching = false;
    io->timed_out = true;
    boost::system::error_code ignored;
    io->socket.cancel(ignored);
  });
}

// The timeout of a transfer is constant, so deadlines only ever move later
// and a running wait never has to be shortened.
void arm(const std::shared_ptr<transfer_io>& io, std::chrono::milliseconds after) {
  io->deadline = clock_type::now() + after;
  io->timed_out = false;
  if (!io->watching) watch(io);
}

// Sends datagrams[from, to) with sendmmsg, as many per call as it takes.
// Returns the index of the first datagram not sent: `to`, or where the
// socket buffer filled up (EAGAIN), when the caller must wait for it.
// Other errors (no route, a firewall) drop that datagram like the network
// would; the retransmission timer covers it.
std::size_t send_burst(udp::socket& socket, const udp::endpoint& peer,
                       const std::vector<std::vector<std::uint8_t>>& datagrams, std::size_t from, std::size_t to) {
  std::array<mmsghdr, burst_size> headers{};
  std::array<iovec, burst_size> vectors{};
  while (from < to) {
    const auto count = std::min(burst_size, to - from);
    for (std::size_t i = 0; i < count; ++i) {
      auto& d = datagrams[from + i];
      vectors[i] = {const_cast<std::uint8_t*>(d.data()), d.size()};
      headers[i] = {};
      headers[i].msg_hdr.msg_name = const_cast<sockaddr*>(peer.data());
      headers[i].msg_hdr.msg_namelen = static_cast<socklen_t>(peer.size());
      headers[i].msg_hdr.msg_iov = &vectors[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = ::sendmmsg(socket.native_handle(), headers.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
    if (sent > 0) {
      from += static_cast<std::size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return from;
    spdlog::debug("tftp: send to {} failed: {}", address_of(peer), std::strerror(errno));
    ++from;
  }
  return from;
}

// Pacing, the I/O side of "back off rather than retry the same burst
// forever". A window goes out as one burst. If the client then stops
// answering, the likeliest cause is a socket buffer too small for the burst
// (it kept the head of the window and lost the tail), and resending the same
// burst would lose the same tail. So after a timeout the window is sent in
// smaller bursts with a short pause between them, which lets a client that
// sleeps in poll() wake up and drain its buffer. The window itself stays
// whole: an RFC 7440 client only acknowledges after `windowsize` blocks (see
// read_transfer). Bursts halve on each timeout and grow by one per window
// that arrives without one, up to one less than the size that last failed.
class pacing {
public:
  explicit pacing(std::size_t windowsize) : windowsize_(windowsize), ceiling_(windowsize) {}

  // Datagrams per burst; `windowsize` means the whole window at once.
  std::size_t burst() const { return burst_; }

  void on_timeout() {
    if (windowsize_ <= 1) return;
    ceiling_ = std::max<std::size_t>(1, burst_ - 1);
    burst_ = std::max<std::size_t>(1, burst_ / 2);
    since_timeout_ = true;
  }

  // A new window is about to go out because the last one was acknowledged.
  void on_window() {
    if (!since_timeout_ && burst_ < ceiling_) ++burst_;
    since_timeout_ = false;
  }

private:
  std::size_t windowsize_;
  std::size_t ceiling_;
  std::size_t burst_ = windowsize_;
  bool since_timeout_ = false;
};

// Long enough for a sleeping client on the same machine to be scheduled and
// read what it has (tens of microseconds on loopback, more on a busy or
// virtual machine); short enough that even single-datagram bursts move a
// megabyte a second at blksize 1468.
constexpr auto pace_gap = std::chrono::milliseconds(1);

// ---- busy-polling for the next ACK -------------------------------------------
//
// A lockstep transfer sends a block and waits one round trip for its ACK.
// Waiting in the reactor costs an epoll_wait, a wake-up and a trip through
// the scheduler and the coroutine per block, which on loopback or a LAN is as
// long as the client's whole turn (and longer when the wake-up crosses cores).
// So a transfer that is alone on the server, and whose client has been
// answering within the budget, reads its socket without blocking for up to
// `server_options::busy_poll` before it sleeps in the reactor.

// How long a transfer may keep the thread without going back to the
// io_context while its ACKs keep arriving by polling: HTTP and DHCP work that
// came in meanwhile waits at most this (plus one poll budget).
constexpr auto poll_run_limit = std::chrono::microseconds(250);
// After polls that caught nothing, the next poll waits for this many blocks
// at most (doubling from 1), so a slow client costs one wasted budget per
// that many blocks, and a client that speeds up is noticed again.
constexpr std::uint32_t max_poll_backoff = 64;

class ack_poller {
public:
  explicit ack_poller(std::chrono::microseconds budget) : budget_(budget) {}

  std::chrono::microseconds budget() const { return budget_; }

  // Whether to poll for the reply to what was just sent, for a transfer
  // alone on the server (others in flight have packets for the reactor).
  bool wanted(bool alone) const { return budget_.count() > 0 && alone && (fast_ || skipped_ >= backoff_); }

  void on_skipped() { ++skipped_; }

  void on_polled(bool caught) {
    skipped_ = 0;
    backoff_ = caught ? 0 : std::clamp<std::uint32_t>(backoff_ * 2, 1, max_poll_backoff);
  }

  // The client's answer came `round_trip` after what we sent.
  void on_reply(clock_type::duration round_trip) { fast_ = round_trip <= budget_; }

private:
  std::chrono::microseconds budget_;
  bool fast_ = true;  // unknown at first: try
  std::uint32_t backoff_ = 0;
  std::uint32_t skipped_ = 0;
};

// Reads one datagram without blocking, retrying until `until`. Before each
// try the CPU goes to whoever is runnable, such as a client on the same core
// that was just woken by our DATA and is about to send the ACK (so the first
// read, which could only find nothing, is not spent). Returns its size, or
// nullopt when nothing came or the read failed (the reactor path then reads
// it and reports the error).
std::optional<std::size_t> poll_receive(udp::socket& socket, std::span<std::uint8_t> buffer, udp::endpoint& sender,
                                        clock_type::time_point until) {
  for (;;) {
    (void)::sched_yield();
    auto length = static_cast<socklen_t>(sender.capacity());
    const auto n = ::recvfrom(socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT, sender.data(),
                              &length);
    if (n >= 0) {
      sender.resize(length);
      return static_cast<std::size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return std::nullopt;
    if (clock_type::now() >= until) return std::nullopt;
  }
}

int status_of(transfer_outcome outcome) {
  switch (outcome) {
    case transfer_outcome::completed: return status_ok;
    case transfer_outcome::client_error: return status_client_gone;
    case transfer_outcome::timed_out: return status_timed_out;
    case transfer_outcome::illegal_operation: return status_client_gone;
    case transfer_outcome::read_failed: return status_server_error;
  }
  return status_server_error;
}

// The bytes a transfer serves, as they go on the wire, or the ERROR that
// refuses it instead.
struct prepared_content {
  std::unique_ptr<content_source> source;
  error_code refusal_code = error_code::not_defined;
  std::string refusal_message;
  int refusal_status = 0;
};

prepared_content prepare(const provisioning::answer& a, transfer_mode mode) {
  prepared_content c;
  if (a.kind == provisioning::answer_kind::profile) {
    if (mode == transfer_mode::netascii) {
      // Profiles are a few KB: converting once up front keeps the source a
      // plain buffer and gives tsize its exact value.
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(a.body->data());
      c.source = std::make_unique<memory_source>(to_netascii(std::span(bytes, a.body->size())));
    } else {
      c.source = std::make_unique<shared_text_source>(a.body);
    }
    return c;
  }
  const auto& fw = *a.firmware;
  if (mode == transfer_mode::netascii) {
    // A binary image converted line by line would be corrupt on arrival.
    c.refusal_code = error_code::illegal_operation;
    c.refusal_message = "firmware is served in octet mode only";
    c.refusal_status = status_bad_request;
    return c;
  }
  const int fd = ::open(fw.disk_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    c.refusal_code = error_code::file_not_found;
    c.refusal_status = status_not_found;
    c.refusal_message = "firmware image missing on disk: " + fw.disk_path;
    return c;
  }
  // The size the inventory recorded with the SHA-256: a blob that is shorter
  // on disk ends the transfer with a read error rather than a short image.
  c.source = std::make_unique<file_source>(fd, fw.size);
  return c;
}

// A transfer in the registry: made by the listener before it spawns the
// transfer, so a repeated RRQ or one past the limits is caught even before
// the coroutine first runs, and a transfer can be evicted before it has run.
struct registration {
  std::shared_ptr<registry> reg;
  udp::endpoint peer;
  transfer_table::entry_id entry;
  std::shared_ptr<transfer_io> io;
  bool heard = false;    // a packet from the client came to the transfer's port
  bool evicted = false;  // its slot went to a new request: end without a word
  registration(std::shared_ptr<registry> r, udp::endpoint p, transfer_table::entry_id e, udp::socket socket)
      : reg(std::move(r)), peer(std::move(p)), entry(e),
        io(std::make_shared<transfer_io>(std::move(socket), peer)) {
    reg->peers.emplace(peer, this);
    reg->entries.emplace(entry, this);
    ++reg->stats.active;
  }
  // The registry is jointly owned, so this is safe however the frame ends,
  // even when the io_context destroys it suspended at shutdown. The caller's
  // counters may be gone by then, so `active` is not touched here.
  ~registration() {
    auto [first, last] = reg->peers.equal_range(peer);
    for (auto it = first; it != last; ++it) {
      if (it->second == this) {
        reg->peers.erase(it);
        break;
      }
    }
    reg->entries.erase(entry);
    reg->table.remove(entry);  // nothing if it was evicted
  }
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
};

// An RRQ from a client transfer ID that has a transfer running is the same
// request again (the client did not hear from us in time) while that transfer
// has not heard from the client. Once it has, the client has moved on, and an
// RRQ from the same port is its next request: it reused the port before we
// read the last ACK of the previous one.
bool is_repeated_request(const registry& reg, const udp::endpoint& peer) {
  auto [first, last] = reg.peers.equal_range(peer);
  for (auto it = first; it != last; ++it) {
    if (!it->second->heard) return true;
  }
  return false;
}

// Ends a transfer whose slot the table gave to a new request. Its peer hears
// nothing: it has answered nothing so far and may never have asked (an ERROR
// would be one more datagram at a possible victim), and a real client that
// is merely slow repeats its RRQ, which is then a new request. The socket is
// closed now, so its descriptor is free for the new transfer; that also wakes
// the coroutine, which records the end and drops the registration.
void evict(registry& reg, transfer_table::entry_id id) {
  const auto it = reg.entries.find(id);
  if (it == reg.entries.end()) return;
  auto& r = *it->second;
  r.evicted = true;
  boost::system::error_code ignored;
  r.io->socket.close(ignored);
  ++reg.stats.evicted;
}

// One read request, from the name check to the access log line.
net::awaitable<void> serve_transfer(registration& registered, request req, server_limits limits,
                                    std::chrono::microseconds busy_poll) {
  const auto& reg = registered.reg;
  const auto peer = registered.peer;
  auto& stats = reg->stats;
  auto& service = reg->service;
  const auto io = registered.io;
  const auto started = clock_type::now();

  provisioning::request pr;
  pr.via = provisioning::transport::tftp;
  pr.path = printable(req.filename);
  pr.peer_address = address_of(peer);
  provisioning::answer a;  // a refusal until resolve says otherwise
  bool recorded = false;
  auto finish = [&](int status, std::uint64_t bytes, std::string_view detail) {
    recorded = true;
    service.record(pr, a, status, bytes, clock_type::now() - started, detail);
  };
  auto refuse = [&](error_code code, std::string_view message, int status, std::string_view detail) {
    send_now(io->socket, peer, error_packet(code, message));
    ++stats.refused;
    finish(status, 0, detail);
  };
  constexpr std::string_view evicted_detail =
      "evicted: the table was full (tftp.max_transfers) and this client had acknowledged nothing; its slot went "
      "to a new request";

  try {
    if (registered.evicted) {
      // Evicted before it first ran: nothing was sent.
      io->done = true;
      ++stats.failed;
      finish(status_busy, 0, evicted_detail);
      co_return;
    }
    auto checked = provisioning::check_tftp_name(req.filename);
    if (!checked.path) {
      a.status = status_bad_request;
      a.reason = checked.refusal;
      refuse(error_code::access_violation, checked.refusal, status_bad_request, checked.refusal);
      co_return;
    }
    pr.path = *checked.path;
    a = service.resolve(pr);
    if (a.kind == provisioning::answer_kind::refusal) {
      // The reason names devices and addresses: it goes to the log, and the
      // client gets the RFC's words only. A leading '/' is the root of what
      // provbox serves (SPA-style devices ask for "/IP542N.conf"); an absolute
      // name that is none of those is someone reaching for the filesystem
      // (/etc/passwd), and RFC 1350 calls that an access violation, not a
      // missing file.
      const bool absolute = req.filename.starts_with('/');
      refuse(a.status == 403 || absolute ? error_code::access_violation : error_code::file_not_found, {},
             a.status, {});
      co_return;
    }
    auto content = prepare(a, req.mode);
    if (!content.source) {
      refuse(content.refusal_code,
             content.refusal_code == error_code::file_not_found ? std::string_view{} : content.refusal_message,
             content.refusal_status, content.refusal_message);
      co_return;
    }

    auto params = negotiate(req.options, content.source->size(), limits);
    read_transfer transfer(std::move(params), std::move(content.source));
    std::array<std::uint8_t, reply_buffer_size> buffer{};
    udp::endpoint sender;

    pacing pace(transfer.params().windowsize);
    net::steady_timer pause(io->socket.get_executor());
    const bool lockstep = transfer.params().windowsize == 1;
    ack_poller poller(busy_poll);
    auto sent_at = clock_type::now();
    auto resumed = sent_at;  // when the coroutine last came back from the io_context

    bool confirmed = false;  // told to the table
    auto step = transfer.start();
    for (;;) {
      // Evicted while waiting (the socket is closed): stop here.
      if (registered.evicted) break;
      // Carry out the action: send, then (re)arm, then end if told to.
      std::size_t next = 0;
      while (next < step.send.size() && !registered.evicted) {
        const auto burst_end = std::min(step.send.size(), next + pace.burst());
        next = send_burst(io->socket, peer, step.send, next, burst_end);
        if (next < burst_end) {
          // The socket buffer is full (a slow link, not loopback): wait.
          auto [ec] = co_await io->socket.async_wait(udp::socket::wait_write, as_tuple_awaitable);
          if (ec && ec != net::error::operation_aborted) break;
        } else if (next < step.send.size()) {
          pause.expires_after(pace_gap);
          co_await pause.async_wait(as_tuple_awaitable);
        }
      }
      if (registered.evicted) break;
      if (!step.send.empty()) sent_at = clock_type::now();
      transfer.recycle(step.send);
      if (step.arm_timer) arm(io, *step.arm_timer);
      if (step.end) break;

      // The next window, read while the client works on this one.
      transfer.read_ahead();

      if (io->timed_out) {
        io->timed_out = false;
        // A lost OACK says nothing about the client's buffer; lost DATA may.
        if (transfer.progress().bytes_sent > 0) pace.on_timeout();
        step = transfer.on_timeout();
        continue;
      }
      step = {};
      std::optional<std::size_t> polled;
      if (lockstep && poller.wanted(stats.active == 1)) {
        if (clock_type::now() - resumed >= poll_run_limit) {
          // Let the rest of the server run; the watchdog may fire meanwhile.
          co_await net::post(io->socket.get_executor(), net::use_awaitable);
          resumed = clock_type::now();
          if (io->timed_out || registered.evicted) continue;
        }
        polled = poll_receive(io->socket, buffer, sender, clock_type::now() + poller.budget());
        poller.on_polled(polled.has_value());
      } else {
        poller.on_skipped();
      }
      boost::system::error_code ec;
      std::size_t n = 0;
      if (polled) {
        n = *polled;
        ++stats.polled;
      } else {
        std::tie(ec, n) = co_await io->socket.async_receive_from(net::buffer(buffer), sender, as_tuple_awaitable);
        resumed = clock_type::now();
      }
      if (ec == net::error::operation_aborted) continue;  // the watchdog: timed_out is set
      if (ec) {
        // ICMP errors can surface on a UDP socket; the client is as good as
        // gone, but the retransmission timer decides that.
        spdlog::debug("tftp: receive for {} failed: {}", pr.peer_address, ec.message());
        continue;
      }
      if (sender != peer) {
        // RFC 1350 §4: another transfer ID. Tell the sender, leave ours be.
        ++stats.stray;
        send_now(io->socket, sender, error_packet(error_code::unknown_transfer_id));
        continue;
      }
      auto decoded = decode(std::span(buffer.data(), n));
      if (!decoded) {
        ++stats.malformed;
        continue;
      }
      registered.heard = true;
      poller.on_reply(clock_type::now() - sent_at);
      step = transfer.on_packet(decoded.value());
      if (!confirmed && transfer.confirmed()) {
        // The peer hears us: from now on its slot is never given away.
        confirmed = true;
        reg->table.confirm(registered.entry);
      }
      if (step.send.size() > 1) pace.on_window();
    }

    io->done = true;
    io->timer.cancel();
    const auto progress = transfer.progress();
    if (registered.evicted) {
      ++stats.failed;
      finish(status_busy, progress.bytes_acked, evicted_detail);
      co_return;
    }
    const auto& end = *step.end;
    if (end.ok()) ++stats.completed;
    else ++stats.failed;
    std::string detail = end.reason;
    if (progress.retransmissions > 0 && end.outcome != transfer_outcome::timed_out) {
      // How hard the transfer was, for whoever reads the log: timeouts cost
      // the client time, retransmissions cost the network.
      if (!detail.empty()) detail += "; ";
      detail += std::to_string(progress.timeouts) + " timeouts, " + std::to_string(progress.retransmissions) +
                " retransmissions";
    }
    finish(status_of(end.outcome), progress.bytes_acked, detail);
  } catch (const std::exception& e) {
    // Only this transfer ends; the error is logged and recorded once.
    io->done = true;
    io->timer.cancel();
    ++stats.failed;
    spdlog::error("tftp: transfer of /{} to {} ended by an error: {}", pr.path, pr.peer_address, e.what());
    send_now(io->socket, peer, error_packet(error_code::not_defined, "Internal error"));
    if (!recorded) {
      try {
        service.record(pr, a, status_server_error, 0, clock_type::now() - started, e.what());
      } catch (const std::exception&) {
      }
    }
  }
}

// A transfer, and its end in the counters. Only a transfer that ends counts
// down `active`: one destroyed suspended (the io_context went away after the
// grace period) never reaches that line, so the caller's counters, which may
// be gone by then, are never touched from a destructor.
net::awaitable<void> serve_read(std::unique_ptr<registration> registered, request req, server_limits limits,
                                std::chrono::microseconds busy_poll) {
  try {
    co_await serve_transfer(*registered, std::move(req), limits, busy_poll);
  } catch (...) {
    // serve_transfer handles std::exception itself; anything else ends here.
    ++registered->reg->stats.failed;
    spdlog::error("tftp: transfer to {} stopped by an unknown error", address_of(registered->peer));
  }
  --registered->reg->stats.active;
}

// Answers a request the listener refuses itself (no transfer port, no
// name lookup), and logs it like any other.
void refuse_at_listener(registry& reg, udp::socket& socket, const udp::endpoint& peer, const request& req,
                        error_code code, std::string_view message, int status, std::string_view detail) {
  send_now(socket, peer, error_packet(code, message));
  ++reg.stats.refused;
  provisioning::request pr;
  pr.via = provisioning::transport::tftp;
  pr.path = printable(req.filename);
  pr.peer_address = address_of(peer);
  provisioning::answer a;
  a.status = status;
  a.reason = std::string(detail);
  reg.service.record(pr, a, status, 0, clock_type::duration::zero(), detail);
}

// ---- the listening socket -------------------------------------------------------

// On a wildcard listener (0.0.0.0:69) the kernel says, for each request,
// which local address the client sent it to (IP_PKTINFO, IPV6_RECVPKTINFO).
// The transfer socket is bound to that address: a reply from another address
// of a host with several would look like a stranger to the client.
void ask_for_destination_addresses(udp::socket& socket, const udp::endpoint& local) {
  if (!local.address().is_unspecified()) return;
  const int on = 1;
  // IP_PKTINFO on an IPv6 socket covers the IPv4 clients of a dual-stack one.
  (void)::setsockopt(socket.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  if (local.address().is_v6())
    (void)::setsockopt(socket.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
}

struct arrival {
  std::size_t size = 0;
  udp::endpoint peer;
  net::ip::address local;  // where the client sent it: the reply comes from here
};

enum class receive_status { datagram, empty, error };

// One datagram without blocking, with its destination address when the
// kernel gives it.
receive_status receive_request(udp::socket& socket, std::span<std::uint8_t> buffer, const udp::endpoint& bound,
                               arrival& out) {
  sockaddr_storage from{};
  iovec data{buffer.data(), buffer.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))> control{};
  msghdr message{};
  message.msg_name = &from;
  message.msg_namelen = sizeof from;
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  const auto n = ::recvmsg(socket.native_handle(), &message, MSG_DONTWAIT);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? receive_status::empty : receive_status::error;
  out.size = static_cast<std::size_t>(n);
  const auto length = std::min<std::size_t>(message.msg_namelen, out.peer.capacity());
  std::memcpy(out.peer.data(), &from, length);
  out.peer.resize(length);
  out.local = bound.address();
  for (auto* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      // A broadcast or multicast request is answered from the address the
      // kernel would route the reply from.
      auto to = net::ip::address_v4(ntohl(info.ipi_addr.s_addr));
      if (to.is_multicast() || to == net::ip::address_v4::broadcast())
        to = net::ip::address_v4(ntohl(info.ipi_spec_dst.s_addr));
      out.local = bound.address().is_v6() ? net::ip::address(net::ip::make_address_v6(net::ip::v4_mapped, to))
                                          : net::ip::address(to);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      net::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &info.ipi6_addr, bytes.size());
      const net::ip::address_v6 to(bytes, info.ipi6_ifindex);
      if (!to.is_multicast()) out.local = to.is_link_local() ? to : net::ip::address_v6(bytes);
    }
  }
  return receive_status::datagram;
}

class listener {
public:
  listener(udp::socket& socket, provisioning::service& service, const server_options& options, server_stats& stats)
      : socket_(socket), options_(options), stats_(stats),
        reg_(std::make_shared<registry>(registry{service, stats, {}, {}, {}})) {}

  void on_datagram(std::span<const std::uint8_t> d, const udp::endpoint& peer, const net::ip::address& local) {
    auto decoded = decode(d);
    if (!decoded) {
      ++stats_.malformed;
      // Something that starts like a request deserves an answer a real
      // client can show; anything else is dropped without one, so the
      // listener is no reflector for junk.
      if (d.size() >= 2 && d[0] == 0 && (d[1] == 1 || d[1] == 2))
        send_now(socket_, peer,
                 error_packet(error_code::illegal_operation,
                              "malformed request: " + std::string(to_string(decoded.error()))));
      return;
    }
    auto* req = std::get_if<request>(&decoded.value());
    if (req == nullptr) {
      // An ACK or ERROR for a transfer that ended, sent to the wrong port.
      ++stats_.stray;
      return;
    }
    if (req->op == opcode::wrq) {
      refuse_at_listener(*reg_, socket_, peer, *req, error_code::access_violation, "write requests are refused",
                         status_not_allowed, "write request refused");
      return;
    }
    if (is_repeated_request(*reg_, peer)) {
      // The client repeated its RRQ before our first reply arrived; the
      // running transfer answers it.
      ++stats_.stray;
      return;
    }
    // A slot, by the table's rules (transfer_table.hpp), with the limits as
    // they are now: a reload changes them for new requests.
    const auto address = address_of(peer);
    const auto admission = reg_->table.admit(address, options_.table);
    if (admission.outcome == transfer_table::verdict::address_busy) {
      ++stats_.address_busy;
      refuse_at_listener(*reg_, socket_, peer, *req, error_code::not_defined, "server busy", status_busy,
                         "server busy: tftp.max_transfers_per_address reached for " + address);
      return;
    }
    if (admission.outcome == transfer_table::verdict::busy) {
      refuse_at_listener(*reg_, socket_, peer, *req, error_code::not_defined, "server busy", status_busy,
                         "server busy: tftp.max_transfers reached and every transfer is confirmed");
      return;
    }
    if (admission.evicted) evict(*reg_, *admission.evicted);
    // The transfer's own port (RFC 1350 §4), on the address the request came
    // in on, so the reply leaves from where the client sent to.
    udp::socket transfer_socket(socket_.get_executor());
    boost::system::error_code ec;
    transfer_socket.open(peer.protocol(), ec);
    if (!ec) transfer_socket.bind(udp::endpoint(local, 0), ec);
    if (ec) {
      // Out of descriptors or ports: say so now rather than time out.
      reg_->table.remove(admission.entry);
      spdlog::warn("tftp: no transfer socket for {}: {}", address, ec.message());
      refuse_at_listener(*reg_, socket_, peer, *req, error_code::not_defined, "server busy", status_busy,
                         "no transfer socket: " + ec.message());
      return;
    }
    ++stats_.started;
    auto registered = std::make_unique<registration>(reg_, peer, admission.entry, std::move(transfer_socket));
    net::co_spawn(socket_.get_executor(),
                  serve_read(std::move(registered), std::move(*req), options_.limits, options_.busy_poll),
                  [](std::exception_ptr e) {
                    if (!e) return;
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                      spdlog::error("tftp: transfer stopped by an error: {}", ex.what());
                    }
                  });
  }

private:
  udp::socket& socket_;
  const server_options& options_;
  server_stats& stats_;
  std::shared_ptr<registry> reg_;
};

// Requests handled per turn before other work gets the loop: a flood on the
// listening port must not starve the transfers in flight.
constexpr unsigned requests_per_turn = 64;

}  // namespace

net::awaitable<void> run_server(udp::socket& socket, provisioning::service& service, const server_options& options,
                                server_stats& stats) {
  boost::system::error_code ec;
  const auto bound = socket.local_endpoint(ec);
  if (ec) co_return;  // not bound, or already closed
  ask_for_destination_addresses(socket, bound);
  listener requests(socket, service, options, stats);
  std::vector<std::uint8_t> buffer(request_buffer_size);
  arrival a;

  while (socket.is_open()) {
    // Readiness, then every datagram queued (the reactor is edge-triggered:
    // what is left unread would not wake it again).
    auto [wait_ec] = co_await socket.async_wait(udp::socket::wait_read, as_tuple_awaitable);
    if (!socket.is_open() || wait_ec == net::error::operation_aborted || wait_ec == net::error::bad_descriptor) break;
    for (unsigned handled = 0; socket.is_open(); ++handled) {
      if (handled == requests_per_turn) {
        co_await net::post(socket.get_executor(), net::use_awaitable);
        handled = 0;
        if (!socket.is_open()) break;
      }
      const auto status = receive_request(socket, buffer, bound, a);
      if (status == receive_status::empty) break;
      // An error is an ICMP report about an earlier reply: nothing to do.
      if (status == receive_status::error) continue;
      try {
        requests.on_datagram(std::span(buffer.data(), a.size), a.peer, a.local);
      } catch (const std::exception& e) {
        // A request that makes the listener throw (the event store failed,
        // an allocation) costs that request, not the listener.
        spdlog::error("tftp: request from {} dropped: {}", address_of(a.peer), e.what());
      }
    }
  }
}

}  // namespace provbox::tftp
