// SPDX-License-Identifier: MIT
#pragma once

#include <new>
#include <stdexcept>
#include <string>

namespace ksign {

// What kind of failure an Error reports. Each kind has a reader: main turns `usage` into exit
// status 2 (only the dispatcher and commands throw it: a bad command line) and tells how to
// make a key for `no_key` and who may read for `permission`; `ksign verify` turns `format` into the verdict "malformed" where
// anything else means the module was unreadable.
enum class Errc {
  failure, // anything that went wrong: I/O, OpenSSL, a config problem (exit 1)
  format,  // input is not what it claims to be (module, trailer, signature, compressed data)
  no_key,  // a key store has no current key, or it lacks a file `ksign keys` writes (exit 1)
  permission, // a file or directory the caller may not read ("cannot read 'X'"; exit 1)
  usage,   // bad command line: exit 2
};

// The one exception type ksign throws. It is caught once, at the top of main
// (or per module where a command keeps going), and printed there.
class Error : public std::runtime_error
{
public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), m_code(code) {}

  [[nodiscard]] Errc code() const noexcept { return m_code; }

private:
  Errc m_code;
};

// What an exception says, for a message: std::bad_alloc's what() ("std::bad_alloc") tells a
// user nothing, and a vector asked for more than it can hold throws std::length_error.
inline std::string exception_text(const std::exception& e)
{
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr || dynamic_cast<const std::length_error*>(&e) != nullptr) {
    return "out of memory";
  }
  return e.what();
}

} // namespace ksign
