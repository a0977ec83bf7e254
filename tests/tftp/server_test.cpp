// The TFTP server in process: run_server on an io_context with a real
// provisioning service over a temporary inventory, and clients written as
// coroutines on the same io_context, talking over real sockets on 127.0.0.1.
// One thread, so the server's counters are read without races.
#include "tftp/server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/provisioning/device_file.hpp"
#include "store/events.hpp"
#include "store/firmware.hpp"
#include "tests/store/temp_database.hpp"
#include "tftp/netascii.hpp"

namespace provbox::tftp {
namespace {

namespace net = boost::asio;
using udp = net::ip::udp;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;
using bytes = std::vector<std::uint8_t>;
constexpr auto as_tuple_awaitable = net::as_tuple(net::use_awaitable);

const auto phone = *profile::mac_address::parse("00:21:f2:01:1b:19");

constexpr std::string_view phone_template =
    "# IP542N test template\n"
    "DBID_IPMODE=0\n"
    "DBID_SIP_ENABLE=1\t0\t0\t0\n"
    "DBID_WEB_SIP_SERVER=$(SIP_SERVER)\n";

bytes pattern_bytes(std::size_t size) {
  bytes b(size);
  std::uint32_t x = 2463534242u;  // xorshift: no runs a rollover bug could hide in
  for (auto& byte : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<std::uint8_t>(x);
  }
  return b;
}

bytes to_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }

// ---- a test client ----------------------------------------------------------

struct received {
  packet p;
  udp::endpoint from;
};

// The next datagram on `socket`, or nullopt after `timeout`; undecodable
// datagrams fail the test.
net::awaitable<std::optional<received>> receive(udp::socket& socket, std::chrono::milliseconds timeout) {
  std::vector<std::uint8_t> buffer(65536);
  udp::endpoint from;
  net::steady_timer timer(socket.get_executor(), timeout);
  auto result = co_await (socket.async_receive_from(net::buffer(buffer), from, as_tuple_awaitable) ||
                          timer.async_wait(as_tuple_awaitable));
  if (result.index() == 1) co_return std::nullopt;
  auto [ec, n] = std::get<0>(result);
  if (ec) co_return std::nullopt;
  auto decoded = decode(std::span(buffer.data(), n));
  if (!decoded) {
    ADD_FAILURE() << "the server sent an undecodable datagram: " << to_string(decoded.error());
    co_return std::nullopt;
  }
  co_return received{std::move(decoded.value()), from};
}

void send(udp::socket& socket, const udp::endpoint& to, const bytes& datagram) {
  socket.send_to(net::buffer(datagram), to);
}

bytes rrq(std::string name, option_list options = {}, transfer_mode mode = transfer_mode::octet) {
  bytes out;
  encode_request({opcode::rrq, std::move(name), mode, std::move(options)}, out);
  return out;
}

bytes ack_of(std::uint16_t block) {
  bytes out;
  encode_ack(block, out);
  return out;
}

udp::socket client_socket(net::io_context& io, const char* address = "127.0.0.1") {
  return udp::socket(io, udp::endpoint(net::ip::make_address(address), 0));
}

// The datagrams queued on `socket` now, read without waiting. Used once the
// server has ended the transfers that sent to it: on loopback a datagram is
// queued at the receiver by the time sendto returns.
std::vector<bytes> queued_datagrams(udp::socket& socket, std::vector<udp::endpoint>* senders = nullptr) {
  std::vector<bytes> out;
  bytes buffer(65536);
  for (;;) {
    udp::endpoint from;
    auto length = static_cast<socklen_t>(from.capacity());
    const auto n = ::recvfrom(socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT, from.data(), &length);
    if (n < 0) return out;
    from.resize(length);
    out.emplace_back(buffer.begin(), buffer.begin() + n);
    if (senders != nullptr) senders->push_back(from);
  }
}

// A client that gives up: an ERROR to the transfer that sent it `first`, so
// the test need not wait for the server's timeouts.
void give_up(udp::socket& socket, const udp::endpoint& transfer) {
  send(socket, transfer, error_packet(error_code::not_defined, "giving up"));
}

struct fetch_result {
  bytes body;
  std::optional<error> error_reply;  // the ERROR that ended it, if one did
  option_list oack;
  bool completed = false;
  std::uint64_t data_packets = 0;
  udp::endpoint server_tid;
};

struct fetch_plan {
  std::string name;
  option_list options;
  transfer_mode mode = transfer_mode::octet;
  const char* client_address = "127.0.0.1";
  int receive_buffer = 0;  // SO_RCVBUF for the client's socket; 0: the system's default
  // Called for each new in-order DATA block (counted from 1); returning
  // false drops it as if the network had lost it.
  std::function<bool(std::uint64_t block)> keep = [](std::uint64_t) { return true; };
  // Called once after the first DATA, with the server's transfer ID.
  std::function<void(const udp::endpoint&)> after_first_data;
};

// A whole read as an RFC 7440 client does it: ACK 0 for an OACK, an ACK
// after every `windowsize` blocks and after the last, and on a gap or an old
// block an ACK of the last block it has.
net::awaitable<fetch_result> fetch(net::io_context& io, udp::endpoint server, fetch_plan plan) {
  auto socket = client_socket(io, plan.client_address);
  if (plan.receive_buffer > 0) socket.set_option(net::socket_base::receive_buffer_size(plan.receive_buffer));
  fetch_result r;
  send(socket, server, rrq(plan.name, plan.options, plan.mode));
  std::size_t blksize = 512;
  unsigned window = 1;
  unsigned in_window = 0;
  std::uint64_t next = 1;
  for (;;) {
    auto got = co_await receive(socket, 3s);
    if (!got) {
      ADD_FAILURE() << "no answer from the server for " << plan.name << " at block " << next;
      co_return r;
    }
    if (next == 1 && r.server_tid == udp::endpoint{}) r.server_tid = got->from;
    if (auto* e = std::get_if<error>(&got->p)) {
      r.error_reply = *e;
      co_return r;
    }
    if (auto* o = std::get_if<oack>(&got->p)) {
      r.oack = o->options;
      if (auto* b = find_option(r.oack, "blksize")) blksize = std::stoul(b->value);
      if (auto* w = find_option(r.oack, "windowsize")) window = static_cast<unsigned>(std::stoul(w->value));
      send(socket, got->from, ack_of(0));
      continue;
    }
    auto* d = std::get_if<data>(&got->p);
    if (d == nullptr) {
      ADD_FAILURE() << "unexpected packet from the server";
      co_return r;
    }
    ++r.data_packets;
    if (d->block != static_cast<std::uint16_t>(next)) {
      if (next > 1) send(socket, got->from, ack_of(static_cast<std::uint16_t>(next - 1)));
      in_window = 0;
      continue;
    }
    if (!plan.keep(next)) continue;
    if (next == 1 && plan.after_first_data) plan.after_first_data(got->from);
    r.body.insert(r.body.end(), d->payload.begin(), d->payload.end());
    ++next;
    if (d->payload.size() < blksize) {
      send(socket, got->from, ack_of(d->block));
      r.completed = true;
      co_return r;
    }
    if (++in_window >= window) {
      send(socket, got->from, ack_of(d->block));
      in_window = 0;
    }
  }
}

// ---- the fixture ------------------------------------------------------------

class TftpServer : public ::testing::Test {
protected:
  void SetUp() override {
    inventory_.add_model({"IP542N", "IP542N.conf", {"fv$(MAU).conf"}, std::string(phone_template), 0});
    store::device_record d;
    d.mac = phone;
    d.model = "IP542N";
    d.static_ip = "127.0.0.1";  // so IP542N.conf from 127.0.0.1 is this device's
    inventory_.add_device(d);
    inventory_.set_variable(store::scope::global(), "SIP_SERVER", "192.168.10.200");
  }

