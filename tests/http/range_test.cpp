// The Range header of a firmware download (RFC 9110 §14.1.2): one byte
// range, the whole file when the header is absent, malformed or asks for
// several ranges, and unsatisfiable (416) when well-formed but outside.
#include "http/range.hpp"

#include <gtest/gtest.h>

namespace provbox::http {
namespace {

constexpr std::uint64_t size = 1000;

::testing::AssertionResult is_partial(const range_result& r, std::uint64_t first, std::uint64_t length) {
  if (r.kind != range_kind::partial)
    return ::testing::AssertionFailure() << "kind " << static_cast<int>(r.kind) << ", not partial";
  if (r.range.first != first || r.range.length != length)
    return ::testing::AssertionFailure() << "range " << r.range.first << "+" << r.range.length << ", expected "
                                         << first << "+" << length;
  return ::testing::AssertionSuccess();
}

TEST(parse_range, first_and_last) { EXPECT_TRUE(is_partial(parse_range("bytes=0-99", size), 0, 100)); }

TEST(parse_range, one_byte) { EXPECT_TRUE(is_partial(parse_range("bytes=5-5", size), 5, 1)); }

TEST(parse_range, first_to_the_end) { EXPECT_TRUE(is_partial(parse_range("bytes=100-", size), 100, 900)); }

TEST(parse_range, the_last_byte_alone) { EXPECT_TRUE(is_partial(parse_range("bytes=999-", size), 999, 1)); }

TEST(parse_range, suffix_of_the_last_n_bytes) {
  EXPECT_TRUE(is_partial(parse_range("bytes=-100", size), 900, 100));
}

TEST(parse_range, a_suffix_longer_than_the_file_is_the_whole_file_as_a_range) {
  EXPECT_TRUE(is_partial(parse_range("bytes=-5000", size), 0, size));
}

TEST(parse_range, a_zero_suffix_is_unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=-0", size).kind, range_kind::unsatisfiable);
}

TEST(parse_range, a_last_beyond_the_end_is_clamped) {
  EXPECT_TRUE(is_partial(parse_range("bytes=900-5000", size), 900, 100));
}

TEST(parse_range, a_first_at_the_size_is_unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-", size).kind, range_kind::unsatisfiable);
}

TEST(parse_range, a_first_beyond_the_size_is_unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=2000-2100", size).kind, range_kind::unsatisfiable);
}

TEST(parse_range, several_ranges_get_the_whole_file) {
  EXPECT_EQ(parse_range("bytes=0-99,200-299", size).kind, range_kind::whole);
}

TEST(parse_range, an_absent_header_is_the_whole_file) { EXPECT_EQ(parse_range("", size).kind, range_kind::whole); }

TEST(parse_range, garbage_is_the_whole_file) {
  for (const char* header : {"garbage", "bytes=", "bytes=-", "bytes=abc-def", "bytes=1-x", "bytes=x-1",
                             "bytes=10", "bytes=5-1", "bytes= 0-99", "bytes=0-99 ", "bytes=+1-2", "items=0-99",
                             "bytes=--5", "bytes=0-99999999999999999999999"})
    EXPECT_EQ(parse_range(header, size).kind, range_kind::whole) << '"' << header << '"';
}

TEST(parse_range, a_malformed_range_past_the_end_is_the_whole_file_not_416) {
  // Found by fuzz_http_range: the first was compared with the size before
  // the last was parsed, so these were answered 416.
  for (const char* header : {"bytes=2000-x", "bytes=2000-100", "bytes=2000-99999999999999999999999",
                             "bytes=1000-999"})
    EXPECT_EQ(parse_range(header, size).kind, range_kind::whole) << '"' << header << '"';
}

TEST(parse_range, a_well_formed_range_past_the_end_stays_unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-1000", size).kind, range_kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=2000-", size).kind, range_kind::unsatisfiable);
}

TEST(parse_range, a_range_of_an_empty_file_is_unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, range_kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-99", 0).kind, range_kind::unsatisfiable);
}

TEST(parse_range, a_suffix_of_an_empty_file_is_the_whole_empty_file) {
  // RFC 9110 §14.1.1: a suffix-range with a non-zero length is satisfiable
  // even for an empty representation, and there is no byte range to send:
  // the server ignores Range and answers 200 with the (empty) file, rather
  // than 416.
  EXPECT_EQ(parse_range("bytes=-100", 0).kind, range_kind::whole);
}

}  // namespace
}  // namespace provbox::http
