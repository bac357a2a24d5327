// SPDX-License-Identifier: MIT
#include "core/der.hpp"

#include "util/error.hpp"

namespace ksign::core::der {

void append_tlv(Bytes& out, std::uint8_t tag, ByteView content)
{
  out.push_back(tag);
  const std::size_t length = content.size();
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
  } else {
    std::uint8_t digits[sizeof(std::size_t)];
    int count = 0;
    for (std::size_t rest = length; rest != 0; rest >>= 8) {
      digits[count++] = static_cast<std::uint8_t>(rest & 0xff);
    }
    out.push_back(static_cast<std::uint8_t>(0x80 | count));
    while (count > 0) {
      out.push_back(digits[--count]);
    }
  }
  out.insert(out.end(), content.begin(), content.end());
}

Bytes tlv(std::uint8_t tag, std::initializer_list<ByteView> parts)
{
  std::size_t size = 0;
  for (const ByteView part : parts) {
    size += part.size();
  }
  Bytes content;
  content.reserve(size);
  for (const ByteView part : parts) {
    append(content, part);
  }
  Bytes out;
  out.reserve(size + 6);
  append_tlv(out, tag, content);
  return out;
}

Bytes small_integer(std::uint8_t value)
{
  if (value >= 0x80) {
    throw Error(Errc::failure, "small_integer takes values below 128");
  }
  const std::uint8_t content[] = {value};
  Bytes out;
  append_tlv(out, k_integer, content);
  return out;
}

namespace {

[[noreturn]] void malformed(const char* what, const char* problem)
{
  throw Error(Errc::format, std::string(what) + ": " + problem);
}

} // namespace

std::optional<std::uint8_t> Reader::peek_tag() const
{
  if (at_end()) {
    return std::nullopt;
  }
  return m_data[m_offset];
}

Element Reader::read_any(const char* what)
{
  if (at_end()) {
    malformed(what, "missing");
  }
  const std::size_t start = m_offset;
  std::size_t cursor = m_offset;
  const std::uint8_t tag = m_data[cursor++];
  if ((tag & 0x1f) == 0x1f) {
    malformed(what, "unsupported multi-byte tag");
  }
  if (cursor >= m_data.size()) {
    malformed(what, "truncated length");
  }
  std::size_t length = m_data[cursor++];
  if (length == 0x80) {
    malformed(what, "indefinite length is not DER");
  }
  if (length > 0x80) {
    const std::size_t count = length & 0x7f;
    if (count > 4 || cursor + count > m_data.size()) {
      malformed(what, "bad length");
    }
    length = 0;
    for (std::size_t i = 0; i < count; ++i) {
      length = (length << 8) | m_data[cursor++];
    }
  }
  if (length > m_data.size() - cursor) {
    malformed(what, "length runs past the end of the data");
  }
  m_offset = cursor + length;
  return Element{tag, m_data.subspan(cursor, length), m_data.subspan(start, m_offset - start)};
}

Element Reader::read(std::uint8_t tag, const char* what)
{
  const auto next = peek_tag();
  if (!next) {
    malformed(what, "missing");
  }
  if (*next != tag) {
    malformed(what, "unexpected ASN.1 tag");
  }
  return read_any(what);
}

std::optional<Element> Reader::read_optional(std::uint8_t tag, const char* what)
{
  if (peek_tag() != tag) {
    return std::nullopt;
  }
  return read_any(what);
}

void Reader::expect_end(const char* what) const
{
  if (!at_end()) {
    malformed(what, "unexpected trailing data");
  }
}

ByteView integer_content(const Element& element, const char* what)
{
  const ByteView content = element.content;
  if (element.tag != k_integer) {
    malformed(what, "not an INTEGER");
  }
  if (content.empty()) {
    malformed(what, "an INTEGER without content octets is not DER");
  }
  if (content.size() > 1 && ((content[0] == 0x00 && (content[1] & 0x80) == 0)
                             || (content[0] == 0xff && (content[1] & 0x80) != 0))) {
    malformed(what, "an INTEGER with a redundant leading octet is not DER");
  }
  return content;
}

unsigned integer_value(const Element& element, const char* what)
{
  const ByteView content = integer_content(element, what);
  if (content.size() > 3 || (content[0] & 0x80) != 0) {
    malformed(what, "not a small non-negative INTEGER");
  }
  unsigned value = 0;
  for (const std::uint8_t byte : content) {
    value = (value << 8) | byte;
  }
  return value;
}

ByteView bit_string_octets(const Element& element, const char* what)
{
  if (element.tag != k_bit_string || element.content.empty() || element.content.front() != 0) {
    malformed(what, "not a BIT STRING of whole octets");
  }
  return element.content.subspan(1);
}

} // namespace ksign::core::der