  void TearDown() override {
    // Whatever a test left running ends within its timeouts; nothing may
    // outlive the fixture.
    if (listener_.is_open()) listener_.close();
    run_until([&] { return server_done_ && stats_.active == 0; }, 20s);
    EXPECT_EQ(stats_.active, 0u);
  }

  void start_server() {
    net::co_spawn(io_, run_server(listener_, service_, options_, stats_), [this](std::exception_ptr e) {
      server_done_ = true;
      if (e) ADD_FAILURE() << "run_server threw";
    });
  }

  udp::endpoint server() const { return listener_.local_endpoint(); }

  // Runs the loop until `done` holds, for at most `limit`.
  void run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(50ms);
    }
  }

  template <class T>
  T run(net::awaitable<T> a) {
    std::optional<T> result;
    bool finished = false;
    net::co_spawn(io_, std::move(a), [&](std::exception_ptr e, T value) {
      finished = true;
      if (e) {
        ADD_FAILURE() << "client coroutine threw";
        return;
      }
      result = std::move(value);
    });
    run_until([&] { return finished; });
    if (!result) throw std::runtime_error("the client did not finish in time");
    return std::move(*result);
  }

  // A whole fetch, then the server's side of it finished too (the client is
  // done when it sends the last ACK; the server when it has read it).
  fetch_result get(fetch_plan plan) {
    auto r = run(fetch(io_, server(), std::move(plan)));
    run_until([&] { return stats_.active == 0; }, 5s);
    return r;
  }

  std::string add_firmware(const bytes& content, const std::string& version, const std::string& name) {
    const auto source = folder_.file("upload-" + version);
    std::ofstream(source, std::ios::binary)
        .write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
    store::firmware_record image;
    image.model = "IP542N";
    image.version = version;
    image.file_name = name;
    const auto added = store::import_firmware(inventory_.db(), data_dir_, source, image, true);
    return store::firmware_url_path(added.model, added.version, added.file_name);
  }

  bytes phone_file() {
    auto file = provisioning::render_device_file(inventory_, phone, std::string("127.0.0.1"));
    return to_bytes(file->body);
  }

  std::vector<store::event> events(const std::string& mac) {
    store::event_log log(inventory_.db());
    return log.recent(mac, 10);
  }

  // The newest event, whichever device (if any) it was filed under.
  store::event last_event() {
    auto stmt = inventory_.db().prepare("SELECT mac, file, status, bytes, detail FROM events ORDER BY id DESC LIMIT 1");
    store::event e;
    if (!stmt.step()) {
      ADD_FAILURE() << "no event recorded";
      return e;
    }
    e.mac = stmt.text(0);
    e.file = stmt.text(1);
    e.status = static_cast<int>(stmt.integer(2));
    e.bytes = static_cast<std::uint64_t>(stmt.integer(3));
    e.detail = stmt.text(4);
    return e;
  }

  store::test_support::temp_folder folder_;
  std::string data_dir_ = folder_.file("data");
  store::inventory inventory_{folder_.file("provbox.db")};
  provisioning::service service_{inventory_, {data_dir_, 200, false}};
  server_options options_;
  server_stats stats_;
  net::io_context io_;
  udp::socket listener_{io_, udp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  bool server_done_ = false;
};

// ---- files ------------------------------------------------------------------

TEST_F(TftpServer, ServesTheModelConfigFileOfTheDeviceAtThePeerAddress) {
  start_server();
  const auto r = get({.name = "IP542N.conf"});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, phone_file());
  EXPECT_NE(r.server_tid.port(), server().port()) << "a transfer runs on its own port";
  EXPECT_EQ(stats_.completed, 1u);
  const auto e = events(phone.colon_lower());
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e.front().transport, "tftp");
  EXPECT_EQ(e.front().status, 200);
  EXPECT_EQ(e.front().bytes, r.body.size());
  EXPECT_EQ(e.front().file, "IP542N.conf");
}

TEST_F(TftpServer, ServesAPerDeviceFileByPattern) {
  start_server();
  const auto r = get({.name = "fv0021F2011B19.conf"});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, phone_file());
}

