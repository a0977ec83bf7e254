// The TFTP codec against hand-written wire bytes (RFC 1350, RFC 2347).
#include "tftp/packet.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provbox::tftp {
namespace {

using bytes = std::vector<std::uint8_t>;

// Appends the characters of `s` (and its NUL) to a byte vector, for the
// places where spelling every letter out would hide the structure.
bytes& operator<<(bytes& b, std::string_view s) {
  b.insert(b.end(), s.begin(), s.end());
  b.push_back(0);
  return b;
}

decode_error error_of(const bytes& wire) {
  const auto r = decode(wire);
  EXPECT_FALSE(r.ok());
  return r.ok() ? decode_error{} : r.error();
}

template <typename T>
T packet_of(const bytes& wire) {
  const auto r = decode(wire);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(r.error()));
  if (!r.ok() || !std::holds_alternative<T>(r.value())) {
    ADD_FAILURE() << "not the expected packet kind";
    return T{};
  }
  return std::get<T>(r.value());
}

// ---- Encoding: exact bytes ---------------------------------------------------

TEST(TftpEncode, ReadRequestWithOptionsIsExactBytes) {
  const request r{opcode::rrq, "a.cfg", transfer_mode::octet, {{"blksize", "1468"}, {"tsize", "0"}}};
  const bytes expected = {
      0, 1,                               // opcode RRQ
      'a', '.', 'c', 'f', 'g', 0,         // filename
      'o', 'c', 't', 'e', 't', 0,         // mode
      'b', 'l', 'k', 's', 'i', 'z', 'e', 0,  // option name
      '1', '4', '6', '8', 0,              // option value
      't', 's', 'i', 'z', 'e', 0,         // option name
      '0', 0,                             // option value
  };
  bytes out;
  encode_request(r, out);
  EXPECT_EQ(out, expected);
}

TEST(TftpEncode, WriteRequestInNetasciiIsExactBytes) {
  const request r{opcode::wrq, "x", transfer_mode::netascii, {}};
  const bytes expected = {
      0, 2,                                    // opcode WRQ
      'x', 0,                                  // filename
      'n', 'e', 't', 'a', 's', 'c', 'i', 'i', 0,  // mode, always lower-case on the wire
  };
  bytes out;
  encode_request(r, out);
  EXPECT_EQ(out, expected);
}

TEST(TftpEncode, DataIsOpcodeBlockAndPayload) {
  const bytes payload = {0xde, 0xad, 0x00, 0xff};
  const bytes expected = {
      0, 3,                    // opcode DATA
      0x12, 0x34,              // block 0x1234, big-endian
      0xde, 0xad, 0x00, 0xff,  // payload, NULs included
  };
  bytes out;
  encode_data(0x1234, payload, out);
  EXPECT_EQ(out, expected);
}

TEST(TftpEncode, EmptyDataIsFourBytes) {
  bytes out;
  encode_data(7, {}, out);
  EXPECT_EQ(out, (bytes{0, 3,    // opcode DATA
                        0, 7}));  // block 7, no payload
}

TEST(TftpEncode, AckIsFourBytes) {
  bytes out;
  encode_ack(0xffff, out);
  EXPECT_EQ(out, (bytes{0, 4,          // opcode ACK
                        0xff, 0xff}));  // block 65535
}

TEST(TftpEncode, ErrorIsCodeAndNulTerminatedMessage) {
  bytes out;
  encode_error(error_code::file_not_found, "no", out);
  EXPECT_EQ(out, (bytes{0, 5,          // opcode ERROR
                        0, 1,          // code 1, file not found
                        'n', 'o', 0}));  // message
}

TEST(TftpEncode, ErrorMessageStopsAtEmbeddedNul) {
  bytes out;
  encode_error(error_code::not_defined, std::string_view("ab\0cd", 5), out);
  EXPECT_EQ(out, (bytes{0, 5, 0, 0, 'a', 'b', 0}));
}

TEST(TftpEncode, OackListsOptionsInOrder) {
  const option_list options = {{"windowsize", "4"}, {"blksize", "8"}};
  bytes expected = {0, 6};  // opcode OACK
  expected << "windowsize" << "4" << "blksize" << "8";
  bytes out;
  encode_oack(options, out);
  EXPECT_EQ(out, expected);
}

TEST(TftpEncode, EncodersReplaceTheBufferContents) {
  bytes out = {9, 9, 9, 9, 9, 9, 9, 9};
  encode_ack(1, out);
  EXPECT_EQ(out, (bytes{0, 4, 0, 1}));
}

