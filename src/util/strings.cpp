// SPDX-License-Identifier: MIT
#include "util/strings.hpp"

#include <algorithm>
#include <random>
#include <vector>

namespace ksign::util {

std::size_t edit_distance(std::string_view a, std::string_view b)
{
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates)
{
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (const std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  // A typo changes a few letters, not most of the word.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 2);
  if (best && best_distance <= limit) {
    return best;
  }
  return std::nullopt;
}

std::string to_hex(std::span<const unsigned char> data, std::string_view separator)
{
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(data.size() * (2 + separator.size()));
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i > 0) {
      text += separator;
    }
    text += k_digits[data[i] >> 4];
    text += k_digits[data[i] & 0xf];
  }
  return text;
}

std::string_view trim(std::string_view text)
{
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string random_tag()
{
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char k_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string tag;
  for (int i = 0; i < 8; ++i) {
    tag += k_alphabet[generator() % (sizeof k_alphabet - 1)];
  }
  return tag;
}

namespace {

// Length of the UTF-8 sequence at the start of `text` and its code point, or 0 when it is not
// a valid, shortest-form sequence of a Unicode scalar value.
std::size_t utf8_sequence(std::string_view text, char32_t& code_point)
{
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  std::size_t length = 0;
  char32_t value = 0;
  char32_t least = 0;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
    value = first & 0x1fU;
    least = 0x80;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    value = first & 0x0fU;
    least = 0x800;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    value = first & 0x07U;
    least = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0U) != 0x80) {
      return 0;
    }
    value = value << 6 | (byte(i) & 0x3fU);
  }
  if (value < least || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return 0;
  }
  code_point = value;
  return length;
}

// Code points that reorder how a terminal shows the rest of the line.
bool is_bidi_control(char32_t c)
{
  return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f;
}

void append_hex_escape(std::string& out, unsigned char byte)
{
  static constexpr char k_digits[] = "0123456789abcdef";
  out += "\\x";
  out += k_digits[byte >> 4];
  out += k_digits[byte & 0xf];
}

} // namespace

std::string escape(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x80) {
      append_hex_escape(out, c); // other C0 controls and DEL
      ++i;
    } else {
      char32_t code_point = 0;
      const std::size_t length = utf8_sequence(text.substr(i), code_point);
      if (length == 0) {
        append_hex_escape(out, c);
        ++i;
      } else if (code_point <= 0x9f) { // C1 controls, UTF-8 encoded
        for (std::size_t k = 0; k < length; ++k) {
          append_hex_escape(out, static_cast<unsigned char>(text[i + k]));
        }
        i += length;
      } else if (is_bidi_control(code_point)) {
        static constexpr char k_digits[] = "0123456789abcdef";
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) {
          out += k_digits[(code_point >> shift) & 0xfU];
        }
        i += length;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
    }
  }
  return out;
}

std::string shorten(std::string_view text, std::size_t max_length)
{
  if (text.size() <= max_length) {
    return std::string(text);
  }
  constexpr std::string_view ellipsis = "...";
  if (max_length <= ellipsis.size()) {
    return std::string(ellipsis.substr(0, max_length));
  }
  std::size_t cut = max_length - ellipsis.size();
  // Never cut inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0U) == 0x80) {
    --cut;
  }
  return std::string(text.substr(0, cut)) + std::string(ellipsis);
}

} // namespace ksign::util
