#include "dhcp/options.hpp"

#include "tests/dhcp/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace provbox::dhcp {
namespace {

using test::bytes;
using test::text;

// --- the definition table --------------------------------------------------

TEST(OptionTable, EveryNameIsUnique) {
    std::set<std::string_view> names;
    for (const auto& d : option_definitions()) EXPECT_TRUE(names.insert(d.name).second) << d.name;
}

TEST(OptionTable, EveryCodeIsUnique) {
    std::set<int> codes;
    for (const auto& d : option_definitions()) EXPECT_TRUE(codes.insert(d.code).second) << int{d.code};
}

TEST(OptionTable, NamesAreLowercaseWordsJoinedByHyphens) {
    for (const auto& d : option_definitions()) {
        EXPECT_FALSE(d.name.empty());
        EXPECT_NE(d.name.front(), '-') << d.name;
        EXPECT_NE(d.name.back(), '-') << d.name;
        EXPECT_TRUE(std::all_of(d.name.begin(), d.name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        })) << d.name;
    }
}

TEST(OptionTable, NoEntryForPadOrEnd) {
    EXPECT_EQ(find_definition(std::uint8_t{0}), nullptr);
    EXPECT_EQ(find_definition(std::uint8_t{255}), nullptr);
}

TEST(OptionTable, EveryEntryIsFoundByCodeAndByName) {
    for (const auto& d : option_definitions()) {
        EXPECT_EQ(find_definition(d.code), &d) << d.name;
        EXPECT_EQ(find_definition(d.name), &d) << d.name;
    }
}

TEST(OptionTable, UnknownLookupsFindNothing) {
    EXPECT_EQ(find_definition(std::uint8_t{224}), nullptr);
    EXPECT_EQ(find_definition("no-such-option"), nullptr);
    EXPECT_EQ(find_definition("TFTP-SERVER-NAME"), nullptr);  // names are exact
}

TEST(OptionTable, HoldsTheOptionsAProvisioningServerNeeds) {
    struct expected_entry {
        std::uint8_t code;
        std::string_view name;
        option_type type;
    };
    const expected_entry expected[] = {
        {1, "subnet-mask", option_type::ipv4},
        {3, "routers", option_type::ipv4_list},
        {6, "domain-name-servers", option_type::ipv4_list},
        {12, "host-name", option_type::string},
        {15, "domain-name", option_type::string},
        {28, "broadcast-address", option_type::ipv4},
        {42, "ntp-servers", option_type::ipv4_list},
        {43, "vendor-encapsulated-options", option_type::bytes},
        {50, "requested-address", option_type::ipv4},
        {51, "lease-time", option_type::u32},
        {52, "overload", option_type::u8},
        {53, "message-type", option_type::u8},
        {54, "server-identifier", option_type::ipv4},
        {55, "parameter-request-list", option_type::u8_list},
        {56, "message", option_type::string},
        {57, "max-message-size", option_type::u16},
        {58, "renewal-time", option_type::u32},
        {59, "rebinding-time", option_type::u32},
        {60, "vendor-class-identifier", option_type::string},
        {61, "client-identifier", option_type::bytes},
        {66, "tftp-server-name", option_type::string},
        {67, "boot-file-name", option_type::string},
        {82, "relay-agent-information", option_type::bytes},
        {125, "vivso", option_type::bytes},
        {150, "tftp-server-address", option_type::ipv4_list},
        {160, "provisioning-url", option_type::string},
    };
    for (const auto& e : expected) {
        const option_definition* d = find_definition(e.code);
        ASSERT_NE(d, nullptr) << int{e.code};
        EXPECT_EQ(d->name, e.name);
        EXPECT_EQ(d->type, e.type) << e.name;
    }
}

// --- typed encoders --------------------------------------------------------

TEST(OptionEncode, Ipv4IsFourBytesInNetworkOrder) {
    EXPECT_EQ(from_ipv4(ipv4_address(10, 0, 0, 1)), (bytes{10, 0, 0, 1}));
}

TEST(OptionEncode, Ipv4ListConcatenatesAddresses) {
    const ipv4_address list[] = {{10, 0, 0, 1}, {10, 0, 0, 2}};
    EXPECT_EQ(from_ipv4_list(list), (bytes{10, 0, 0, 1, 10, 0, 0, 2}));
}

