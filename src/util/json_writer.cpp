// SPDX-License-Identifier: MIT
#include "util/json_writer.hpp"

#include <stdexcept>

namespace ksign::util {

namespace {

constexpr char k_hex_digits[] = "0123456789abcdef";

void append_u_escape(std::string& out, char32_t code_point)
{
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) {
    out += k_hex_digits[(code_point >> shift) & 0xfU];
  }
}

// The length of the two- or three-byte UTF-8 sequence at the start of `text` that encodes a C1
// control (U+0080-U+009F) or a bidirectional control (U+061C, U+200E-U+200F, U+202A-U+202E,
// U+2066-U+2069), with its code point; 0 for anything else.
std::size_t terminal_control(std::string_view text, char32_t& code_point)
{
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  if (text.size() >= 2 && byte(0) == 0xc2 && byte(1) >= 0x80 && byte(1) <= 0x9f) {
    code_point = byte(1);
    return 2;
  }
  if (text.size() >= 2 && byte(0) == 0xd8 && byte(1) == 0x9c) {
    code_point = 0x061c;
    return 2;
  }
  if (text.size() >= 3 && byte(0) == 0xe2 && (byte(1) & 0xc0) == 0x80 && (byte(2) & 0xc0) == 0x80) {
    const char32_t value = 0x2000U | ((byte(1) & 0x3fU) << 6) | (byte(2) & 0x3fU);
    if ((value >= 0x200e && value <= 0x200f) || (value >= 0x202a && value <= 0x202e)
        || (value >= 0x2066 && value <= 0x2069)) {
      code_point = value;
      return 3;
    }
  }
  return 0;
}

} // namespace

std::string json_string(std::string_view text)
{
  std::string out = "\"";
  out.reserve(text.size() + 2);
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    char32_t code_point = 0;
    std::size_t length = 0;
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      append_u_escape(out, byte);
    } else if (byte >= 0x80 && (length = terminal_control(text.substr(i), code_point)) > 0) {
      append_u_escape(out, code_point);
      i += length;
      continue;
    } else {
      out += c;
    }
    ++i;
  }
  out += '"';
  return out;
}

JsonWriter& JsonWriter::begin_object(Layout layout)
{
  if (!m_levels.empty() || m_done) {
    throw std::logic_error("JsonWriter: a document has one top-level value");
  }
  open('{', layout);
  m_levels.back().object = true;
  return *this;
}

JsonWriter& JsonWriter::begin_array(Layout layout)
{
  if (!m_levels.empty() || m_done) {
    throw std::logic_error("JsonWriter: a document has one top-level value");
  }
  open('[', layout);
  return *this;
}

JsonWriter& JsonWriter::object_string(std::string_view key, std::string_view value)
{
  return object_raw(key, json_string(value));
}

JsonWriter& JsonWriter::object_string_or_null(std::string_view key, const std::optional<std::string>& value)
{
  return value ? object_string(key, *value) : object_null(key);
}

JsonWriter& JsonWriter::object_bool(std::string_view key, bool value)
{
  return object_raw(key, value ? "true" : "false");
}

JsonWriter& JsonWriter::object_bool_or_null(std::string_view key, const std::optional<bool>& value)
{
  return value ? object_bool(key, *value) : object_null(key);
}

JsonWriter& JsonWriter::object_null(std::string_view key)
{
  return object_raw(key, "null");
}

JsonWriter& JsonWriter::object_begin_object(std::string_view key, Layout layout)
{
  separate(true);
  m_text += json_string(key);
  m_text += ": ";
  open('{', layout);
  m_levels.back().object = true;
  return *this;
}

JsonWriter& JsonWriter::object_begin_array(std::string_view key, Layout layout)
{
  separate(true);
  m_text += json_string(key);
  m_text += ": ";
  open('[', layout);
  return *this;
}

JsonWriter& JsonWriter::array_string(std::string_view value)
{
  return array_raw(json_string(value));
}

JsonWriter& JsonWriter::array_bool(bool value)
{
  return array_raw(value ? "true" : "false");
}

JsonWriter& JsonWriter::array_null()
{
  return array_raw("null");
}

JsonWriter& JsonWriter::array_begin_object(Layout layout)
{
  separate(false);
  open('{', layout);
  m_levels.back().object = true;
  return *this;
}

JsonWriter& JsonWriter::array_begin_array(Layout layout)
{
  separate(false);
  open('[', layout);
  return *this;
}

JsonWriter& JsonWriter::end()
{
  if (m_levels.empty()) {
    throw std::logic_error("JsonWriter: end() with nothing open");
  }
  const Level level = m_levels.back();
  m_levels.pop_back();
  if (level.lines) {
    m_text += '\n';
    m_text.append(2 * line_depth(), ' ');
  }
  m_text += level.object ? '}' : ']';
  m_done = m_levels.empty();
  return *this;
}

const std::string& JsonWriter::text() const
{
  if (!m_done) {
    throw std::logic_error("JsonWriter: the document is not finished");
  }
  return m_text;
}

JsonWriter& JsonWriter::object_raw(std::string_view key, std::string_view value)
{
  separate(true);
  m_text += json_string(key);
  m_text += ": ";
  m_text += value;
  return *this;
}

JsonWriter& JsonWriter::array_raw(std::string_view value)
{
  separate(false);
  m_text += value;
  return *this;
}

// Before an item of the innermost container, which must be an object (`object`) or an array.
void JsonWriter::separate(bool object)
{
  if (m_levels.empty() || m_levels.back().object != object) {
    throw std::logic_error(object ? "JsonWriter: a member outside an object" : "JsonWriter: an element outside an array");
  }
  Level& level = m_levels.back();
  if (level.items > 0) {
    m_text += ',';
  }
  if (level.lines) {
    m_text += '\n';
    m_text.append(2 * line_depth(), ' ');
  } else if (level.items > 0) {
    m_text += ' ';
  }
  ++level.items;
}

void JsonWriter::open(char bracket, Layout layout)
{
  // One item a line only where every enclosing container is so too.
  const bool lines = layout == Layout::lines && (m_levels.empty() || m_levels.back().lines);
  m_text += bracket;
  m_levels.push_back(Level{false, lines, 0});
}

// The number of open containers written one item a line: the indentation of their items.
std::size_t JsonWriter::line_depth() const
{
  std::size_t depth = 0;
  for (const Level& level : m_levels) {
    depth += level.lines ? 1 : 0;
  }
  return depth;
}

} // namespace ksign::util