TEST(TftpEncode, UnknownTransferIdErrorUsesRfcText) {
  bytes expected = {0, 5,  // opcode ERROR
                    0, 5};  // code 5
  expected << "Unknown transfer ID";
  EXPECT_EQ(error_packet(error_code::unknown_transfer_id), expected);
}

TEST(TftpEncode, ErrorPacketKeepsAGivenMessage) {
  bytes expected = {0, 5, 0, 2};
  expected << "not yours";
  EXPECT_EQ(error_packet(error_code::access_violation, "not yours"), expected);
}

TEST(TftpEncode, RfcNamesCoverCodesZeroToEight) {
  EXPECT_EQ(rfc_name(error_code::not_defined), "Not defined, see error message (if any)");
  EXPECT_EQ(rfc_name(error_code::file_not_found), "File not found");
  EXPECT_EQ(rfc_name(error_code::access_violation), "Access violation");
  EXPECT_EQ(rfc_name(error_code::disk_full), "Disk full or allocation exceeded");
  EXPECT_EQ(rfc_name(error_code::illegal_operation), "Illegal TFTP operation");
  EXPECT_EQ(rfc_name(error_code::unknown_transfer_id), "Unknown transfer ID");
  EXPECT_EQ(rfc_name(error_code::file_already_exists), "File already exists");
  EXPECT_EQ(rfc_name(error_code::no_such_user), "No such user");
  EXPECT_EQ(rfc_name(error_code::option_negotiation), "Terminate transfer due to option negotiation");
  EXPECT_EQ(rfc_name(static_cast<error_code>(9)), "Unknown error");
}

// ---- Decoding valid packets ----------------------------------------------------

TEST(TftpDecode, ReadRequestWithOptions) {
  bytes wire = {0, 1};
  wire << "IP542N.conf" << "octet" << "blksize" << "1468" << "tsize" << "0";
  const auto r = packet_of<request>(wire);
  EXPECT_EQ(r.op, opcode::rrq);
  EXPECT_EQ(r.filename, "IP542N.conf");
  EXPECT_EQ(r.mode, transfer_mode::octet);
  EXPECT_EQ(r.options, (option_list{{"blksize", "1468"}, {"tsize", "0"}}));
}

TEST(TftpDecode, WriteRequestIsDecodedAsWrq) {
  bytes wire = {0, 2};
  wire << "up.bin" << "octet";
  EXPECT_EQ(packet_of<request>(wire).op, opcode::wrq);
}

TEST(TftpDecode, ModeIsCaseInsensitive) {
  bytes upper = {0, 1};
  upper << "f" << "OCTET";
  bytes mixed = {0, 1};
  mixed << "f" << "NetAscii";
  EXPECT_EQ(packet_of<request>(upper).mode, transfer_mode::octet);
  EXPECT_EQ(packet_of<request>(mixed).mode, transfer_mode::netascii);
}

TEST(TftpDecode, OptionNamesAreLowerCasedAndValuesKept) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "BlkSize" << "1024" << "X-Vendor" << "MiXeD";
  EXPECT_EQ(packet_of<request>(wire).options,
            (option_list{{"blksize", "1024"}, {"x-vendor", "MiXeD"}}));
}

TEST(TftpDecode, FilenameKeepsItsCase) {
  bytes wire = {0, 1};
  wire << "Fv0021F2011B19.CONF" << "octet";
  EXPECT_EQ(packet_of<request>(wire).filename, "Fv0021F2011B19.CONF");
}

TEST(TftpDecode, NulPaddingAfterRequestIsAccepted) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "tsize" << "0";
  wire.insert(wire.end(), {0, 0, 0});
  EXPECT_EQ(packet_of<request>(wire).options, (option_list{{"tsize", "0"}}));
}

TEST(TftpDecode, EmptyOptionValueIsKept) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "blksize" << "";
  EXPECT_EQ(packet_of<request>(wire).options, (option_list{{"blksize", ""}}));
}

TEST(TftpDecode, DataCopiesThePayload) {
  const bytes wire = {0, 3,      // DATA
                      0xff, 0xff,  // block 65535
                      1, 0, 2};    // payload
  const auto d = packet_of<data>(wire);
  EXPECT_EQ(d.block, 0xffff);
  EXPECT_EQ(d.payload, (bytes{1, 0, 2}));
}

TEST(TftpDecode, DataWithEmptyPayload) {
  const auto d = packet_of<data>({0, 3, 0, 9});
  EXPECT_EQ(d.block, 9);
  EXPECT_TRUE(d.payload.empty());
}

