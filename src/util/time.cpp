// SPDX-License-Identifier: MIT
#include "util/time.hpp"

#include <fmt/core.h>

#include <ctime>

namespace ksign::util {

std::string utc_text(std::chrono::system_clock::time_point time, const char* format)
{
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[64];
  const std::size_t length = std::strftime(text, sizeof text, format, &parts);
  return std::string(text, length);
}

std::string whole_units(std::chrono::seconds duration)
{
  constexpr long long minute = 60;
  constexpr long long hour = 60 * minute;
  constexpr long long day = 24 * hour;
  const long long total = duration.count();
  const auto plural = [](long long count, const char* unit) {
    return std::to_string(count) + " " + unit + (count == 1 ? "" : "s");
  };
  if (total >= day) {
    return plural(total / day, "day");
  }
  if (total >= hour) {
    return plural(total / hour, "hour");
  }
  if (total >= minute) {
    return plural(total / minute, "minute");
  }
  return plural(total, "second");
}

std::string short_duration(std::chrono::seconds duration)
{
  const long long total = duration.count();
  const long long days = total / 86400;
  const long long hours = (total % 86400) / 3600;
  const long long minutes = (total % 3600) / 60;
  const auto plural = [](long long count, const char* unit) {
    return fmt::format("{} {}{}", count, unit, count == 1 ? "" : "s");
  };
  if (days > 0) {
    return plural(days, "day") + " " + plural(hours, "hour");
  }
  if (hours > 0) {
    return plural(hours, "hour") + " " + plural(minutes, "minute");
  }
  return plural(minutes, "minute");
}

} // namespace ksign::util
