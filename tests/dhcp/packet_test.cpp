#include "dhcp/packet.hpp"

#include "dhcp/options.hpp"
#include "tests/dhcp/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace provbox::dhcp {
namespace {

using test::bytes;
using test::concat;
using test::from_hex;
using test::request_head;
using test::text;
using test::zeros;

const mac_address phone_mac{0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19};

// DHCPDISCOVER from busybox udhcpc 1.35.0 on a phone, 300 bytes:
//   0  01 01 06 00             op BOOTREQUEST, htype Ethernet, hlen 6, hops 0
//   4  39 03 f3 26             xid
//   8  00 00 00 00             secs 0, flags 0 (no broadcast bit)
//  12  00 x 16                 ciaddr, yiaddr, siaddr, giaddr all 0.0.0.0
//  28  00 21 f2 01 1b 19 +10   chaddr
//  44  00 x 64                 sname
// 108  00 x 128                file
// 236  63 82 53 63             magic cookie
// 240  35 01 01                53 message type: DISCOVER
// 243  3d 07 01 00 21 f2 01 1b 19
//                              61 client identifier: htype 1 + MAC
// 252  39 02 02 40             57 max message size 576
// 256  3c 0c "udhcp 1.35.0"    60 vendor class identifier
// 270  0c 06 "ip542n"          12 host name
// 278  37 07 01 03 06 0c 0f 1c 2a
//                              55 parameter request list: 1 3 6 12 15 28 42
// 287  ff                      end
// 288  00 x 12                 pad to the BOOTP minimum of 300
const bytes udhcpc_discover = from_hex(
    "010106003903f3260000000000000000"
    "0000000000000000000000000021f201"
    "1b190000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000000000000"
    "00000000000000000000000063825363"
    "3501013d07010021f2011b1939020240"
    "3c0c756468637020312e33352e300c06"
    "69703534326e37070103060c0f1c2aff"
    "000000000000000000000000");

// Where each option of udhcpc_discover ends; a cut at any other offset
// inside [240, 287) lands inside an option.
constexpr std::size_t discover_option_ends[] = {243, 252, 256, 270, 278, 287};

bytes with_options(const bytes& options) { return concat({request_head(), options}); }

void put(bytes& wire, std::size_t offset, const bytes& data) {
    std::copy(data.begin(), data.end(), wire.begin() + static_cast<std::ptrdiff_t>(offset));
}

// --- ipv4_address ----------------------------------------------------------

TEST(Ipv4Address, ParsesDottedQuadIntoHostOrder) {
    auto a = ipv4_address::parse("192.168.1.20");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_uint(), 0xc0a80114u);
    EXPECT_EQ(*a, ipv4_address(192, 168, 1, 20));
}

TEST(Ipv4Address, FormatsDottedQuad) {
    EXPECT_EQ(ipv4_address(10, 0, 0, 255).to_string(), "10.0.0.255");
    EXPECT_EQ(ipv4_address().to_string(), "0.0.0.0");
}

TEST(Ipv4Address, RejectsAnythingButAStrictDottedQuad) {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.1000", "01.2.3.4",
                            "1..2.3", " 1.2.3.4", "1.2.3.4 ", "a.b.c.d", "-1.2.3.4", "1.2.3.",
                            "+1.2.3.4", "1.2.3.4/24"}) {
        EXPECT_FALSE(ipv4_address::parse(bad)) << bad;
    }
}

TEST(Ipv4Address, AcceptsZeroAndBroadcast) {
    EXPECT_EQ(ipv4_address::parse("0.0.0.0"), ipv4_address());
    EXPECT_EQ(ipv4_address::parse("255.255.255.255"), ipv4_address(0xffffffffu));
}

// --- message helpers -------------------------------------------------------

TEST(Message, BroadcastBitIsTheTopBitOfFlags) {
    message m;
    m.flags = 0x0001;
    m.set_broadcast(true);
    EXPECT_EQ(m.flags, 0x8001);
    EXPECT_TRUE(m.broadcast());
    m.set_broadcast(false);
    EXPECT_EQ(m.flags, 0x0001);
    EXPECT_FALSE(m.broadcast());
}