TEST_F(TftpServer, NetasciiSendsCrLfAndTsizeCountsTheConvertedBytes) {
  start_server();
  const auto r = get({.name = "IP542N.conf", .options = {{"tsize", "0"}}, .mode = transfer_mode::netascii});
  ASSERT_TRUE(r.completed);
  const auto plain = phone_file();
  EXPECT_EQ(r.body, to_netascii(plain));
  EXPECT_NE(r.body.size(), plain.size());
  ASSERT_NE(find_option(r.oack, "tsize"), nullptr);
  EXPECT_EQ(find_option(r.oack, "tsize")->value, std::to_string(r.body.size()));
}

TEST_F(TftpServer, ServesFirmwareByPathInWindows) {
  const auto image = pattern_bytes(3 * 1024 * 1024 + 77);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  const auto r = get({.name = path, .options = {{"blksize", "1468"}, {"windowsize", "16"}, {"tsize", "0"}}});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, image);
  EXPECT_EQ(r.oack, (option_list{{"blksize", "1468"}, {"windowsize", "16"}, {"tsize", std::to_string(image.size())}}));
}

TEST_F(TftpServer, ServesFirmwareByBareNameToTheDeviceAtThePeerAddress) {
  const auto image = pattern_bytes(100000);
  add_firmware(image, "1.0", "IP542N.bin");
  start_server();
  const auto r = get({.name = "IP542N.bin", .options = {{"blksize", "8192"}}});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, image);
}

TEST_F(TftpServer, BlockNumbersRollOverPast65535) {
  // 8-byte blocks: 70,000 blocks is a small file that still wraps.
  const auto image = pattern_bytes(70000 * 8 + 3);
  const auto path = add_firmware(image, "1.0", "wrap.bin");
  start_server();
  const auto r = get({.name = path, .options = {{"blksize", "8"}, {"windowsize", "64"}}});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.data_packets, 70001u);
  EXPECT_EQ(r.body, image);
}

TEST_F(TftpServer, AFileOfWholeBlocksEndsWithAnEmptyBlock) {
  const auto image = pattern_bytes(4 * 512);
  const auto path = add_firmware(image, "1.0", "even.bin");
  start_server();
  const auto r = get({.name = path});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.data_packets, 5u);
  EXPECT_EQ(r.body, image);
}

// ---- refusals ---------------------------------------------------------------

TEST_F(TftpServer, WriteRequestIsRefusedWithError2) {
  start_server();
  auto socket = client_socket(io_);
  bytes wrq;
  encode_request({opcode::wrq, "IP542N.conf", transfer_mode::octet, {}}, wrq);
  send(socket, server(), wrq);
  const auto reply = run(receive(socket, 3s));
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<error>(reply->p));
  EXPECT_EQ(std::get<error>(reply->p).code, error_code::access_violation);
  EXPECT_EQ(stats_.started, 0u);
  EXPECT_EQ(stats_.refused, 1u);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::current_path() / "IP542N.conf"));
}

TEST_F(TftpServer, TraversalAndBadNamesAreRefusedWithError2) {
  start_server();
  const std::vector<std::string> names = {"../etc/passwd", "firmware/../../etc/passwd", "a\\b.conf",
                                         "x/./IP542N.conf", std::string("IP542N.conf\x01", 12)};
  for (const auto& name : names) {
    const auto r = get({.name = name});
    ASSERT_TRUE(r.error_reply) << name;
    EXPECT_EQ(r.error_reply->code, error_code::access_violation) << name;
    EXPECT_TRUE(r.body.empty());
  }
  EXPECT_EQ(stats_.refused, 5u);
}

TEST_F(TftpServer, AnAbsoluteNameIsServedFromTheInventoryAndNeverFromDisk) {
  // A leading '/' is the root of what provbox serves (SPA-style devices send
  // "/name"); an absolute name the inventory does not have is an access
  // violation (error 2), as the RFC says of absolute paths.
  start_server();
  for (const std::string name : {"/etc/passwd", "/nothing-here.cfg", "//IP542N.conf"}) {
    const auto r = get({.name = name});
    ASSERT_TRUE(r.error_reply) << name;
    EXPECT_EQ(r.error_reply->code, error_code::access_violation) << name;
    EXPECT_TRUE(r.body.empty()) << name;
  }
  const auto ok = get({.name = "/IP542N.conf"});
  EXPECT_TRUE(ok.completed);
  const auto relative = get({.name = "IP542N.conf"});
  EXPECT_TRUE(relative.completed);
  EXPECT_EQ(ok.body, relative.body);
}

TEST_F(TftpServer, UnknownFileIsError1AndRecordedAs404) {
  start_server();
  const auto r = get({.name = "nothing-here.cfg"});
  ASSERT_TRUE(r.error_reply);
  EXPECT_EQ(r.error_reply->code, error_code::file_not_found);
  EXPECT_EQ(r.error_reply->message, "File not found");  // the reason stays in the log
  const auto e = events("");
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e.front().status, 404);
  EXPECT_EQ(e.front().file, "nothing-here.cfg");
}

TEST_F(TftpServer, ConfigFileFromAnAddressWithoutADeviceIsError1) {
  start_server();
  const auto r = get({.name = "IP542N.conf", .client_address = "127.0.0.2"});
  ASSERT_TRUE(r.error_reply);
  EXPECT_EQ(r.error_reply->code, error_code::file_not_found);
}

TEST_F(TftpServer, FirmwareInNetasciiIsRefused) {
  const auto path = add_firmware(pattern_bytes(1000), "1.0", "fw.bin");
  start_server();
  const auto r = get({.name = path, .mode = transfer_mode::netascii});
  ASSERT_TRUE(r.error_reply);
  EXPECT_EQ(r.error_reply->code, error_code::illegal_operation);
}

TEST_F(TftpServer, GarbageIsCountedAndServingGoesOn) {
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), bytes{0xde, 0xad, 0xbe, 0xef, 0x00});  // unknown opcode: dropped silently
  send(socket, server(), bytes{0x00});                          // truncated
  send(socket, server(), bytes{0x00, 0x01, 'a'});               // an RRQ without its NULs: ERROR 4
  send(socket, server(), ack_of(7));                            // an ACK to the listening port
  const auto reply = run(receive(socket, 3s));
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<error>(reply->p));
  EXPECT_EQ(std::get<error>(reply->p).code, error_code::illegal_operation);
  EXPECT_FALSE(run(receive(socket, 200ms))) << "garbage gets no other answer";
  EXPECT_EQ(stats_.malformed, 3u);
  EXPECT_EQ(stats_.stray, 1u);
  EXPECT_TRUE(get({.name = "IP542N.conf"}).completed);
}