TEST(OptionEncode, IntegersAreBigEndian) {
    EXPECT_EQ(from_u8(7), (bytes{7}));
    EXPECT_EQ(from_u16(576), (bytes{0x02, 0x40}));
    EXPECT_EQ(from_u32(3600), (bytes{0x00, 0x00, 0x0e, 0x10}));
}

TEST(OptionEncode, NegativeI32IsTwosComplement) {
    EXPECT_EQ(from_i32(-3600), (bytes{0xff, 0xff, 0xf1, 0xf0}));
}

TEST(OptionEncode, StringHasNoTerminator) {
    EXPECT_EQ(from_string("IP542N.conf"), text("IP542N.conf"));
}

TEST(OptionEncode, BoolIsOneByte) {
    EXPECT_EQ(from_bool(true), (bytes{1}));
    EXPECT_EQ(from_bool(false), (bytes{0}));
}

// --- typed readers ---------------------------------------------------------

TEST(OptionRead, U32OfWrongLengthIsEmpty) {
    EXPECT_EQ(as_u32(bytes{0x00, 0x00, 0x0e, 0x10}), 3600u);
    EXPECT_FALSE(as_u32(bytes{}));
    EXPECT_FALSE(as_u32(bytes{0x0e, 0x10}));
    EXPECT_FALSE(as_u32(bytes{0, 0, 0, 0, 1}));
}

TEST(OptionRead, U16AndU8OfWrongLengthAreEmpty) {
    EXPECT_EQ(as_u16(bytes{0x02, 0x40}), 576);
    EXPECT_FALSE(as_u16(bytes{0x02}));
    EXPECT_EQ(as_u8(bytes{5}), 5);
    EXPECT_FALSE(as_u8(bytes{5, 5}));
}

TEST(OptionRead, I32ReadsNegativeValues) {
    EXPECT_EQ(as_i32(bytes{0xff, 0xff, 0xf1, 0xf0}), -3600);
}

TEST(OptionRead, Ipv4NeedsExactlyFourBytes) {
    EXPECT_EQ(as_ipv4(bytes{192, 168, 1, 1}), ipv4_address(192, 168, 1, 1));
    EXPECT_FALSE(as_ipv4(bytes{192, 168, 1}));
}

TEST(OptionRead, Ipv4ListNeedsAPositiveMultipleOfFour) {
    const auto list = as_ipv4_list(bytes{10, 0, 0, 1, 10, 0, 0, 2});
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<ipv4_address>{{10, 0, 0, 1}, {10, 0, 0, 2}}));
    EXPECT_FALSE(as_ipv4_list(bytes{}));
    EXPECT_FALSE(as_ipv4_list(bytes{10, 0, 0, 1, 10}));
}

TEST(OptionRead, StringDropsTrailingNuls) {
    EXPECT_EQ(as_string(text("udhcp 1.35.0")), "udhcp 1.35.0");
    EXPECT_EQ(as_string(bytes{'a', 'b', 0, 0}), "ab");
}

TEST(OptionRead, EmptyOrAllNulStringIsEmpty) {
    EXPECT_FALSE(as_string(bytes{}));
    EXPECT_FALSE(as_string(bytes{0}));
}

TEST(OptionRead, BoolAcceptsOnlyZeroAndOne) {
    EXPECT_EQ(as_bool(bytes{1}), true);
    EXPECT_EQ(as_bool(bytes{0}), false);
    EXPECT_FALSE(as_bool(bytes{2}));
    EXPECT_FALSE(as_bool(bytes{1, 0}));
}

// --- operator text to option data ------------------------------------------

TEST(OptionText, TftpServerNameIsTheTextItself) {
    const auto v = parse_option_value("tftp-server-name", "10.0.0.1");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.code, 66);
    EXPECT_EQ(v.data, text("10.0.0.1"));
}

TEST(OptionText, RoutersIsACommaSeparatedAddressList) {
    const auto v = parse_option_value("routers", "10.0.0.1,10.0.0.2");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.code, 3);
    EXPECT_EQ(v.data, (bytes{10, 0, 0, 1, 10, 0, 0, 2}));
}