TEST(Message, MacIsReadOnlyForEthernetHeaders) {
    message m;
    m.set_mac(phone_mac);
    EXPECT_EQ(m.mac(), phone_mac);
    m.htype = 6;  // IEEE 802
    EXPECT_FALSE(m.mac());
    m.htype = 1;
    m.hlen = 16;
    EXPECT_FALSE(m.mac());
}

TEST(Message, SetMacSetsEthernetHeaderAndClearsTheRestOfChaddr) {
    message m;
    m.htype = 0;
    m.hlen = 0;
    m.chaddr.fill(0xee);
    m.set_mac(phone_mac);
    EXPECT_EQ(m.htype, 1);
    EXPECT_EQ(m.hlen, 6);
    EXPECT_TRUE(std::all_of(m.chaddr.begin() + 6, m.chaddr.end(), [](auto b) { return b == 0; }));
}

TEST(Message, MacFormatsAsLowercaseColonHex) {
    EXPECT_EQ(to_string(phone_mac), "00:21:f2:01:1b:19");
}

TEST(Message, BootFileIsTheTextBeforeTheFirstNul) {
    message m;
    ASSERT_TRUE(m.set_boot_file("IP542N.conf"));
    EXPECT_EQ(m.boot_file(), "IP542N.conf");
    EXPECT_EQ(m.file[11], 0);
}

TEST(Message, BootFileSetterRefusesANameWithNoRoomForTheNul) {
    message m;
    EXPECT_FALSE(m.set_boot_file(std::string(128, 'a')));
    EXPECT_TRUE(m.set_boot_file(std::string(127, 'a')));
    EXPECT_FALSE(m.set_server_name(std::string(64, 'a')));
    EXPECT_TRUE(m.set_server_name(std::string(63, 'a')));
}

TEST(Message, SetOptionReplacesInPlaceAndKeepsOrder) {
    message m;
    m.set_option(53, {1});
    m.set_option(61, {1, 2});
    m.set_option(53, {3});
    ASSERT_EQ(m.options.size(), 2u);
    EXPECT_EQ(m.options[0], (option{53, {3}}));
    EXPECT_EQ(m.options[1], (option{61, {1, 2}}));
}

TEST(Message, RemoveOptionReportsWhetherItWasThere) {
    message m;
    m.set_option(12, text("ip542n"));
    EXPECT_TRUE(m.remove_option(12));
    EXPECT_FALSE(m.remove_option(12));
    EXPECT_EQ(m.find(12), nullptr);
}

TEST(Message, TypeReadsOption53) {
    message m;
    m.set_type(message_type::request);
    EXPECT_EQ(m.type(), message_type::request);
    EXPECT_EQ(m.find(53)->data, bytes{3});
}

TEST(Message, TypeIsEmptyWhenOption53IsAbsentMalformedOrUnknown) {
    message m;
    EXPECT_FALSE(m.type());
    m.set_option(53, {});
    EXPECT_FALSE(m.type());
    m.set_option(53, {1, 1});
    EXPECT_FALSE(m.type());
    m.set_option(53, {0});
    EXPECT_FALSE(m.type());
    m.set_option(53, {10});  // DHCPLEASEQUERY (RFC 4388): not ours
    EXPECT_FALSE(m.type());
}

TEST(Message, TypeNamesAreTheRfcNames) {
    EXPECT_EQ(to_string(message_type::discover), "DHCPDISCOVER");
    EXPECT_EQ(to_string(message_type::inform), "DHCPINFORM");
}

// --- encode ----------------------------------------------------------------

message sample_offer() {
    message m;
    m.op = op_code::boot_reply;
    m.xid = 0x3903f326;
    m.set_broadcast(true);
    m.yiaddr = ipv4_address(192, 168, 1, 100);
    m.siaddr = ipv4_address(192, 168, 1, 1);
    m.set_mac(phone_mac);
    m.set_type(message_type::offer);
    m.set_option(54, {192, 168, 1, 1});
    m.set_option(51, {0x00, 0x00, 0x0e, 0x10});
    m.set_option(66, text("192.168.1.1"));
    return m;
}

