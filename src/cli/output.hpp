// SPDX-License-Identifier: MIT
#pragma once

#include "util/json_writer.hpp"

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
//
// Text from files (signer names, subjects, paths, config values) must never reach the terminal
// raw. Messages and result lines are escaped here, whole (util::escape): they carry no control
// character of ours, so nothing a caller forgets can slip through. Only a line that carries our
// own colours goes out as given (result_escaped), and its caller escapes each piece that came
// from a file (util::quote escapes paths). Escaping is idempotent, so text escaped twice is fine.
// JSON goes out through json(): util::json_string escapes every control character.
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
  // A line of the command's result on stdout, escaped whole.
  void result(std::string_view line);
  // A result line printed as given, for a line that carries our own colours: every piece of it
  // that came from a file is escaped by the caller.
  void result_escaped(std::string_view line);
  // A finished JSON document on stdout, with a newline.
  void json(const util::JsonWriter& document);

  enum class Level { error, warning, info };
  void message(Level level, std::string_view text);

  // A progress line on stderr for long runs: "<verb> 120/4022 modules". Shown only when stderr
  // is a terminal and not with --quiet; cleared by the next message and by finish_progress().
  void start_progress(std::string_view verb, std::size_t total);
  void step_progress();
  void finish_progress();

private:
  void clear_progress_locked();

  std::string m_command;
  Verbosity m_verbosity = Verbosity::normal;
  std::mutex m_mutex;
  bool m_progress_enabled = false;
  bool m_progress_shown = false;
  std::string m_progress_verb;
  std::size_t m_progress_total = 0;
  std::size_t m_progress_done = 0;
  long long m_progress_last_draw_ms = 0;
};

} // namespace ksign::cli
