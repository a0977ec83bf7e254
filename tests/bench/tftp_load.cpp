// tftp_load: a TFTP read client for benchmarks. One process, one thread,
// epoll, many transfers at once, each from its own socket (its own transfer
// ID), so it can keep a server busy without being the bottleneck itself; one
// process per request would measure process start-up instead.
//
//   tftp_load --port P --file NAME [--host 127.0.0.1] [--blksize N]
//             [--windowsize W] [--concurrency C] [--requests R]
//             [--timeout-ms T] [--retries N] [--deadline-s S]
//             [--expect-size BYTES] [--output FILE] [--rcvbuf BYTES]
//
// Prints one line of key=value pairs:
//   requests ok failed stalled seconds req_per_s mb_per_s bytes p50_ms p99_ms
// MB is 10^6 bytes. Exit status 0 only if every request completed (with
// the expected size when given) before the deadline.
//
// It speaks RFC 1350 with RFC 2347 options (blksize, windowsize when asked
// for), accepts a server that ignores the options (plain DATA 1 at 512), rolls
// block numbers over past 65535, acknowledges every `windowsize` blocks and
// the last one, and on a gap acknowledges the last block it has (RFC 7440).
// It does no netascii conversion.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string file;
  std::size_t blksize = 512;
  unsigned windowsize = 1;
  std::size_t concurrency = 1;
  std::size_t requests = 1;
  int timeout_ms = 1000;
  unsigned retries = 5;
  double deadline_s = 60;
  std::optional<std::uint64_t> expect_size;
  std::string output;
  int rcvbuf = 1 << 20;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "tftp_load: %s\n(see the comment at the top of tests/bench/tftp_load.cpp)\n", why);
  std::exit(2);
}

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) usage("every option takes a value");
    const std::string value = argv[++i];
    auto number = [&]() -> std::uint64_t {
      char* end = nullptr;
      const auto v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') usage(("not a number: " + value).c_str());
      return v;
    };
    if (name == "--host") s.host = value;
    else if (name == "--port") s.port = static_cast<int>(number());
    else if (name == "--file") s.file = value;
    else if (name == "--blksize") s.blksize = number();
    else if (name == "--windowsize") s.windowsize = static_cast<unsigned>(number());
    else if (name == "--concurrency") s.concurrency = number();
    else if (name == "--requests") s.requests = number();
    else if (name == "--timeout-ms") s.timeout_ms = static_cast<int>(number());
    else if (name == "--retries") s.retries = static_cast<unsigned>(number());
    else if (name == "--deadline-s") s.deadline_s = std::strtod(value.c_str(), nullptr);
    else if (name == "--expect-size") s.expect_size = number();
    else if (name == "--output") s.output = value;
    else if (name == "--rcvbuf") s.rcvbuf = static_cast<int>(number());
    else usage(("unknown option " + std::string(name)).c_str());
  }
  if (s.port <= 0 || s.port > 65535 || s.file.empty()) usage("--port and --file are required");
  if (s.blksize < 8 || s.blksize > 65464) usage("--blksize is 8..65464");
  if (s.windowsize < 1 || s.windowsize > 65535) usage("--windowsize is 1..65535");
  if (s.concurrency < 1 || s.requests < 1) usage("--concurrency and --requests are at least 1");
  s.concurrency = std::min(s.concurrency, s.requests);
  if (!s.output.empty() && s.requests != 1) usage("--output needs --requests 1");
  return s;
}

void put_u16(std::vector<std::uint8_t>& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
}

std::vector<std::uint8_t> make_rrq(const settings& s) {
  std::vector<std::uint8_t> out;
  put_u16(out, 1);
  put_string(out, s.file);
  put_string(out, "octet");
  // Options only when they change something, so a plain request stays the
  // RFC 1350 one every server understands.
  if (s.blksize != 512) {
    put_string(out, "blksize");
    put_string(out, std::to_string(s.blksize));
  }
  if (s.windowsize != 1) {
    put_string(out, "windowsize");
    put_string(out, std::to_string(s.windowsize));
  }
  return out;
}

std::vector<std::uint8_t> make_ack(unsigned block) {
  std::vector<std::uint8_t> out;
  put_u16(out, 4);
  put_u16(out, block & 0xffff);
  return out;
}

struct transfer {
  int fd = -1;
  bool active = false;
  bool have_tid = false;
  sockaddr_in peer{};                // the server's transfer ID once known
  std::uint64_t next_block = 1;      // absolute index of the block we expect
  std::uint64_t bytes = 0;
  std::size_t blksize = 512;
  unsigned window = 1;
  unsigned in_window = 0;            // blocks since our last ACK
  std::uint64_t gap_acked_for = 0;   // next_block we already sent a gap ACK for
  std::vector<std::uint8_t> last_sent;
  clock_type::time_point started;
  clock_type::time_point last_heard;
  unsigned retries = 0;
};