TEST(Encode, WritesAnOfferByteForByte) {
    const bytes expected = concat({
        {2, 1, 6, 0},                         // op BOOTREPLY, htype, hlen, hops
        {0x39, 0x03, 0xf3, 0x26},             // xid
        {0x00, 0x00},                         // secs
        {0x80, 0x00},                         // flags: broadcast
        {0, 0, 0, 0},                         // ciaddr
        {192, 168, 1, 100},                   // yiaddr
        {192, 168, 1, 1},                     // siaddr
        {0, 0, 0, 0},                         // giaddr
        {0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19}, zeros(10),  // chaddr
        zeros(64),                            // sname
        zeros(128),                           // file
        {99, 130, 83, 99},                    // magic cookie
        {53, 1, 2},                           // message type OFFER
        {54, 4, 192, 168, 1, 1},              // server identifier
        {51, 4, 0x00, 0x00, 0x0e, 0x10},      // lease time 3600
        {66, 11}, text("192.168.1.1"),        // tftp server name
        {255},                                // end
        zeros(300 - 240 - 3 - 6 - 6 - 13 - 1),  // pad to 300
    });
    const bytes wire = encode(sample_offer());
    ASSERT_EQ(wire.size(), expected.size());
    EXPECT_EQ(std::memcmp(wire.data(), expected.data(), wire.size()), 0);
}

TEST(Encode, PadsAShortMessageToTheBootpMinimum) {
    message m;
    m.set_type(message_type::discover);
    const bytes wire = encode(m);
    EXPECT_EQ(wire.size(), bootp_min_size);
    EXPECT_EQ(wire[243], 255);  // end right after 53
}

TEST(Encode, DoesNotPadAMessageLongerThanTheMinimum) {
    message m;
    m.set_option(43, bytes(100, 0xab));
    // 240 + 102 + end
    EXPECT_EQ(encode(m).size(), 343u);
}

TEST(Encode, SplitsA600ByteOptionIntoThreeInstances) {
    message m;
    bytes value(600);
    for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(i);
    m.set_option(43, value);
    const bytes wire = encode(m);
    const bytes expected_options = concat({
        {43, 255}, bytes(value.begin(), value.begin() + 255),
        {43, 255}, bytes(value.begin() + 255, value.begin() + 510),
        {43, 90},  bytes(value.begin() + 510, value.end()),
        {255},
    });
    ASSERT_EQ(wire.size(), 240 + expected_options.size());
    EXPECT_TRUE(std::equal(expected_options.begin(), expected_options.end(), wire.begin() + 240));
}

TEST(Encode, WritesAnEmptyOptionAsCodeAndZeroLength) {
    message m;
    m.set_option(80, {});  // rapid commit (RFC 4039) carries no data
    const bytes wire = encode(m);
    EXPECT_EQ(wire[240], 80);
    EXPECT_EQ(wire[241], 0);
    EXPECT_EQ(wire[242], 255);
}

TEST(Encode, SkipsPadEndAndOverloadEntries) {
    message m;
    m.options = {{0, {}}, {52, {3}}, {255, {}}, {53, {1}}};
    const bytes wire = encode(m);
    EXPECT_EQ(bytes(wire.begin() + 240, wire.begin() + 244), (bytes{53, 1, 1, 255}));
}

TEST(Encode, KeepsOptionOrder) {
    message m;
    m.set_option(61, {1});
    m.set_option(12, {'a'});
    m.set_option(53, {1});
    const bytes wire = encode(m);
    EXPECT_EQ(bytes(wire.begin() + 240, wire.begin() + 250),
              (bytes{61, 1, 1, 12, 1, 'a', 53, 1, 1, 255}));
}

// --- decode: a real client -------------------------------------------------

