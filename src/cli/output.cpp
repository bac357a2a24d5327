// SPDX-License-Identifier: MIT
#include "cli/output.hpp"

#include "util/strings.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace ksign::cli {

bool use_color(std::FILE* stream)
{
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) {
    return false;
  }
  return ::isatty(::fileno(stream)) == 1;
}

void Output::message(Level level, std::string_view raw_text)
{
  const std::string text = util::escape(raw_text);
  const bool color = use_color(stderr);
  std::string_view label;
  std::string_view start;
  switch (level) {
  case Level::error:
    label = "error: ";
    start = "\033[1;31m";
    break;
  case Level::warning:
    label = "warning: ";
    start = "\033[1;33m";
    break;
  case Level::info:
    break;
  }
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  // Keep results (stdout) and messages (stderr) in order when both go to one place.
  std::fflush(stdout);
  if (label.empty()) {
    fmt::print(stderr, "{}\n", text);
  } else if (color) {
    fmt::print(stderr, "ksign {}: {}{}\033[0m{}\n", m_command, start, label, text);
  } else {
    fmt::print(stderr, "ksign {}: {}{}\n", m_command, label, text);
  }
}

void Output::result(std::string_view line)
{
  result_escaped(util::escape(line));
}

void Output::result_escaped(std::string_view line)
{
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  fmt::print("{}\n", line);
}

void Output::json(const util::JsonWriter& document)
{
  result_escaped(document.text());
}

void Output::start_progress(std::string_view verb, std::size_t total)
{
  std::lock_guard lock(m_mutex);
  // One module needs no progress line.
  m_progress_enabled = total > 1 && m_verbosity != Verbosity::quiet && ::isatty(STDERR_FILENO) == 1;
  m_progress_verb = util::escape(verb);
  m_progress_total = total;
  m_progress_done = 0;
  m_progress_last_draw_ms = 0;
}

void Output::step_progress()
{
  std::lock_guard lock(m_mutex);
  ++m_progress_done;
  if (!m_progress_enabled) {
    return;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now().time_since_epoch()).count();
  // Redraw at most ten times a second: a terminal is slower than signing small modules.
  if (now - m_progress_last_draw_ms < 100 && m_progress_done != m_progress_total) {
    return;
  }
  m_progress_last_draw_ms = now;
  std::fflush(stdout);
  fmt::print(stderr, "\r\033[K{} {}/{} modules", m_progress_verb, m_progress_done, m_progress_total);
  std::fflush(stderr);
  m_progress_shown = true;
}

void Output::finish_progress()
{
  std::lock_guard lock(m_mutex);
  clear_progress_locked();
  m_progress_enabled = false;
}

void Output::clear_progress_locked()
{
  if (m_progress_shown) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    m_progress_shown = false;
  }
}

} // namespace ksign::cli