class load {
public:
  explicit load(settings s) : s_(std::move(s)), rrq_(make_rrq(s_)), slots_(s_.concurrency) {
    server_.sin_family = AF_INET;
    server_.sin_port = htons(static_cast<std::uint16_t>(s_.port));
    if (::inet_pton(AF_INET, s_.host.c_str(), &server_.sin_addr) != 1) usage("--host must be an IPv4 address");
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1");
    if (!s_.output.empty()) {
      out_.open(s_.output, std::ios::binary | std::ios::trunc);
      if (!out_) usage("cannot write --output");
    }
    buffer_.resize(65536);
  }

  int run() {
    const auto begin = clock_type::now();
    const auto deadline = begin + std::chrono::duration_cast<clock_type::duration>(
                                      std::chrono::duration<double>(s_.deadline_s));
    for (std::size_t i = 0; i < slots_.size(); ++i) start(i);
    std::vector<epoll_event> events(256);
    auto last_scan = begin;
    bool stalled = false;
    while (done_ < s_.requests) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 5);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int i = 0; i < n; ++i) drain(events[static_cast<std::size_t>(i)].data.u32);
      const auto now = clock_type::now();
      if (now >= deadline) {
        stalled = true;
        break;
      }
      if (now - last_scan >= std::chrono::milliseconds(2)) {
        last_scan = now;
        for (std::size_t i = 0; i < slots_.size(); ++i) check_timeout(i, now);
      }
    }
    const double seconds = std::chrono::duration<double>(clock_type::now() - begin).count();
    for (auto& t : slots_) {
      if (t.fd >= 0) ::close(t.fd);
    }
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
    auto percentile = [&](double p) {
      if (latencies_ms_.empty()) return 0.0;
      const auto index = static_cast<std::size_t>(p * static_cast<double>(latencies_ms_.size() - 1) + 0.5);
      return latencies_ms_[std::min(index, latencies_ms_.size() - 1)];
    };
    std::printf(
        "requests=%zu ok=%zu failed=%zu stalled=%d seconds=%.4f req_per_s=%.1f mb_per_s=%.2f bytes=%llu "
        "p50_ms=%.3f p99_ms=%.3f\n",
        s_.requests, ok_, s_.requests - ok_, stalled ? 1 : 0,
        seconds, static_cast<double>(ok_) / seconds, static_cast<double>(total_bytes_) / seconds / 1e6,
        static_cast<unsigned long long>(total_bytes_), percentile(0.5), percentile(0.99));
    for (const auto& e : errors_) std::fprintf(stderr, "tftp_load: %s\n", e.c_str());
    return (ok_ == s_.requests && !stalled) ? 0 : 1;
  }

