// SPDX-License-Identifier: MIT
#include "cli/output.hpp"

#include <unistd.h>

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

void Output::message(Level level, std::string_view text)
{
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
  std::lock_guard lock(m_mutex);
  fmt::print("{}\n", line);
}

} // namespace ksign::cli
