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

} // namespace ksign::util
