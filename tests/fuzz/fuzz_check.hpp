#pragma once
// What every fuzz target does when a property fails: say which, then abort,
// so libFuzzer keeps the input that broke it.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace provbox::fuzz {

inline void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// The shape every accepted request path or TFTP file name has, written
// independently of the parser: splits on '/' and looks at each byte. `noun`
// names it in the message ("path", "name").
inline void check_plain_relative_path(std::string_view path, std::string_view noun) {
  const auto expect = [noun](bool condition, std::string_view property) {
    if (!condition) check(false, ("an accepted " + std::string(noun) + " " + std::string(property)).c_str());
  };
  expect(!path.empty(), "is not empty");
  expect(path.size() <= 1024, "is at most 1024 bytes");
  expect(path.front() != '/', "has no leading '/'");
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    expect(byte != 0, "has no NUL");
    expect(c != '\\', "has no backslash");
    expect(byte >= 0x20 && byte != 0x7f, "has no control character");
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view segment =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    expect(!segment.empty(), "has no empty segment");
    expect(segment != "." && segment != "..", "has no '.' or '..' segment");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

}  // namespace provbox::fuzz
