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

// `text` safe to print on a terminal, for any text that came from a file (names, subjects,
// paths, config values): control characters become escapes (\n, \r, \t, \x1b, \x7f), and so do
// C1 controls (U+0080-U+009F, e.g. \xc2\x9b), bytes that are not UTF-8 (\xff) and the
// bidirectional overrides that reorder a line (\u202e). Printable UTF-8 is kept. A backslash is
// kept as it is, so escaping twice changes nothing (a message may pass two escaping points).
[[nodiscard]] std::string escape(std::string_view text);

// `text` cut to at most `max_length` bytes, ending in "..." when cut (long OIDs, names).
[[nodiscard]] std::string shorten(std::string_view text, std::size_t max_length);

// `text` without leading and trailing white space.
[[nodiscard]] std::string_view trim(std::string_view text);

} // namespace ksign::util