TEST(OptionText, ListItemsMayBeSpaced) {
    const auto v = parse_option_value("tftp-server-address", " 10.0.0.1 , 10.0.0.2 ");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.data, (bytes{10, 0, 0, 1, 10, 0, 0, 2}));
}

TEST(OptionText, LeaseTimeIsAU32) {
    const auto v = parse_option_value("lease-time", "3600");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.code, 51);
    EXPECT_EQ(v.data, (bytes{0x00, 0x00, 0x0e, 0x10}));
}

TEST(OptionText, TimeOffsetTakesANegativeNumber) {
    const auto v = parse_option_value("time-offset", "-3600");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.data, (bytes{0xff, 0xff, 0xf1, 0xf0}));
}

TEST(OptionText, BooleanTakesTrueFalseOneZero) {
    EXPECT_EQ(parse_option_value("ip-forwarding", "true").data, bytes{1});
    EXPECT_EQ(parse_option_value("ip-forwarding", "0").data, bytes{0});
    EXPECT_FALSE(parse_option_value("ip-forwarding", "yes"));
}

TEST(OptionText, U8ListIsCommaSeparated) {
    const auto v = parse_option_value("parameter-request-list", "1,3,6,66");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.data, (bytes{1, 3, 6, 66}));
}

TEST(OptionText, HexIsRawBytesForAnyType) {
    const auto v = parse_option_value("vendor-encapsulated-options", "0x0102");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.data, (bytes{1, 2}));
    const auto w = parse_option_value("lease-time", "0x00000E10");
    ASSERT_TRUE(w) << w.error;
    EXPECT_EQ(w.data, (bytes{0x00, 0x00, 0x0e, 0x10}));
}

TEST(OptionText, HexOfTheWrongSizeForTheTypeIsAnError) {
    const auto v = parse_option_value("lease-time", "0x0102");
    EXPECT_FALSE(v);
    EXPECT_NE(v.error.find("lease-time"), std::string::npos) << v.error;
}

TEST(OptionText, MalformedHexIsAnError) {
    EXPECT_FALSE(parse_option_value("client-identifier", "0x012"));
    EXPECT_FALSE(parse_option_value("client-identifier", "0x01zz"));
}

TEST(OptionText, BytesTypeTakesOnlyHex) {
    const auto v = parse_option_value("client-identifier", "abc");
    EXPECT_FALSE(v);
    EXPECT_NE(v.error.find("hex"), std::string::npos) << v.error;
}

TEST(OptionText, DecimalCodeNamesAnOptionOutsideTheTable) {
    const auto v = parse_option_value("224", "0xdead");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.code, 224);
    EXPECT_EQ(v.data, (bytes{0xde, 0xad}));
}

TEST(OptionText, DecimalCodeOfAKnownOptionUsesItsType) {
    const auto v = parse_option_value("51", "3600");
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.data, (bytes{0x00, 0x00, 0x0e, 0x10}));
}

TEST(OptionText, UnknownNameIsAnErrorNamingIt) {
    const auto v = parse_option_value("tftp-server", "10.0.0.1");
    EXPECT_FALSE(v);
    EXPECT_EQ(v.error, "unknown option 'tftp-server'");
}

TEST(OptionText, PadAndEndCodesAreNotOptions) {
    EXPECT_FALSE(parse_option_value("0", "0x01"));
    EXPECT_FALSE(parse_option_value("255", "0x01"));
}

TEST(OptionText, OverloadCannotBeConfigured) {
    EXPECT_FALSE(parse_option_value("overload", "3"));
}

TEST(OptionText, BadAddressIsAnErrorNamingOptionAndValue) {
    const auto v = parse_option_value("routers", "10.0.0.1,10.0.0.256");
    EXPECT_FALSE(v);
    EXPECT_NE(v.error.find("routers"), std::string::npos) << v.error;
    EXPECT_NE(v.error.find("10.0.0.256"), std::string::npos) << v.error;
}

TEST(OptionText, EmptyListItemIsAnError) {
    EXPECT_FALSE(parse_option_value("routers", "10.0.0.1,,10.0.0.2"));
    EXPECT_FALSE(parse_option_value("routers", ""));
}

