#include "tftp/packet.hpp"

#include <algorithm>
#include <optional>

namespace provbox::tftp {
namespace {

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return lower_ascii(x) == lower_ascii(y); });
}

// Reads the bytes of a packet front to back. Every accessor checks the
// remaining length first, so no read can leave the span.
class reader {
public:
  explicit reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool empty() const { return bytes_.empty(); }
  std::span<const std::uint8_t> rest() const { return bytes_; }

  std::optional<std::uint16_t> u16() {
    if (bytes_.size() < 2) return std::nullopt;
    const auto v = static_cast<std::uint16_t>((bytes_[0] << 8) | bytes_[1]);
    bytes_ = bytes_.subspan(2);
    return v;
  }

  // A NUL-terminated string; nullopt when the NUL is missing.
  std::optional<std::string> string() {
    const auto nul = std::find(bytes_.begin(), bytes_.end(), std::uint8_t{0});
    if (nul == bytes_.end()) return std::nullopt;
    const auto length = static_cast<std::size_t>(nul - bytes_.begin());
    std::string s(reinterpret_cast<const char*>(bytes_.data()), length);
    bytes_ = bytes_.subspan(length + 1);
    return s;
  }

  bool only_nul_left() const {
    return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
  }

private:
  std::span<const std::uint8_t> bytes_;
};

// The (name 0 value 0)* tail shared by requests and OACKs (RFC 2347).
std::optional<decode_error> read_options(reader& in, option_list& out) {
  while (!in.empty()) {
    if (in.only_nul_left()) return std::nullopt;  // padding some clients add
    auto name = in.string();
    if (!name) return decode_error::missing_terminator;
    if (name->empty()) return decode_error::empty_option_name;
    std::transform(name->begin(), name->end(), name->begin(), lower_ascii);
    if (in.empty()) return decode_error::option_without_value;
    auto value = in.string();
    if (!value) return decode_error::missing_terminator;
    if (find_option(out, *name) != nullptr) return decode_error::duplicate_option;
    out.push_back(option{std::move(*name), std::move(*value)});
  }
  return std::nullopt;
}

decode_result decode_request(opcode op, reader& in) {
  request r;
  r.op = op;
  auto filename = in.string();
  if (!filename) return decode_error::missing_terminator;
  if (filename->empty()) return decode_error::empty_filename;
  r.filename = std::move(*filename);
  auto mode = in.string();
  if (!mode) return decode_error::missing_terminator;
  if (equals_ignoring_case(*mode, "octet")) {
    r.mode = transfer_mode::octet;
  } else if (equals_ignoring_case(*mode, "netascii")) {
    r.mode = transfer_mode::netascii;
  } else {
    return decode_error::bad_mode;
  }
  if (auto e = read_options(in, r.options)) return *e;
  return packet{std::move(r)};
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
}

void put_options(std::vector<std::uint8_t>& out, std::span<const option> options) {
  for (const auto& o : options) {
    put_string(out, o.name);
    put_string(out, o.value);
  }
}

class decode_category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "tftp.decode"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<decode_error>(ev)));
  }
};

}  // namespace

std::string_view rfc_name(error_code code) {
  switch (code) {
    case error_code::not_defined: return "Not defined, see error message (if any)";
    case error_code::file_not_found: return "File not found";
    case error_code::access_violation: return "Access violation";
    case error_code::disk_full: return "Disk full or allocation exceeded";
    case error_code::illegal_operation: return "Illegal TFTP operation";
    case error_code::unknown_transfer_id: return "Unknown transfer ID";
    case error_code::file_already_exists: return "File already exists";
    case error_code::no_such_user: return "No such user";
    case error_code::option_negotiation: return "Terminate transfer due to option negotiation";
  }
  return "Unknown error";
}