TEST_F(TftpServer, AWildcardListenerAnswersFromTheAddressTheClientSentTo) {
  // 0.0.0.0 and a request to 127.0.0.2: without asking the kernel where each
  // request went, the reply would leave from 127.0.0.1, which a client that
  // sent to 127.0.0.2 does not know.
  listener_.close();
  listener_.open(udp::v4());
  listener_.bind(udp::endpoint(net::ip::address_v4::any(), 0));
  start_server();
  auto socket = client_socket(io_);
  send(socket, udp::endpoint(net::ip::make_address("127.0.0.2"), server().port()), rrq("IP542N.conf"));
  const auto reply = run(receive(socket, 3s));
  ASSERT_TRUE(reply);
  ASSERT_TRUE(std::holds_alternative<data>(reply->p));
  EXPECT_EQ(reply->from.address().to_string(), "127.0.0.2");
  send(socket, reply->from, ack_of(1));
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.completed, 1u);
}

// ---- transfer IDs, duplicates, limits ----------------------------------------

TEST_F(TftpServer, APacketFromTheWrongPortGetsError5AndTheTransferGoesOn) {
  const auto image = pattern_bytes(20000);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  auto intruder = client_socket(io_);
  const auto r = get({.name = path, .after_first_data = [&](const udp::endpoint& tid) {
                        send(intruder, tid, ack_of(1));
                      }});
  const auto intruder_reply = run(receive(intruder, 3s));
  ASSERT_TRUE(intruder_reply);
  ASSERT_TRUE(std::holds_alternative<error>(intruder_reply->p));
  EXPECT_EQ(std::get<error>(intruder_reply->p).code, error_code::unknown_transfer_id);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, image);
  EXPECT_EQ(stats_.stray, 1u);
}

TEST_F(TftpServer, ARepeatedRrqFromTheSamePortStartsNoSecondTransfer) {
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), rrq("IP542N.conf"));
  send(socket, server(), rrq("IP542N.conf"));
  const auto first = run(receive(socket, 3s));
  ASSERT_TRUE(first);
  ASSERT_TRUE(std::holds_alternative<data>(first->p));
  send(socket, first->from, ack_of(1));
  EXPECT_FALSE(run(receive(socket, 300ms))) << "only one DATA 1 came, so only one transfer ran";
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.started, 1u);
  EXPECT_EQ(stats_.completed, 1u);
}

// A client that reuses its port for the next request can send that RRQ
// before the server has read the last ACK of the previous transfer. Once a
// transfer has heard from the client, an RRQ from the same port is new.
TEST_F(TftpServer, AnRrqFromAPortWhoseTransferHasHeardFromItIsANewRequest) {
  const auto image = pattern_bytes(2000);  // four blocks
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), rrq(path));
  udp::endpoint first_tid;
  for (std::uint16_t block = 1; block <= 3; ++block) {
    const auto d = run(receive(socket, 3s));
    ASSERT_TRUE(d && std::holds_alternative<data>(d->p));
    first_tid = d->from;
    send(socket, first_tid, ack_of(block));
  }
  const auto d4 = run(receive(socket, 3s));  // the last block; its ACK is not sent yet
  ASSERT_TRUE(d4 && std::holds_alternative<data>(d4->p));

  send(socket, server(), rrq("IP542N.conf"));
  const auto next = run(receive(socket, 3s));
  ASSERT_TRUE(next) << "the new request was taken for a repeat of the old one";
  ASSERT_TRUE(std::holds_alternative<data>(next->p));
  EXPECT_NE(next->from, first_tid);
  EXPECT_EQ(std::get<data>(next->p).payload, phone_file());

  send(socket, first_tid, ack_of(4));
  send(socket, next->from, ack_of(1));
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.completed, 2u);
  EXPECT_EQ(stats_.stray, 0u);
}

TEST_F(TftpServer, RequestsBeyondMaxTransfersGetServerBusyWhenEveryTransferIsConfirmed) {
  options_.table.max_transfers = 1;
  const auto path = add_firmware(pattern_bytes(2000), "1.0", "fw.bin");  // four blocks
  start_server();
  auto holder = client_socket(io_);
  send(holder, server(), rrq(path));
  const auto first = run(receive(holder, 3s));
  ASSERT_TRUE(first && std::holds_alternative<data>(first->p));
  send(holder, first->from, ack_of(1));  // confirmed: its slot is never given away
  const auto second = run(receive(holder, 3s));
  ASSERT_TRUE(second && std::holds_alternative<data>(second->p));

  auto late = client_socket(io_);
  send(late, server(), rrq("IP542N.conf"));
  const auto refused = run(receive(late, 3s));
  ASSERT_TRUE(refused);
  ASSERT_TRUE(std::holds_alternative<error>(refused->p));
  EXPECT_EQ(std::get<error>(refused->p).code, error_code::not_defined);
  EXPECT_EQ(std::get<error>(refused->p).message, "server busy");
  EXPECT_EQ(stats_.evicted, 0u);

  for (std::uint16_t block = 2; block <= 4; ++block) {  // the first transfer still finishes
    send(holder, first->from, ack_of(block));
    if (block < 4) {
      ASSERT_TRUE(run(receive(holder, 3s)));
    }
  }
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.completed, 1u);
  EXPECT_TRUE(get({.name = "IP542N.conf"}).completed) << "a slot is free again";
}

// ---- floods: unconfirmed transfers, eviction, the per-address limit ---------

// Sends an RRQ from `socket` and returns the first packet of the answer.
net::awaitable<std::optional<received>> ask(udp::socket& socket, udp::endpoint server, std::string name) {
  send(socket, server, rrq(std::move(name)));
  co_return co_await receive(socket, 3s);
}

