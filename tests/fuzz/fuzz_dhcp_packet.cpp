// Any bytes: decode never crashes; a message that decodes survives
// encode -> decode unchanged, and the reply-option chooser never exceeds the
// size it was given.
#include "dhcp/options.hpp"
#include "dhcp/packet.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

using namespace provbox::dhcp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto first = decode(std::span(data, size));
    if (!first) return 0;

    const auto wire = encode(first.msg);
    const auto second = decode(wire);
    if (!second || second.options_truncated || !(second.msg == first.msg)) std::abort();
    if (encode(second.msg) != wire) std::abort();

    // Treat the decoded options as what a server holds, and the client's own
    // 55 and 57 as its request.
    std::span<const std::uint8_t> requested;
    if (const option* prl = first.msg.find(option_code::parameter_request_list)) requested = prl->data;
    std::size_t max_size = min_max_message_size;
    if (const option* mms = first.msg.find(option_code::max_message_size)) {
        max_size = as_u16(mms->data).value_or(min_max_message_size);
    }
    message reply;
    reply.options = order_reply_options(first.msg.options, requested, max_size);
    std::size_t forced = 0;  // 53, 54, 51 and 82 are kept whatever their size
    for (const option& o : reply.options) {
        if (o.code == 53 || o.code == 54 || o.code == 51 || o.code == 82) {
            forced += encoded_option_size(o.data.size());
        }
    }
    // IP and UDP headers, fixed header, cookie, end: RFC 2132 §9.10 counts them all.
    constexpr std::size_t framing = 28 + fixed_header_size + magic_cookie.size() + 1;
    const std::size_t bound = std::max({max_size, min_max_message_size, framing + forced,
                                        28 + bootp_min_size});
    if (encode(reply).size() + 28 > bound) std::abort();
    return 0;
}