std::string_view to_string(decode_error e) {
  switch (e) {
    case decode_error::truncated: return "truncated";
    case decode_error::unknown_opcode: return "unknown opcode";
    case decode_error::missing_terminator: return "string without NUL terminator";
    case decode_error::empty_filename: return "empty filename";
    case decode_error::bad_mode: return "mode is not netascii or octet";
    case decode_error::option_without_value: return "option without value";
    case decode_error::empty_option_name: return "empty option name";
    case decode_error::duplicate_option: return "duplicate option";
  }
  return "unknown decode error";
}

const std::error_category& decode_category() {
  static const decode_category_impl category;
  return category;
}

std::error_code make_error_code(decode_error e) {
  return {static_cast<int>(e), decode_category()};
}

const option* find_option(std::span<const option> options, std::string_view lower_name) {
  for (const auto& o : options) {
    if (o.name == lower_name) return &o;
  }
  return nullptr;
}

decode_result decode(std::span<const std::uint8_t> datagram) {
  reader in(datagram);
  const auto op = in.u16();
  if (!op) return decode_error::truncated;
  switch (static_cast<opcode>(*op)) {
    case opcode::rrq:
    case opcode::wrq:
      return decode_request(static_cast<opcode>(*op), in);
    case opcode::data: {
      const auto block = in.u16();
      if (!block) return decode_error::truncated;
      const auto payload = in.rest();
      return packet{data{*block, {payload.begin(), payload.end()}}};
    }
    case opcode::ack: {
      const auto block = in.u16();
      if (!block) return decode_error::truncated;
      return packet{ack{*block}};
    }
    case opcode::error: {
      const auto code = in.u16();
      if (!code) return decode_error::truncated;
      auto message = in.string();
      if (!message) return decode_error::missing_terminator;
      return packet{error{static_cast<error_code>(*code), std::move(*message)}};
    }
    case opcode::oack: {
      oack o;
      if (auto e = read_options(in, o.options)) return *e;
      return packet{std::move(o)};
    }
  }
  return decode_error::unknown_opcode;
}

void encode_request(const request& r, std::vector<std::uint8_t>& out) {
  out.clear();
  put_u16(out, static_cast<std::uint16_t>(r.op));
  put_string(out, r.filename);
  put_string(out, r.mode == transfer_mode::netascii ? "netascii" : "octet");
  put_options(out, r.options);
}

void encode_data(std::uint16_t block, std::span<const std::uint8_t> payload,
                 std::vector<std::uint8_t>& out) {
  out.clear();
  out.reserve(4 + payload.size());
  put_u16(out, static_cast<std::uint16_t>(opcode::data));
  put_u16(out, block);
  out.insert(out.end(), payload.begin(), payload.end());
}

void encode_ack(std::uint16_t block, std::vector<std::uint8_t>& out) {
  out.clear();
  put_u16(out, static_cast<std::uint16_t>(opcode::ack));
  put_u16(out, block);
}

void encode_error(error_code code, std::string_view message, std::vector<std::uint8_t>& out) {
  out.clear();
  put_u16(out, static_cast<std::uint16_t>(opcode::error));
  put_u16(out, static_cast<std::uint16_t>(code));
  put_string(out, message.substr(0, message.find('\0')));
}

void encode_oack(std::span<const option> options, std::vector<std::uint8_t>& out) {
  out.clear();
  put_u16(out, static_cast<std::uint16_t>(opcode::oack));
  put_options(out, options);
}

std::vector<std::uint8_t> encode(const packet& p) {
  std::vector<std::uint8_t> out;
  std::visit(
      [&out](const auto& v) {
        using t = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<t, request>) {
          encode_request(v, out);
        } else if constexpr (std::is_same_v<t, data>) {
          encode_data(v.block, v.payload, out);
        } else if constexpr (std::is_same_v<t, ack>) {
          encode_ack(v.block, out);
        } else if constexpr (std::is_same_v<t, error>) {
          encode_error(v.code, v.message, out);
        } else {
          encode_oack(v.options, out);
        }
      },
      p);
  return out;
}

std::vector<std::uint8_t> error_packet(error_code code, std::string_view message) {
  std::vector<std::uint8_t> out;
  encode_error(code, message.empty() ? rfc_name(code) : message, out);
  return out;
}

}  // namespace provbox::tftp