TEST(OptionText, IntegersOutOfRangeAreErrors) {
    EXPECT_FALSE(parse_option_value("lease-time", "4294967296"));
    EXPECT_FALSE(parse_option_value("lease-time", "-1"));
    EXPECT_FALSE(parse_option_value("interface-mtu", "65536"));
    EXPECT_FALSE(parse_option_value("time-offset", "2147483648"));
    EXPECT_FALSE(parse_option_value("parameter-request-list", "1,256"));
}

TEST(OptionText, IntegersMustBeWholeDecimalNumbers) {
    EXPECT_FALSE(parse_option_value("lease-time", "36OO"));
    EXPECT_FALSE(parse_option_value("lease-time", "+3600"));
    EXPECT_FALSE(parse_option_value("lease-time", "1h"));
    EXPECT_FALSE(parse_option_value("lease-time", ""));
}

TEST(OptionText, EmptyStringIsAnError) {
    // RFC 2132 §2: string options carry at least one byte.
    EXPECT_FALSE(parse_option_value("boot-file-name", ""));
}

// --- the reply's options ---------------------------------------------------

// What a server might hold for one phone, in no particular order.
std::vector<option> server_options() {
    return {
        {51, from_u32(3600)},
        {3, from_ipv4(ipv4_address(192, 168, 1, 1))},
        {67, text("IP542N.conf")},
        {42, from_ipv4(ipv4_address(192, 168, 1, 1))},
        {53, {2}},
        {1, from_ipv4(ipv4_address(255, 255, 255, 0))},
        {66, text("192.168.1.1")},
        {54, from_ipv4(ipv4_address(192, 168, 1, 1))},
        {160, text("https://prov.example/")},
    };
}

std::vector<std::uint8_t> codes(const std::vector<option>& options) {
    std::vector<std::uint8_t> out;
    for (const option& o : options) out.push_back(o.code);
    return out;
}

TEST(ReplyOptions, MessageTypeAndServerIdentifierComeFirst) {
    const std::uint8_t requested[] = {1, 3};
    const auto out = order_reply_options(server_options(), requested);
    ASSERT_GE(out.size(), 2u);
    EXPECT_EQ(out[0].code, 53);
    EXPECT_EQ(out[1].code, 54);
}

TEST(ReplyOptions, RequestedOptionsFollowInTheClientsOrder) {
    const std::uint8_t requested[] = {42, 3, 1};
    const auto out = codes(order_reply_options(server_options(), requested));
    EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + 5),
              (std::vector<std::uint8_t>{53, 54, 42, 3, 1}));
}

TEST(ReplyOptions, NeededOptionsAreAddedAfterTheRequestedOnes) {
    const std::uint8_t requested[] = {3};
    EXPECT_EQ(codes(order_reply_options(server_options(), requested)),
              (std::vector<std::uint8_t>{53, 54, 3, 51, 67, 1, 66}));
}

TEST(ReplyOptions, OptionsNeitherRequestedNorNeededAreLeftOut) {
    const std::uint8_t requested[] = {1};
    const auto out = codes(order_reply_options(server_options(), requested));
    EXPECT_EQ(std::count(out.begin(), out.end(), 42), 0);
    EXPECT_EQ(std::count(out.begin(), out.end(), 160), 0);
}

TEST(ReplyOptions, RequestedOptionTheServerLacksIsSkipped) {
    const std::uint8_t requested[] = {15, 1};
    const auto out = codes(order_reply_options(server_options(), requested));
    EXPECT_EQ(out[2], 1);
    EXPECT_EQ(std::count(out.begin(), out.end(), 15), 0);
}

TEST(ReplyOptions, CodeRequestedTwiceAppearsOnce) {
    const std::uint8_t requested[] = {1, 1, 53, 54};
    const auto out = codes(order_reply_options(server_options(), requested));
    EXPECT_EQ(std::count(out.begin(), out.end(), 1), 1);
    EXPECT_EQ(std::count(out.begin(), out.end(), 53), 1);
}