TEST_F(TftpServer, AFullTableGivesTheOldestUnansweredTransfersSlotToANewRequest) {
  options_.table.max_transfers = 2;
  const auto path = add_firmware(pattern_bytes(2000), "1.0", "fw.bin");
  start_server();
  auto oldest = client_socket(io_, "127.0.0.2");
  auto younger = client_socket(io_, "127.0.0.3");
  ASSERT_TRUE(run(ask(oldest, server(), path)));
  const auto younger_first = run(ask(younger, server(), path));
  ASSERT_TRUE(younger_first);
  ASSERT_EQ(stats_.active, 2u);

  const auto r = run(fetch(io_, server(), {.name = "IP542N.conf"}));
  ASSERT_TRUE(r.completed) << "the table was full of transfers nobody had answered";
  EXPECT_EQ(r.body, phone_file());
  run_until([&] { return stats_.completed == 1 && stats_.failed == 1; });
  EXPECT_EQ(stats_.evicted, 1u);
  EXPECT_EQ(stats_.failed, 1u) << "the evicted transfer ended";
  EXPECT_EQ(stats_.active, 1u) << "the younger one is still running";
  EXPECT_EQ(stats_.refused, 0u);
  EXPECT_TRUE(queued_datagrams(oldest).empty()) << "the evicted client is not sent an ERROR";
  const auto e = events("");  // firmware by path to an address without a device
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e.front().status, 503);
  EXPECT_EQ(e.front().peer, "127.0.0.2");
  EXPECT_TRUE(e.front().detail.starts_with("evicted")) << e.front().detail;
  give_up(younger, younger_first->from);
}

TEST_F(TftpServer, AnEvictedClientThatRepeatsItsRrqIsServed) {
  // The eviction is silent, so a real client that was merely slow repeats
  // its request from the same port, and that is a new request.
  options_.table.max_transfers = 1;
  start_server();
  auto slow = client_socket(io_);
  ASSERT_TRUE(run(ask(slow, server(), "IP542N.conf")));
  ASSERT_TRUE(get({.name = "IP542N.conf"}).completed);
  ASSERT_EQ(stats_.evicted, 1u);
  ASSERT_TRUE(queued_datagrams(slow).empty());

  const auto again = run(ask(slow, server(), "IP542N.conf"));
  ASSERT_TRUE(again && std::holds_alternative<data>(again->p));
  EXPECT_EQ(std::get<data>(again->p).payload, phone_file());
  send(slow, again->from, ack_of(1));
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.completed, 2u);
}

TEST_F(TftpServer, AnAddressAtMaxTransfersPerAddressGetsServerBusy) {
  options_.table.max_transfers_per_address = 2;
  const auto path = add_firmware(pattern_bytes(2000), "1.0", "fw.bin");
  start_server();
  auto first = client_socket(io_, "127.0.0.2");
  auto second = client_socket(io_, "127.0.0.2");
  auto third = client_socket(io_, "127.0.0.2");
  const auto first_reply = run(ask(first, server(), path));
  const auto second_reply = run(ask(second, server(), path));
  ASSERT_TRUE(first_reply && second_reply);
  const auto refused = run(ask(third, server(), path));
  ASSERT_TRUE(refused);
  ASSERT_TRUE(std::holds_alternative<error>(refused->p));
  EXPECT_EQ(std::get<error>(refused->p).code, error_code::not_defined);
  EXPECT_EQ(std::get<error>(refused->p).message, "server busy");
  EXPECT_EQ(refused->from, server()) << "refused by the listener: no transfer port";
  EXPECT_EQ(stats_.address_busy, 1u);
  EXPECT_EQ(stats_.refused, 1u);
  EXPECT_EQ(stats_.evicted, 0u);
  EXPECT_EQ(last_event().status, 503);

  const auto other = run(fetch(io_, server(), {.name = path, .client_address = "127.0.0.3"}));
  EXPECT_TRUE(other.completed) << "another address is not limited";
  give_up(first, first_reply->from);
  give_up(second, second_reply->from);
}

// What an RRQ nobody answers draws from the server, counted in datagrams
// and bytes at the address it named (the figure of an amplification attack).
TEST_F(TftpServer, AnUnansweredRrqDrawsAtMostTwoDatagramsOfAtMost516Bytes) {
  constexpr std::size_t requests = 50;
  options_.limits.default_timeout = 20ms;  // transfers end sooner; the counts do not depend on it
  const auto path = add_firmware(pattern_bytes(100000), "1.0", "fw.bin");
  start_server();
  std::vector<udp::socket> victims;
  const auto request = rrq(path);
  for (std::size_t i = 0; i < requests; ++i) {
    victims.push_back(client_socket(io_));
    send(victims.back(), server(), request);
  }
  run_until([&] { return stats_.started == requests && stats_.active == 0; });
  ASSERT_EQ(stats_.failed, requests);
  std::size_t datagrams = 0, bytes_sent = 0, most = 0;
  for (auto& v : victims) {
    const auto got = queued_datagrams(v);
    EXPECT_GE(got.size(), 1u) << "every request was answered";
    most = std::max(most, got.size());
    datagrams += got.size();
    for (const auto& d : got) bytes_sent += d.size();
  }
  EXPECT_LE(most, 2u);
  EXPECT_LE(bytes_sent, requests * 2 * (4 + 512))
      << "per request: " << bytes_sent / requests << " bytes for a " << request.size() << "-byte RRQ";
  RecordProperty("datagrams_per_rrq", std::to_string(static_cast<double>(datagrams) / requests));
  RecordProperty("amplification",
                 std::to_string(static_cast<double>(bytes_sent) / static_cast<double>(requests * request.size())));
}