TEST(Decode, UdhcpcDiscoverHeaderFields) {
    const auto r = decode(udhcpc_discover);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r.options_truncated);
    const message& m = r.msg;
    EXPECT_EQ(m.op, op_code::boot_request);
    EXPECT_EQ(m.htype, 1);
    EXPECT_EQ(m.hlen, 6);
    EXPECT_EQ(m.hops, 0);
    EXPECT_EQ(m.xid, 0x3903f326u);
    EXPECT_EQ(m.secs, 0);
    EXPECT_FALSE(m.broadcast());
    EXPECT_TRUE(m.ciaddr.is_unspecified());
    EXPECT_TRUE(m.yiaddr.is_unspecified());
    EXPECT_TRUE(m.siaddr.is_unspecified());
    EXPECT_TRUE(m.giaddr.is_unspecified());
    EXPECT_EQ(m.mac(), phone_mac);
    EXPECT_EQ(m.server_name(), "");
    EXPECT_EQ(m.boot_file(), "");
}

TEST(Decode, UdhcpcDiscoverOptionsInWireOrder) {
    const auto r = decode(udhcpc_discover);
    ASSERT_TRUE(r);
    const std::vector<option> expected{
        {53, {1}},
        {61, {1, 0x00, 0x21, 0xf2, 0x01, 0x1b, 0x19}},
        {57, {0x02, 0x40}},
        {60, text("udhcp 1.35.0")},
        {12, text("ip542n")},
        {55, {1, 3, 6, 12, 15, 28, 42}},
    };
    EXPECT_EQ(r.msg.options, expected);
    EXPECT_EQ(r.msg.type(), message_type::discover);
    EXPECT_EQ(as_u16(r.msg.find(57)->data), 576);
    EXPECT_EQ(as_string(r.msg.find(60)->data), "udhcp 1.35.0");
}

TEST(Decode, UdhcpcDiscoverReencodesToTheSameBytes) {
    const auto r = decode(udhcpc_discover);
    ASSERT_TRUE(r);
    EXPECT_EQ(encode(r.msg), udhcpc_discover);
}

// --- decode: the fixed header is strict ------------------------------------

TEST(Decode, HeaderShorterThan236BytesIsTooShort) {
    for (std::size_t n : {0u, 1u, 100u, 235u}) {
        const auto r = decode(std::span(udhcpc_discover).first(n));
        EXPECT_EQ(r.error, decode_error::too_short) << n;
    }
}

TEST(Decode, HeaderWithoutCookieIsNoMagicCookie) {
    for (std::size_t n : {236u, 237u, 239u}) {
        const auto r = decode(std::span(udhcpc_discover).first(n));
        EXPECT_EQ(r.error, decode_error::no_magic_cookie) << n;
    }
}

TEST(Decode, WrongCookieIsNoMagicCookie) {
    bytes wire = udhcpc_discover;
    wire[239] = 0x64;
    EXPECT_EQ(decode(wire).error, decode_error::no_magic_cookie);
}

TEST(Decode, PlainBootpRequestIsRefused) {
    // RFC 951: 236-byte header then a 64-byte vendor area of zeros.
    bytes wire = concat({bytes(udhcpc_discover.begin(), udhcpc_discover.begin() + 236), zeros(64)});
    EXPECT_EQ(decode(wire).error, decode_error::no_magic_cookie);
}

TEST(Decode, HlenAbove16IsBadHlen) {
    bytes wire = udhcpc_discover;
    wire[2] = 17;
    EXPECT_EQ(decode(wire).error, decode_error::bad_hlen);
    wire[2] = 16;
    EXPECT_TRUE(decode(wire));
}

TEST(Decode, OpOtherThanRequestOrReplyIsBadOp) {
    bytes wire = udhcpc_discover;
    for (std::uint8_t op : {0, 3, 255}) {
        wire[0] = op;
        EXPECT_EQ(decode(wire).error, decode_error::bad_op) << int{op};
    }
}