TEST(TftpDecode, AckBlockNumber) {
  EXPECT_EQ(packet_of<ack>({0, 4, 0x01, 0x02}).block, 0x0102);
}

TEST(TftpDecode, BytesAfterAckAreIgnored) {
  EXPECT_EQ(packet_of<ack>({0, 4, 0, 5, 0xaa, 0xbb}).block, 5);
}

TEST(TftpDecode, ErrorCodeAndMessage) {
  bytes wire = {0, 5, 0, 8};
  wire << "blksize refused";
  const auto e = packet_of<error>(wire);
  EXPECT_EQ(e.code, error_code::option_negotiation);
  EXPECT_EQ(e.message, "blksize refused");
}

TEST(TftpDecode, ErrorCodeOutsideTheRfcIsKept) {
  bytes wire = {0, 5, 0x01, 0x00};
  wire << "";
  EXPECT_EQ(static_cast<unsigned>(packet_of<error>(wire).code), 256u);
}

TEST(TftpDecode, BytesAfterErrorMessageAreIgnored) {
  bytes wire = {0, 5, 0, 0};
  wire << "oops";
  wire.insert(wire.end(), {'x', 'y'});
  EXPECT_EQ(packet_of<error>(wire).message, "oops");
}

TEST(TftpDecode, OackOptions) {
  bytes wire = {0, 6};
  wire << "blksize" << "8" << "windowsize" << "4";
  EXPECT_EQ(packet_of<oack>(wire).options, (option_list{{"blksize", "8"}, {"windowsize", "4"}}));
}

// ---- Decoding refusals -------------------------------------------------------

TEST(TftpDecode, EmptyDatagramIsTruncated) { EXPECT_EQ(error_of({}), decode_error::truncated); }

TEST(TftpDecode, OneByteIsTruncated) { EXPECT_EQ(error_of({0}), decode_error::truncated); }

TEST(TftpDecode, AckWithoutFullBlockNumberIsTruncated) {
  EXPECT_EQ(error_of({0, 4, 0}), decode_error::truncated);
}

TEST(TftpDecode, OpcodeZeroIsUnknown) { EXPECT_EQ(error_of({0, 0, 0, 1}), decode_error::unknown_opcode); }

TEST(TftpDecode, OpcodeSevenIsUnknown) { EXPECT_EQ(error_of({0, 7, 0, 1}), decode_error::unknown_opcode); }

TEST(TftpDecode, OpcodeHighByteMakesItUnknown) {
  EXPECT_EQ(error_of({1, 1, 'f', 0, 'o', 'c', 't', 'e', 't', 0}), decode_error::unknown_opcode);
}

TEST(TftpDecode, FilenameWithoutNulIsRefused) {
  EXPECT_EQ(error_of({0, 1, 'f', 'i', 'l', 'e'}), decode_error::missing_terminator);
}

TEST(TftpDecode, ModeWithoutNulIsRefused) {
  bytes wire = {0, 1};
  wire << "f";
  wire.insert(wire.end(), {'o', 'c', 't', 'e', 't'});
  EXPECT_EQ(error_of(wire), decode_error::missing_terminator);
}

TEST(TftpDecode, RequestWithoutModeIsRefused) {
  bytes wire = {0, 1};
  wire << "f";
  EXPECT_EQ(error_of(wire), decode_error::missing_terminator);
}

TEST(TftpDecode, EmptyFilenameIsRefused) {
  bytes wire = {0, 1};
  wire << "" << "octet";
  EXPECT_EQ(error_of(wire), decode_error::empty_filename);
}

TEST(TftpDecode, MailModeIsRefused) {
  bytes wire = {0, 1};
  wire << "f" << "mail";
  EXPECT_EQ(error_of(wire), decode_error::bad_mode);
}

TEST(TftpDecode, UnknownModeIsRefused) {
  bytes wire = {0, 1};
  wire << "f" << "binary";
  EXPECT_EQ(error_of(wire), decode_error::bad_mode);
}

TEST(TftpDecode, OptionNameAsLastStringHasNoValue) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "blksize";
  EXPECT_EQ(error_of(wire), decode_error::option_without_value);
}

TEST(TftpDecode, OptionValueWithoutNulIsRefused) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "blksize";
  wire.insert(wire.end(), {'5', '1', '2'});
  EXPECT_EQ(error_of(wire), decode_error::missing_terminator);
}

