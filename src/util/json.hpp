// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace ksign::util {

// `text` as a JSON string literal, quotes included.
[[nodiscard]] std::string json_string(std::string_view text);

} // namespace ksign::util