// Issue 12: a flood of never-answering requests for a file that is served
// made legitimate fetches fail with "server busy". 2,000 requests from 250
// addresses (8 each, below the per-address limit) keep the 512-transfer
// table full and turning over, while 100 fetches by a device that
// acknowledges at once run in waves of ten among them. Every fetch gets its
// file. Synchronised on the server's counters only: no timing.
TEST_F(TftpServer, LegitimateFetchesAllCompleteDuringAFloodOfUnansweredRequests) {
  constexpr std::size_t flood_size = 2000, prefill = 600, waves = 10, per_wave = 10;
  constexpr std::size_t per_wave_flood = (flood_size - prefill) / waves;
  // Long enough that no flood transfer times out while the test runs, so
  // the table stays full however slow the machine (each gives up at the end).
  options_.limits.default_timeout = 5s;
  const auto path = add_firmware(pattern_bytes(100000), "1.0", "fw.bin");
  // Events in batches, as the daemon writes them.
  service_.set_event_flush_scheduler([this] { net::post(io_, [this] { service_.flush_events(); }); });
  listener_.set_option(net::socket_base::receive_buffer_size(4 * 1024 * 1024));
  start_server();

  std::vector<udp::socket> flood;
  flood.reserve(flood_size);
  const auto request = rrq(path);
  auto handled = [&] { return stats_.started + stats_.refused + stats_.stray + stats_.malformed; };
  // Sends `count` more flood requests, 50 at a time, each batch read by the
  // server before the next is sent, so none is lost to a full buffer.
  auto send_flood = [&](std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const auto n = flood.size();
      const auto address = "127.1." + std::to_string(n / 8 / 250) + "." + std::to_string(n / 8 % 250 + 1);
      flood.push_back(client_socket(io_, address.c_str()));
      send(flood.back(), server(), request);
      if (flood.size() % 50 == 0 || i + 1 == count) {
        const auto target = flood.size();
        run_until([&] { return handled() >= target; });
      }
    }
  };

  send_flood(prefill);
  ASSERT_EQ(handled(), prefill);
  ASSERT_GE(stats_.active, options_.table.max_transfers) << "the table is full";

  std::size_t completed = 0, finished = 0;
  std::vector<std::string> failures;
  const auto file = phone_file();
  for (std::size_t wave = 0; wave < waves; ++wave) {
    for (std::size_t i = 0; i < per_wave; ++i) {
      net::co_spawn(io_, fetch(io_, server(), {.name = "IP542N.conf"}),
                    [&](std::exception_ptr e, fetch_result r) {
                      ++finished;
                      if (!e && r.completed && r.body == file) ++completed;
                      else if (r.error_reply) failures.push_back(r.error_reply->message);
                      else failures.push_back("no file");
                    });
    }
    send_flood(per_wave_flood);
    const auto wanted = (wave + 1) * per_wave;
    run_until([&] { return finished >= wanted; });
  }
  EXPECT_EQ(completed, waves * per_wave) << failures.size() << " failed, first: "
                                         << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(flood.size(), flood_size);
  EXPECT_GT(stats_.evicted, 0u) << "the flood kept the table full";
  EXPECT_EQ(stats_.address_busy, 0u);
  RecordProperty("evicted", std::to_string(stats_.evicted));
  for (auto& f : flood) {
    std::vector<udp::endpoint> from;
    queued_datagrams(f, &from);
    if (!from.empty()) give_up(f, from.front());
  }
}

// ---- timers -----------------------------------------------------------------

TEST_F(TftpServer, ADuplicateAckCausesNoRetransmission) {
  const auto path = add_firmware(pattern_bytes(2000), "1.0", "fw.bin");
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), rrq(path));
  const auto d1 = run(receive(socket, 3s));
  ASSERT_TRUE(d1);
  send(socket, d1->from, ack_of(1));
  const auto d2 = run(receive(socket, 3s));
  ASSERT_TRUE(d2 && std::holds_alternative<data>(d2->p));
  EXPECT_EQ(std::get<data>(d2->p).block, 2);
  send(socket, d1->from, ack_of(1));  // Sorcerer's Apprentice bait
  EXPECT_FALSE(run(receive(socket, 300ms))) << "DATA 2 must not be sent again for a duplicate ACK 1";
  send(socket, d1->from, ack_of(2));
  const auto d3 = run(receive(socket, 3s));
  ASSERT_TRUE(d3 && std::holds_alternative<data>(d3->p));
  EXPECT_EQ(std::get<data>(d3->p).block, 3);
  send(socket, d1->from, ack_of(3));
  const auto d4 = run(receive(socket, 3s));
  ASSERT_TRUE(d4 && std::holds_alternative<data>(d4->p));
  EXPECT_EQ(std::get<data>(d4->p).block, 4);
  send(socket, d1->from, ack_of(4));
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.completed, 1u);
}

// The peer never acknowledged anything, so it may not have asked at all: one
// retransmission, then the transfer ends without an ERROR.
TEST_F(TftpServer, AnUnansweredFirstDataIsSentTwiceThenTheTransferEndsSilentlyAs408) {
  options_.limits.default_timeout = 30ms;
  options_.limits.max_retries = 5;
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), rrq("IP542N.conf"));
  run_until([&] { return stats_.failed == 1 && stats_.active == 0; });
  ASSERT_EQ(stats_.failed, 1u);
  const auto got = queued_datagrams(socket);
  ASSERT_EQ(got.size(), 2u) << "the first DATA and one retransmission, and no ERROR";
  EXPECT_EQ(got[0], got[1]);
  EXPECT_EQ(got[0][1], static_cast<std::uint8_t>(opcode::data));
  const auto e = events(phone.colon_lower());
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e.front().status, 408);
}

TEST_F(TftpServer, AClientThatGoesQuietAfterItsFirstAckGetsMaxRetriesThenAnError) {
  options_.limits.default_timeout = 30ms;
  options_.limits.max_retries = 2;
  const auto path = add_firmware(pattern_bytes(2000), "1.0", "fw.bin");
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), rrq(path));
  const auto d1 = run(receive(socket, 3s));
  ASSERT_TRUE(d1 && std::holds_alternative<data>(d1->p));
  send(socket, d1->from, ack_of(1));
  int data2_copies = 0;
  std::optional<error> last_error;
  while (!last_error) {  // the ERROR is the last thing the transfer sends
    const auto got = run(receive(socket, 3s));
    if (!got) break;
    if (const auto* block = std::get_if<data>(&got->p)) {
      EXPECT_EQ(block->block, 2);
      ++data2_copies;
    } else if (const auto* e = std::get_if<error>(&got->p)) {
      last_error = *e;
    }
  }
  EXPECT_EQ(data2_copies, 3) << "the first send and max_retries retransmissions";
  ASSERT_TRUE(last_error) << "a client that has answered is told the transfer timed out";
  EXPECT_EQ(last_error->code, error_code::not_defined);
  run_until([&] { return stats_.failed == 1 && stats_.active == 0; });
  EXPECT_EQ(last_event().status, 408);
}

