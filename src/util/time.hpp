// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <string>

namespace ksign::util {

// `time` in UTC through strftime's `format` ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S UTC", ...).
[[nodiscard]] std::string utc_text(std::chrono::system_clock::time_point time, const char* format);

// "40 days", "3 hours", "1 minute": the largest whole unit of `duration`.
[[nodiscard]] std::string whole_units(std::chrono::seconds duration);

// "29 days 23 hours", "5 hours 12 minutes", "3 minutes": at most two units, spelled out so that
// no "m" can be read as months, for a time still to come or gone by.
[[nodiscard]] std::string short_duration(std::chrono::seconds duration);

} // namespace ksign::util
