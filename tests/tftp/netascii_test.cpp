// netascii conversion (RFC 1350 §1, RFC 764), byte for byte.
#include "tftp/netascii.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace provbox::tftp {
namespace {

using bytes = std::vector<std::uint8_t>;

bytes of(std::string_view s) { return bytes(s.begin(), s.end()); }

TEST(Netascii, LineFeedBecomesCarriageReturnLineFeed) {
  EXPECT_EQ(to_netascii(of("a\nb\n")), (bytes{'a', '\r', '\n', 'b', '\r', '\n'}));
}

TEST(Netascii, BareCarriageReturnBecomesCarriageReturnNul) {
  EXPECT_EQ(to_netascii(of("a\rb")), (bytes{'a', '\r', 0, 'b'}));
}

TEST(Netascii, ExistingCrLfIsConvertedByteByByte) {
  // The client turns CR NUL CR LF back into CR LF: the file is unchanged.
  EXPECT_EQ(to_netascii(of("x\r\n")), (bytes{'x', '\r', 0, '\r', '\n'}));
}

TEST(Netascii, TextWithoutLineEndsIsUnchanged) {
  const auto text = of("DBID_SIP_ENABLE=1\t0\t0\t0");
  EXPECT_EQ(to_netascii(text), text);
}

TEST(Netascii, NulAndHighBytesPassThrough) {
  EXPECT_EQ(to_netascii(bytes{0, 0xff, 0x80}), (bytes{0, 0xff, 0x80}));
}

TEST(Netascii, EmptyStaysEmpty) { EXPECT_TRUE(to_netascii({}).empty()); }

TEST(Netascii, SizeMatchesTheConvertedBuffer) {
  const auto text = of("a\nb\r\nc\r\r\n\n");
  EXPECT_EQ(netascii_size(text), to_netascii(text).size());
  EXPECT_EQ(netascii_size(text), text.size() + 7);  // four LF, three CR
}

}  // namespace
}  // namespace provbox::tftp