TEST_F(TftpServer, ALostLastBlockOfAWindowIsResentAfterTheTimeout) {
  options_.limits.default_timeout = 30ms;
  const auto image = pattern_bytes(200000);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  int dropped = 0;
  const auto r = get({.name = path,
                      .options = {{"blksize", "1024"}, {"windowsize", "8"}},
                      .keep = [&](std::uint64_t block) {
                        // The last block of the third window, once: no later
                        // block shows the gap, so only the timer can help.
                        if (block == 24 && dropped == 0) {
                          ++dropped;
                          return false;
                        }
                        return true;
                      }});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, image);
  EXPECT_EQ(dropped, 1);
}

// The client's socket buffer holds about two 8 KB datagrams, the window is
// eight: every whole-window burst loses its tail. Resending the same burst
// would lose it again on every window; paced bursts get through.
TEST_F(TftpServer, AWindowTooBigForTheClientsBufferIsPacedNotRetriedForever) {
  options_.limits.default_timeout = 30ms;
  const auto image = pattern_bytes(8192 * 60 + 5);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  const auto r = get({.name = path, .options = {{"blksize", "8192"}, {"windowsize", "8"}}, .receive_buffer = 20000});
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.body, image);
  const auto e = last_event();
  EXPECT_EQ(e.status, 200);
  // Unpaced, every window would lose its tail and cost a timeout: about 25
  // for 61 blocks at two per timeout.
  const auto detail = e.detail;
  const auto timeouts = detail.empty() ? 0 : std::stoi(detail);
  EXPECT_LE(timeouts, 4) << detail;
}

// ---- failures and stopping ------------------------------------------------------

TEST_F(TftpServer, AnImageShorterOnDiskThanRecordedFailsWithAnError) {
  const auto image = pattern_bytes(300000);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  const auto sha = store::find_firmware(inventory_.db(), "IP542N", "1.0")->sha256;
  const auto blob = store::firmware_blob_path(data_dir_, sha);
  std::filesystem::permissions(blob, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  std::filesystem::resize_file(blob, 100000);
  start_server();
  const auto r = get({.name = path, .options = {{"blksize", "8192"}}});
  EXPECT_FALSE(r.completed);
  ASSERT_TRUE(r.error_reply);
  EXPECT_EQ(r.error_reply->code, error_code::not_defined);
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.failed, 1u);
  EXPECT_EQ(last_event().status, 500);
}

TEST_F(TftpServer, ClosingTheListenerLetsTransfersInFlightFinish) {
  const auto image = pattern_bytes(5000);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  auto socket = client_socket(io_);
  send(socket, server(), rrq(path));
  auto got = run(receive(socket, 3s));
  ASSERT_TRUE(got && std::holds_alternative<data>(got->p));
  const auto tid = got->from;

  listener_.close();
  run_until([&] { return server_done_; });
  ASSERT_TRUE(server_done_) << "run_server returns once its socket is closed";
  EXPECT_EQ(stats_.active, 1u);

  bytes body;
  for (;;) {
    const auto& d = std::get<data>(got->p);
    body.insert(body.end(), d.payload.begin(), d.payload.end());
    send(socket, tid, ack_of(d.block));
    if (d.payload.size() < 512) break;
    got = run(receive(socket, 3s));
    ASSERT_TRUE(got && std::holds_alternative<data>(got->p));
  }
  EXPECT_EQ(body, image);
  run_until([&] { return stats_.active == 0; });
  EXPECT_EQ(stats_.completed, 1u);
}

// ---- busy-polling for ACKs --------------------------------------------------
//
// A client on the server's own thread cannot answer while the server polls
// (the tests above take the path where a poll finds nothing and the reactor
// reads the ACK, with the default budget); these use a client on
// a thread of its own, with blocking sockets, so the server's polls catch its
// ACKs. Whether a given ACK is caught depends on scheduling, so the tests
// check what holds either way, and a budget of a second makes polling take
// part for sure.

// A blocking UDP socket on 127.0.0.1 whose reads give up after 3 s.
struct blocking_socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  blocking_socket() {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local);
    const timeval limit{3, 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  ~blocking_socket() { ::close(fd); }
  blocking_socket(const blocking_socket&) = delete;
  blocking_socket& operator=(const blocking_socket&) = delete;

  void send_to(const sockaddr_in& to, const bytes& datagram) const {
    (void)::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  // The next datagram and its sender, or nullopt after the timeout.
  std::optional<std::pair<packet, sockaddr_in>> receive() const {
    bytes buffer(65536);
    sockaddr_in from{};
    socklen_t length = sizeof from;
    const auto n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 0) return std::nullopt;
    auto decoded = decode(std::span(buffer.data(), static_cast<std::size_t>(n)));
    if (!decoded) return std::nullopt;
    return std::pair{std::move(decoded.value()), from};
  }
};

struct thread_fetch_result {
  bytes body;
  bool completed = false;
  std::optional<error> intruder_reply;  // what the server answered a packet from another port
  std::string failure;
};

// A lockstep read without options (blksize 512) from a thread of its own.
// With `intrude`, a second socket sends ACK 1 to the transfer port right
// after DATA 1, while the server waits for the real ACK 1, and reads the
// answer before the client goes on.
thread_fetch_result thread_fetch(std::uint16_t server_port, const std::string& name, bool intrude) {
  thread_fetch_result r;
  blocking_socket socket;
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(server_port);
  socket.send_to(server, rrq(name));
  for (std::uint16_t next = 1;; ++next) {
    auto got = socket.receive();
    if (!got) {
      r.failure = "no DATA " + std::to_string(next);
      return r;
    }
    auto* d = std::get_if<data>(&got->first);
    if (d == nullptr || d->block != next) {
      r.failure = "not DATA " + std::to_string(next);
      return r;
    }
    if (next == 1 && intrude) {
      blocking_socket intruder;
      intruder.send_to(got->second, ack_of(1));
      if (auto reply = intruder.receive()) {
        if (auto* e = std::get_if<error>(&reply->first)) r.intruder_reply = *e;
      }
    }
    r.body.insert(r.body.end(), d->payload.begin(), d->payload.end());
    socket.send_to(got->second, ack_of(d->block));
    if (d->payload.size() < 512) {
      r.completed = true;
      return r;
    }
  }
}

