// SPDX-License-Identifier: MIT
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace ksign::cli {

enum class Verbosity { quiet, normal, verbose };

// Colour is used on a terminal only, never with NO_COLOR set (non-empty) or TERM=dumb.
[[nodiscard]] bool use_color(std::FILE* stream);

// The one place commands print through. Messages go to stderr as
// "ksign <command>: error: <message>"; results go to stdout. Safe to call from worker threads.
class Output
{
public:
  explicit Output(std::string command) : m_command(std::move(command)) {}

  void set_verbosity(Verbosity verbosity) { m_verbosity = verbosity; }
  [[nodiscard]] Verbosity verbosity() const { return m_verbosity; }
  [[nodiscard]] const std::string& command() const { return m_command; }

  template<typename... Args> void error(fmt::format_string<Args...> format, Args&&... args)
  {
    message(Level::error, fmt::format(format, std::forward<Args>(args)...));
  }
  template<typename... Args> void warning(fmt::format_string<Args...> format, Args&&... args)
  {
    message(Level::warning, fmt::format(format, std::forward<Args>(args)...));
  }
  // Shown unless --quiet.
  template<typename... Args> void info(fmt::format_string<Args...> format, Args&&... args)
  {
    if (m_verbosity != Verbosity::quiet) {
      message(Level::info, fmt::format(format, std::forward<Args>(args)...));
    }
  }
  // Shown with --verbose only.
  template<typename... Args> void detail(fmt::format_string<Args...> format, Args&&... args)
  {
    if (m_verbosity == Verbosity::verbose) {
      message(Level::info, fmt::format(format, std::forward<Args>(args)...));
    }
  }
  // A line of the command's result on stdout.
  void result(std::string_view line);

  enum class Level { error, warning, info };
  void message(Level level, std::string_view text);

private:
  std::string m_command;
  Verbosity m_verbosity = Verbosity::normal;
  std::mutex m_mutex;
};

} // namespace ksign::cli
