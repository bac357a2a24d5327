// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ksign::util {

// Levenshtein distance between `a` and `b`.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when it is close enough to be a likely typo.
[[nodiscard]] std::optional<std::string_view> closest_match(std::string_view word,
                                                            std::span<const std::string_view> candidates);

// Lower-case hex of `data`, optionally with `separator` between bytes.
[[nodiscard]] std::string to_hex(std::span<const unsigned char> data, std::string_view separator = "");

// Eight random letters and digits, for temporary file names.
[[nodiscard]] std::string random_tag();

// `text` without leading and trailing white space.
[[nodiscard]] std::string_view trim(std::string_view text);

} // namespace ksign::util