class TftpServerPolling : public TftpServer {
protected:
  // Runs the server until the client thread is done and its transfer ended.
  thread_fetch_result fetch_on_thread(const std::string& name, bool intrude = false) {
    const auto ended_before = stats_.completed + stats_.failed;
    std::atomic<bool> done = false;
    thread_fetch_result r;
    std::thread client([&] {
      r = thread_fetch(server().port(), name, intrude);
      done = true;
    });
    run_until([&] { return done.load(); });
    client.join();
    run_until([&] { return stats_.completed + stats_.failed > ended_before; }, 5s);
    return r;
  }

  // Serves a 100-block image and fetches it whole, as the only transfer.
  ::testing::AssertionResult fetches_a_whole_image() {
    const auto image = pattern_bytes(100 * 512 + 17);
    start_server();
    const auto r = fetch_on_thread(add_firmware(image, "1.0", "fw.bin"));
    if (!r.completed) return ::testing::AssertionFailure() << "transfer failed: " << r.failure;
    if (r.body != image) return ::testing::AssertionFailure() << "the bytes differ";
    if (stats_.completed != 1u) return ::testing::AssertionFailure() << stats_.completed << " transfers completed";
    return ::testing::AssertionSuccess();
  }
};

TEST_F(TftpServerPolling, ALoneLockstepTransferCompletesWithItsAcksReadByPolling) {
  options_.busy_poll = 1s;
  ASSERT_TRUE(fetches_a_whole_image());
  EXPECT_GT(stats_.polled, 0u) << "a client on another thread answers within a second";
}

TEST_F(TftpServerPolling, WithPollingOffTheReactorReadsEveryAck) {
  options_.busy_poll = 0us;
  ASSERT_TRUE(fetches_a_whole_image());
  EXPECT_EQ(stats_.polled, 0u);
}

TEST_F(TftpServerPolling, APacketFromTheWrongPortWhileTheServerPollsGetsError5) {
  options_.busy_poll = 1s;
  const auto image = pattern_bytes(20 * 512 + 3);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  const auto r = fetch_on_thread(path, true);
  ASSERT_TRUE(r.completed) << r.failure;
  EXPECT_EQ(r.body, image);
  ASSERT_TRUE(r.intruder_reply);
  EXPECT_EQ(r.intruder_reply->code, error_code::unknown_transfer_id);
  EXPECT_EQ(stats_.stray, 1u);
  EXPECT_EQ(stats_.completed, 1u);
}

TEST_F(TftpServerPolling, ATransferDoesNotPollWhileAnotherIsInFlight) {
  options_.busy_poll = 1s;
  options_.limits.default_timeout = 10s;  // the idle transfer below must outlive the other one
  const auto image = pattern_bytes(50 * 512 + 5);
  const auto path = add_firmware(image, "1.0", "fw.bin");
  start_server();
  // An in-process client that stops after DATA 1 keeps a transfer in flight
  // while the thread's transfer runs. (It is alone when it sends DATA 1, so
  // the server polls in vain for its ACK 1 first.)
  auto idle = client_socket(io_);
  send(idle, server(), rrq(path));
  const auto first = run(receive(idle, 3s));
  ASSERT_TRUE(first);
  ASSERT_EQ(stats_.active, 1u);
  const auto polled_before = stats_.polled;
  const auto r = fetch_on_thread(path);
  ASSERT_TRUE(r.completed) << r.failure;
  EXPECT_EQ(r.body, image);
  EXPECT_EQ(stats_.polled, polled_before);
  send(idle, first->from, error_packet(error_code::not_defined, "done"));
  run_until([&] { return stats_.active == 0; }, 5s);
  EXPECT_EQ(stats_.completed, 1u);
}

// serve() declares its io_context first and the counters after it, so a
// transfer still suspended when the grace period ends is destroyed after the
// counters are gone. Nothing may touch them then (ASan builds check this).
TEST(TftpServerShutdown, TransfersDestroyedWithTheIoContextTouchNothingOfTheCaller) {
  store::test_support::temp_folder folder;
  const auto data_dir = folder.file("data");
  auto io = std::make_unique<net::io_context>();
  {
    store::inventory inventory(folder.file("provbox.db"));
    inventory.add_model({"IP542N", "IP542N.conf", {}, std::string(phone_template), 0});
    store::device_record d;
    d.mac = phone;
    d.model = "IP542N";
    d.static_ip = "127.0.0.1";
    inventory.add_device(d);
    provisioning::service service(inventory, {data_dir, 200, false});
    auto stats = std::make_unique<server_stats>();
    server_options options;
    udp::socket listener(*io, udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    net::co_spawn(*io, run_server(listener, service, options, *stats), net::detached);

    auto client = client_socket(*io);
    send(client, listener.local_endpoint(), rrq("IP542N.conf"));
    std::optional<received> got;
    net::co_spawn(*io, receive(client, 3s), [&](std::exception_ptr, std::optional<received> r) { got = std::move(r); });
    for (int i = 0; i < 200 && !got; ++i) io->run_one_for(50ms);
    ASSERT_TRUE(got && std::holds_alternative<data>(got->p)) << "the transfer is waiting for ACK 1";
    EXPECT_EQ(stats->active, 1u);
    listener.close();
    io->stop();
    stats.reset();  // gone, as at the end of serve(), with the transfer still suspended
  }
  io.reset();  // destroys the suspended transfer's frame
  SUCCEED();
}

}  // namespace
}  // namespace provbox::tftp