TEST(Decode, ErrorsAreStdErrorCodesWithText) {
    const std::error_code ec = decode_error::no_magic_cookie;
    EXPECT_EQ(ec.category().name(), std::string("provbox.dhcp.decode"));
    EXPECT_EQ(ec.message(), describe(decode_error::no_magic_cookie));
    EXPECT_FALSE(std::error_code(decode_error::ok));
}

// --- decode: the options area is lenient -----------------------------------

TEST(Decode, OptionCutMidwayKeepsEarlierOptionsAndSetsTheFlag) {
    // Cut inside option 60's value.
    const auto r = decode(std::span(udhcpc_discover).first(260));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r.options_truncated);
    ASSERT_EQ(r.msg.options.size(), 3u);
    EXPECT_EQ(r.msg.options.back().code, 57);
}

TEST(Decode, OptionWithOnlyItsCodeLeftIsTruncated) {
    const auto r = decode(with_options({53, 1, 1, 61}));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r.options_truncated);
    EXPECT_EQ(r.msg.options, (std::vector<option>{{53, {1}}}));
}

TEST(Decode, MissingEndAfterACompleteOptionIsNotTruncation) {
    const auto r = decode(with_options({53, 1, 1}));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r.options_truncated);
    EXPECT_EQ(r.msg.type(), message_type::discover);
}

TEST(Decode, EveryTruncationOfTheDiscoverIsSafeAndKeepsAPrefix) {
    const auto full = decode(udhcpc_discover).msg.options;
    for (std::size_t n = 0; n <= udhcpc_discover.size(); ++n) {
        const auto r = decode(std::span(udhcpc_discover).first(n));
        if (n < fixed_header_size) {
            EXPECT_EQ(r.error, decode_error::too_short) << n;
            continue;
        }
        if (n < 240) {
            EXPECT_EQ(r.error, decode_error::no_magic_cookie) << n;
            continue;
        }
        ASSERT_TRUE(r) << n;
        const auto complete = static_cast<std::size_t>(
            std::count_if(std::begin(discover_option_ends), std::end(discover_option_ends),
                          [n](std::size_t end) { return end <= n; }));
        const bool on_boundary =
            n == 240 || n >= 287 ||
            std::find(std::begin(discover_option_ends), std::end(discover_option_ends), n) !=
                std::end(discover_option_ends);
        EXPECT_EQ(r.options_truncated, !on_boundary) << n;
        EXPECT_EQ(r.msg.options, std::vector<option>(full.begin(), full.begin() + complete)) << n;
    }
}

TEST(Decode, PadOptionsAreSkipped) {
    const auto r = decode(with_options({0, 0, 53, 1, 3, 0, 12, 1, 'x', 255}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.options, (std::vector<option>{{53, {3}}, {12, {'x'}}}));
}

TEST(Decode, EndOptionStopsParsing) {
    const auto r = decode(with_options({53, 1, 3, 255, 12, 1, 'x', 255}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.options, (std::vector<option>{{53, {3}}}));
}

TEST(Decode, RepeatedCodeIsJoinedAtItsFirstPosition) {
    // RFC 3396: instances are concatenated in the order they appear.
    const auto r = decode(with_options({
        12, 2, 'i', 'p',   // host name, first part
        53, 1, 1,          // message type
        12, 3, '5', '4', '2',  // host name, second part
        255,
    }));
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.options, (std::vector<option>{{12, text("ip542")}, {53, {1}}}));
}

TEST(Decode, LongOptionRoundTripsThroughSplitAndJoin) {
    message m;
    bytes value(600);
    for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(i * 7);
    m.set_type(message_type::ack);
    m.set_option(125, value);
    m.set_option(54, {10, 0, 0, 1});
    const auto r = decode(encode(m));
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg, m);
}

// --- decode: option overload (RFC 2132 §9.3) -------------------------------

