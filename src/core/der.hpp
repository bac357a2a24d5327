// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

// Just enough DER to write and read the PKCS#7/CMS SignedData of a module signature.
namespace ksign::core::der {

inline constexpr std::uint8_t k_boolean = 0x01;
inline constexpr std::uint8_t k_integer = 0x02;
inline constexpr std::uint8_t k_bit_string = 0x03;
inline constexpr std::uint8_t k_octet_string = 0x04;
inline constexpr std::uint8_t k_null = 0x05;
inline constexpr std::uint8_t k_oid = 0x06;
inline constexpr std::uint8_t k_sequence = 0x30;
inline constexpr std::uint8_t k_set = 0x31;
inline constexpr std::uint8_t k_context_0 = 0xa0;           // [0] constructed
inline constexpr std::uint8_t k_context_1 = 0xa1;           // [1] constructed
inline constexpr std::uint8_t k_context_0_primitive = 0x80; // [0] IMPLICIT primitive

// Append tag, definite length and `content` to `out`.
void append_tlv(Bytes& out, std::uint8_t tag, ByteView content);

// tag + length + concatenation of `parts`.
[[nodiscard]] Bytes tlv(std::uint8_t tag, std::initializer_list<ByteView> parts);

// A small INTEGER (for version fields).
[[nodiscard]] Bytes small_integer(std::uint8_t value);

// One element as read: its tag, its content and the whole encoding (tag and length included).
struct Element
{
  std::uint8_t tag = 0;
  ByteView content;
  ByteView encoding;
};

// Reads consecutive DER elements from a buffer. Malformed input (bad length, truncation,
// indefinite length, multi-byte tags) throws Error(Errc::format) naming `what` was expected.
class Reader
{
public:
  explicit Reader(ByteView data) : m_data(data) {}

  [[nodiscard]] bool at_end() const { return m_offset >= m_data.size(); }
  [[nodiscard]] std::optional<std::uint8_t> peek_tag() const;

  // The next element, which must have tag `tag`.
  Element read(std::uint8_t tag, const char* what);
  // The next element whatever its tag.
  Element read_any(const char* what);
  // The next element if it has tag `tag`, else nothing is consumed.
  std::optional<Element> read_optional(std::uint8_t tag, const char* what);
  // Throw unless everything was consumed.
  void expect_end(const char* what) const;

private:
  ByteView m_data;
  std::size_t m_offset = 0;
};

// The content octets of an INTEGER element in DER: at least one octet, and no leading octet
// that only repeats the sign of the next (00 before a clear top bit, ff before a set one), as
// OpenSSL's parser (sign-file, extract-cert, verify) demands. Throws Error(Errc::format) naming
// `what` for anything else. A certificate's serial and the versions of a SignedData go through
// here; a SignerInfo's serialNumber is kept as read, as the kernel keeps it (a non-DER one
// then names no certificate: an unknown key).
[[nodiscard]] ByteView integer_content(const Element& element, const char* what);

// Value of a small non-negative INTEGER element (integer_content); throws when it does not fit.
[[nodiscard]] unsigned integer_value(const Element& element, const char* what);

// The octets of a BIT STRING element (keys are whole octets); throws when some bits are unused.
[[nodiscard]] ByteView bit_string_octets(const Element& element, const char* what);

} // namespace ksign::core::der