TEST(ReplyOptions, RelayAgentInformationIsEchoedLast) {
    auto available = server_options();
    available.insert(available.begin(), option{82, {1, 3, 'p', 'o', 'e'}});
    const std::uint8_t requested[] = {82, 1};
    const auto out = order_reply_options(available, requested);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back(), (option{82, {1, 3, 'p', 'o', 'e'}}));
    const auto out_codes = codes(out);
    EXPECT_EQ(std::count(out_codes.begin(), out_codes.end(), 82), 1);
}

TEST(ReplyOptions, OverloadIsNeverSent) {
    auto available = server_options();
    available.push_back(option{52, {3}});
    const std::uint8_t requested[] = {52};
    const auto out = codes(order_reply_options(available, requested));
    EXPECT_EQ(std::count(out.begin(), out.end(), 52), 0);
}

TEST(ReplyOptions, EverythingFitsInTheDefaultSize) {
    const std::uint8_t requested[] = {1, 3, 42, 66, 67, 160};
    const auto out = order_reply_options(server_options(), requested);
    EXPECT_EQ(out.size(), 9u);
}

// 576 leaves 576 - 28 (IP, UDP) - 240 (header, cookie) - 1 (end) = 307 bytes.
TEST(ReplyOptions, DropsTheLowestPriorityOptionsToFit576) {
    std::vector<option> available{
        {53, {2}},                            // 3 bytes
        {54, {10, 0, 0, 1}},                  // 6
        {51, from_u32(3600)},                 // 6
        {43, bytes(200, 0xaa)},               // 202: requested first
        {160, bytes(90, 'u')},                // 92: requested second
        {66, bytes(10, 't')},                 // 12: needed, unrequested
    };
    const std::uint8_t requested[] = {43, 160};
    // 3 + 6 + 6 + 202 = 217; 160 needs 92 and only 90 are left; 66 fits.
    EXPECT_EQ(codes(order_reply_options(available, requested, 576)),
              (std::vector<std::uint8_t>{53, 54, 43, 51, 66}));
}

TEST(ReplyOptions, SizeBelow576IsTreatedAs576) {
    std::vector<option> available{{53, {2}}, {43, bytes(250, 0xaa)}};
    const std::uint8_t requested[] = {43};
    EXPECT_EQ(order_reply_options(available, requested, 300),
              order_reply_options(available, requested, 576));
    EXPECT_EQ(codes(order_reply_options(available, requested, 300)),
              (std::vector<std::uint8_t>{53, 43}));
}

TEST(ReplyOptions, LargerMaximumLetsMoreThrough) {
    std::vector<option> available{{53, {2}}, {43, bytes(310, 0xaa)}, {160, bytes(320, 'u')}};
    const std::uint8_t requested[] = {43, 160};
    EXPECT_EQ(codes(order_reply_options(available, requested, 576)), (std::vector<std::uint8_t>{53}));
    EXPECT_EQ(codes(order_reply_options(available, requested, 1500)),
              (std::vector<std::uint8_t>{53, 43, 160}));
}

TEST(ReplyOptions, MandatoryOptionsAreKeptEvenWhenOthersFillTheSpace) {
    std::vector<option> available{
        {43, bytes(300, 0xaa)},           // requested, too big once the rest is in
        {82, bytes(200, 0x82)},
        {53, {5}},
        {54, {10, 0, 0, 1}},
        {51, from_u32(3600)},
    };
    const std::uint8_t requested[] = {43};
    EXPECT_EQ(codes(order_reply_options(available, requested, 576)),
              (std::vector<std::uint8_t>{53, 54, 51, 82}));
}

TEST(ReplyOptions, EncodedReplyStaysWithinTheClientsMaximum) {
    std::vector<option> available = server_options();
    available.push_back({43, bytes(120, 0xaa)});
    available.push_back({125, bytes(120, 0xbb)});
    const std::uint8_t requested[] = {1, 3, 42, 43, 125, 66, 67, 160};
    message reply;
    reply.options = order_reply_options(available, requested, 576);
    EXPECT_LE(encode(reply).size() + 28, 576u);
    EXPECT_LT(reply.options.size(), available.size());
}

}  // namespace
}  // namespace provbox::dhcp