TEST(Decode, OverloadBothReadsOptionsThenFileThenSname) {
    bytes wire = with_options({
        53, 1, 1,          // message type DISCOVER
        52, 1, 3,          // overload: file and sname
        255,
    });
    put(wire, test::file_offset, {12, 3, 'a', 'b', 'c', 255});       // host name in file
    put(wire, test::sname_offset, {60, 2, 'v', 'c', 0, 0, 255});     // vendor class in sname
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r.options_truncated);
    EXPECT_EQ(r.msg.options,
              (std::vector<option>{{53, {1}}, {12, text("abc")}, {60, text("vc")}}));
}

TEST(Decode, OverloadedFieldsAreReturnedZeroedAndOption52Consumed) {
    bytes wire = with_options({53, 1, 1, 52, 1, 3, 255});
    put(wire, test::file_offset, {12, 3, 'a', 'b', 'c', 255});
    put(wire, test::sname_offset, {60, 2, 'v', 'c', 255});
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.find(52), nullptr);
    EXPECT_EQ(r.msg.file, (std::array<std::uint8_t, 128>{}));
    EXPECT_EQ(r.msg.sname, (std::array<std::uint8_t, 64>{}));
}

TEST(Decode, OverloadFileOnlyLeavesSnameAName) {
    bytes wire = with_options({53, 1, 1, 52, 1, 1, 255});
    put(wire, test::file_offset, {12, 1, 'h', 255});
    put(wire, test::sname_offset, text("tftp.example"));
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.find(12)->data, text("h"));
    EXPECT_EQ(r.msg.server_name(), "tftp.example");
}

TEST(Decode, OverloadSnameOnlyLeavesFileAName) {
    bytes wire = with_options({53, 1, 1, 52, 1, 2, 255});
    put(wire, test::sname_offset, {12, 1, 'h', 255});
    put(wire, test::file_offset, text("IP542N.conf"));
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.find(12)->data, text("h"));
    EXPECT_EQ(r.msg.boot_file(), "IP542N.conf");
}

TEST(Decode, OptionSplitAcrossOptionsAndFileIsJoined) {
    bytes wire = with_options({52, 1, 1, 12, 2, 'i', 'p', 255});
    put(wire, test::file_offset, {12, 4, '5', '4', '2', 'n', 255});
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.options, (std::vector<option>{{12, text("ip542n")}}));
}

TEST(Decode, InvalidOverloadValueIsIgnored) {
    bytes wire = with_options({53, 1, 1, 52, 1, 4, 255});
    put(wire, test::file_offset, text("IP542N.conf"));
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.boot_file(), "IP542N.conf");
    EXPECT_EQ(r.msg.options, (std::vector<option>{{53, {1}}}));
}

TEST(Decode, OverloadInsideFileIsNotHonoured) {
    // RFC 2132 §9.3: only the options field may carry option 52.
    bytes wire = with_options({52, 1, 1, 255});
    put(wire, test::file_offset, {52, 1, 2, 255});
    put(wire, test::sname_offset, {12, 1, 'h', 255});
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.msg.find(12), nullptr);
    EXPECT_EQ(r.msg.find(52), nullptr);
}

TEST(Decode, TruncatedOptionInsideFileSetsTheFlag) {
    bytes wire = with_options({53, 1, 1, 52, 1, 1, 255});
    put(wire, test::file_offset + 120, {12, 20, 'a', 'b'});  // runs past file's end
    const auto r = decode(wire);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r.options_truncated);
    EXPECT_EQ(r.msg.options, (std::vector<option>{{53, {1}}}));
}

TEST(Decode, OverloadedMessageReencodesWithoutOverload) {
    bytes wire = with_options({53, 1, 1, 52, 1, 3, 255});
    put(wire, test::file_offset, {12, 3, 'a', 'b', 'c', 255});
    const auto first = decode(wire);
    ASSERT_TRUE(first);
    const bytes again = encode(first.msg);
    EXPECT_EQ(bytes(again.begin() + 240, again.begin() + 249),
              (bytes{53, 1, 1, 12, 3, 'a', 'b', 'c', 255}));
    EXPECT_EQ(decode(again).msg, first.msg);
}

}  // namespace
}  // namespace provbox::dhcp
