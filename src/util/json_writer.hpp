// SPDX-License-Identifier: MIT
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

namespace ksign::util {

// `text` as a JSON string literal, quotes included. Besides what JSON requires (", \ and the
// controls below 0x20), DEL, the C1 controls and the bidirectional overrides are written as \u
// escapes, so a document printed on a terminal carries nothing a terminal acts on; a JSON reader
// gets the same string back. Other bytes are copied as they are.
[[nodiscard]] std::string json_string(std::string_view text);

// A JSON document written front to back, git's json-writer.h the model: objects and arrays
// nested, strings escaped, integers, booleans and null. Members are added with object_*()
// inside an object and elements with array_*() inside an array; end() closes the innermost.
// Misuse (a member in an array, end() with nothing open, text() before the last end()) is a
// programming error: std::logic_error.
//
// Each object or array is written on one line (Layout::flat: `{"a": 1, "b": [2, 3]}`) or one
// item per line, indented by two spaces per level (Layout::lines), as ksign's --json output has
// always looked: the top-level object and its arrays one item a line, everything inside them
// flat. A container inside a flat one is flat whatever it asks.
class JsonWriter
{
public:
  enum class Layout { flat, lines };

  // The top-level value.
  JsonWriter& begin_object(Layout layout = Layout::lines);
  JsonWriter& begin_array(Layout layout = Layout::lines);

  // Members of the open object.
  JsonWriter& object_string(std::string_view key, std::string_view value);
  JsonWriter& object_string_or_null(std::string_view key, const std::optional<std::string>& value);
  template<std::integral T>
    requires(!std::same_as<T, bool>)
  JsonWriter& object_int(std::string_view key, T value)
  {
    return object_raw(key, fmt::format("{}", value));
  }
  JsonWriter& object_bool(std::string_view key, bool value);
  JsonWriter& object_bool_or_null(std::string_view key, const std::optional<bool>& value);
  JsonWriter& object_null(std::string_view key);
  JsonWriter& object_begin_object(std::string_view key, Layout layout = Layout::flat);
  JsonWriter& object_begin_array(std::string_view key, Layout layout = Layout::flat);

  // Elements of the open array.
  JsonWriter& array_string(std::string_view value);
  template<std::integral T>
    requires(!std::same_as<T, bool>)
  JsonWriter& array_int(T value)
  {
    return array_raw(fmt::format("{}", value));
  }
  JsonWriter& array_bool(bool value);
  JsonWriter& array_null();
  JsonWriter& array_begin_object(Layout layout = Layout::flat);
  JsonWriter& array_begin_array(Layout layout = Layout::flat);

  // Closes the innermost open object or array.
  JsonWriter& end();

  // The finished document, without a trailing newline.
  [[nodiscard]] const std::string& text() const;

private:
  struct Level
  {
    bool object = false;
    bool lines = false;
    std::size_t items = 0;
  };

  JsonWriter& object_raw(std::string_view key, std::string_view value);
  JsonWriter& array_raw(std::string_view value);
  void separate(bool object);
  void open(char bracket, Layout layout);
  [[nodiscard]] std::size_t line_depth() const;

  std::string m_text;
  std::vector<Level> m_levels;
  bool m_done = false;
};

} // namespace ksign::util