TEST(TftpDecode, EmptyOptionNameBeforeMoreDataIsRefused) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "" << "512";
  EXPECT_EQ(error_of(wire), decode_error::empty_option_name);
}

TEST(TftpDecode, DuplicateOptionIsRefusedWhateverItsCase) {
  bytes wire = {0, 1};
  wire << "f" << "octet" << "blksize" << "512" << "BLKSIZE" << "1024";
  EXPECT_EQ(error_of(wire), decode_error::duplicate_option);
}

TEST(TftpDecode, DuplicateOptionInOackIsRefused) {
  bytes wire = {0, 6};
  wire << "tsize" << "1" << "tsize" << "2";
  EXPECT_EQ(error_of(wire), decode_error::duplicate_option);
}

TEST(TftpDecode, ErrorMessageWithoutNulIsRefused) {
  EXPECT_EQ(error_of({0, 5, 0, 1, 'n', 'o'}), decode_error::missing_terminator);
}

TEST(TftpDecode, ErrorWithoutMessageIsRefused) {
  EXPECT_EQ(error_of({0, 5, 0, 1}), decode_error::missing_terminator);
}

TEST(TftpDecode, DecodeErrorsConvertToErrorCode) {
  const std::error_code ec = decode_error::duplicate_option;
  EXPECT_EQ(ec.category().name(), std::string("tftp.decode"));
  EXPECT_EQ(ec.message(), "duplicate option");
}

// ---- Every truncation of every valid packet --------------------------------------

// Valid packets of every kind; requests and OACKs with several options so
// that truncations fall inside names, values and between them.
std::vector<packet> valid_packets() {
  return {
      request{opcode::rrq, "IP542N.conf", transfer_mode::octet, {}},
      request{opcode::rrq, "fw.bin", transfer_mode::netascii,
              {{"blksize", "1468"}, {"tsize", "0"}, {"windowsize", "16"}}},
      request{opcode::wrq, "up", transfer_mode::octet, {{"timeout", "3"}}},
      data{1, {'h', 'e', 'l', 'l', 'o'}},
      data{65535, {}},
      ack{0},
      error{error_code::file_not_found, "File not found"},
      error{error_code::option_negotiation, ""},
      oack{{{"blksize", "8"}, {"tsize", "600000"}}},
  };
}

// The packet a prefix is allowed to decode to: a DATA with a shorter payload,
// or a request/OACK cut exactly after one of its options.
std::optional<packet> valid_prefix(const packet& full, const bytes& prefix) {
  if (const auto* d = std::get_if<data>(&full)) {
    if (prefix.size() < 4) return std::nullopt;
    return packet{data{d->block, bytes(prefix.begin() + 4, prefix.end())}};
  }
  packet shorter = full;
  option_list* options = nullptr;
  if (auto* r = std::get_if<request>(&shorter)) options = &r->options;
  if (auto* o = std::get_if<oack>(&shorter)) options = &o->options;
  if (options == nullptr) return std::nullopt;
  const option_list all = *options;
  for (std::size_t k = 0; k < all.size(); ++k) {
    options->assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
    if (encode(shorter) == prefix) return shorter;
  }
  return std::nullopt;
}

TEST(TftpDecode, EveryTruncationIsAnErrorOrAValidShorterPacket) {
  for (const auto& p : valid_packets()) {
    const auto wire = encode(p);
    for (std::size_t n = 0; n < wire.size(); ++n) {
      const bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
      const auto r = decode(prefix);
      const auto allowed = valid_prefix(p, prefix);
      if (allowed) {
        ASSERT_TRUE(r.ok()) << "packet " << p.index() << " cut at " << n;
        EXPECT_EQ(r.value(), *allowed) << "packet " << p.index() << " cut at " << n;
      } else {
        EXPECT_FALSE(r.ok()) << "packet " << p.index() << " cut at " << n;
      }
    }
  }
}

TEST(TftpDecode, TruncatedRequestsWithoutOptionsAreAllErrors) {
  const auto wire = encode(request{opcode::rrq, "IP542N.conf", transfer_mode::octet, {}});
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(decode(std::span(wire).first(n)).ok()) << "cut at " << n;
  }
}

TEST(TftpDecode, EveryValidPacketSurvivesEncodeThenDecode) {
  for (const auto& p : valid_packets()) {
    const auto r = decode(encode(p));
    ASSERT_TRUE(r.ok()) << "packet " << p.index();
    EXPECT_EQ(r.value(), p);
  }
}

}  // namespace
}  // namespace provbox::tftp
