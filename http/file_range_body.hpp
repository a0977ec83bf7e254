#pragma once
// A Beast body that streams one byte range of an open file with pread, so a
// firmware download (whole or partial) never loads the image into memory.
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <memory>
#include <utility>

namespace provbox::http {

struct file_range_body {
  struct value_type {
    std::shared_ptr<int> fd;  // closed when the last response using it is gone
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
  public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool is_request, class Fields>
    writer(const boost::beast::http::header<is_request, Fields>&, const value_type& body) : body_(body) {}

    void init(boost::beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      if (sent_ >= body_.length) {
        ec = {};
        return boost::none;
      }
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer_, body_.length - sent_));
      const auto n = ::pread(*body_.fd, buffer_, want, static_cast<off_t>(body_.offset + sent_));
      if (n <= 0) {
        // The image shrank or vanished under us: end the response; the
        // client sees a short body and retries.
        ec = boost::beast::errc::make_error_code(boost::beast::errc::io_error);
        return boost::none;
      }
      sent_ += static_cast<std::uint64_t>(n);
      ec = {};
      return {{const_buffers_type(buffer_, static_cast<std::size_t>(n)), sent_ < body_.length}};
    }

  private:
    const value_type& body_;
    std::uint64_t sent_ = 0;
    char buffer_[64 * 1024];
  };
};

}  // namespace provbox::http