private:
  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "tftp_load: %s: %s\n", what, std::strerror(errno));
    std::exit(2);
  }

  void send(transfer& t, const std::vector<std::uint8_t>& datagram, const sockaddr_in& to) {
    (void)::sendto(t.fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

  void start(std::size_t index) {
    if (started_ >= s_.requests) return;
    ++started_;
    auto& t = slots_[index];
    if (t.fd >= 0) ::close(t.fd);
    t = transfer{};
    t.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t.fd < 0) die("socket");
    if (s_.rcvbuf > 0) (void)::setsockopt(t.fd, SOL_SOCKET, SO_RCVBUF, &s_.rcvbuf, sizeof s_.rcvbuf);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(index);
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, t.fd, &ev) < 0) die("epoll_ctl");
    t.active = true;
    t.started = t.last_heard = clock_type::now();
    t.last_sent = rrq_;
    send(t, rrq_, server_);
  }

  void finish(std::size_t index, bool ok, const std::string& why = {}) {
    auto& t = slots_[index];
    t.active = false;
    ++done_;
    if (ok && s_.expect_size && t.bytes != *s_.expect_size) {
      ok = false;
      note("size " + std::to_string(t.bytes) + " instead of " + std::to_string(*s_.expect_size));
    }
    if (ok) {
      ++ok_;
      total_bytes_ += t.bytes;
      latencies_ms_.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t.started).count());
    } else if (!why.empty()) {
      note(why);
    }
    ::close(t.fd);
    t.fd = -1;
    start(index);
  }

  void note(std::string text) {
    if (errors_.size() < 10) errors_.push_back(std::move(text));
  }

  void check_timeout(std::size_t index, clock_type::time_point now) {
    auto& t = slots_[index];
    if (!t.active || now - t.last_heard < std::chrono::milliseconds(s_.timeout_ms)) return;
    if (++t.retries > s_.retries) {
      finish(index, false, "timed out at block " + std::to_string(t.next_block));
      return;
    }
    // Our last word again: the RRQ or the last ACK (RFC 1350 §2).
    t.last_heard = now;
    t.in_window = 0;
    send(t, t.last_sent, t.have_tid ? t.peer : server_);
  }

  void drain(std::uint32_t index) {
    auto& t = slots_[index];
    while (t.active) {
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      const auto n = ::recvfrom(t.fd, buffer_.data(), buffer_.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) return;  // EAGAIN (or an ICMP error; the timeout handles it)
      on_datagram(index, from, std::span(buffer_.data(), static_cast<std::size_t>(n)));
    }
  }

  void ack(transfer& t, std::uint64_t block) {
    t.last_sent = make_ack(static_cast<unsigned>(block & 0xffff));
    t.in_window = 0;
    send(t, t.last_sent, t.peer);
  }

  void on_datagram(std::size_t index, const sockaddr_in& from, std::span<const std::uint8_t> d) {
    auto& t = slots_[index];
    if (from.sin_addr.s_addr != server_.sin_addr.s_addr) return;
    if (!t.have_tid) {
      t.have_tid = true;
      t.peer = from;
    } else if (from.sin_port != t.peer.sin_port) {
      const std::uint8_t error5[] = {0, 5, 0, 5, 'U', 'n', 'k', 'n', 'o', 'w', 'n', ' ', 'T', 'I', 'D', 0};
      (void)::sendto(t.fd, error5, sizeof error5, 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
      return;
    }
    if (d.size() < 4) return;
    const unsigned op = (d[0] << 8) | d[1];
    const unsigned number = (d[2] << 8) | d[3];
    t.last_heard = clock_type::now();
    t.retries = 0;
    if (op == 5) {
      std::string text(reinterpret_cast<const char*>(d.data() + 4), d.size() - 4);
      text = text.c_str();
      finish(index, false, "server error " + std::to_string(number) + ": " + text);
      return;
    }
    if (op == 6) {  // OACK: take what the server granted
      if (t.next_block != 1) return;
      t.blksize = 512;
      t.window = 1;
      std::size_t i = 2;
      auto next_string = [&]() -> std::optional<std::string> {
        const auto end = std::find(d.begin() + static_cast<std::ptrdiff_t>(i), d.end(), 0);
        if (end == d.end()) return std::nullopt;
        std::string s(d.begin() + static_cast<std::ptrdiff_t>(i), end);
        i = static_cast<std::size_t>(end - d.begin()) + 1;
        return s;
      };
      while (i < d.size()) {
        auto name = next_string();
        auto value = next_string();
        if (!name || !value) break;
        for (auto& c : *name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (*name == "blksize") t.blksize = std::strtoull(value->c_str(), nullptr, 10);
        if (*name == "windowsize") t.window = static_cast<unsigned>(std::strtoul(value->c_str(), nullptr, 10));
      }
      if (t.blksize < 8 || t.window < 1) {
        finish(index, false, "bad OACK");
        return;
      }
      ack(t, 0);
      return;
    }
    if (op != 3) return;
    const auto payload = d.size() - 4;
    if (number != (t.next_block & 0xffff)) {
      // A gap or an old block: say once where we are (RFC 7440 §4), and let
      // the server go on from there.
      if (t.next_block > 1 && t.gap_acked_for != t.next_block) {
        t.gap_acked_for = t.next_block;
        ack(t, t.next_block - 1);
      }
      return;
    }
    if (out_.is_open()) out_.write(reinterpret_cast<const char*>(d.data() + 4), static_cast<std::streamsize>(payload));
    t.bytes += payload;
    const auto block = t.next_block++;
    if (payload < t.blksize) {
      ack(t, block);
      finish(index, true);
      return;
    }
    if (++t.in_window >= t.window) ack(t, block);
  }

  settings s_;
  std::vector<std::uint8_t> rrq_;
  std::vector<transfer> slots_;
  sockaddr_in server_{};
  int epoll_ = -1;
  std::ofstream out_;
  std::vector<std::uint8_t> buffer_;
  std::size_t started_ = 0, done_ = 0, ok_ = 0;
  std::uint64_t total_bytes_ = 0;
  std::vector<double> latencies_ms_;
  std::vector<std::string> errors_;
};

}  // namespace

int main(int argc, char** argv) {
  auto s = parse(argc, argv);
  return load(std::move(s)).run();
}
