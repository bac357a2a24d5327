// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace ksign {

// What kind of failure an Error reports; main maps it to the exit status.
enum class Errc {
  usage,    // bad command line: exit 2
  io,       // a file could not be read or written
  crypto,   // OpenSSL refused a key, certificate or operation
  format,   // input is not what it claims to be (module, trailer, compressed data)
  config,   // kernel config or key store problem
  internal, // a broken invariant
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

} // namespace ksign
