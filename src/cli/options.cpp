// SPDX-License-Identifier: MIT
#include "cli/options.hpp"

#include "core/compress.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ksign::cli {

namespace {

// Every option of `options`, by name ("recursive", "r"), with whether it takes a value.
std::map<std::string, bool> known_options(const cxxopts::Options& options)
{
  std::map<std::string, bool> known; // name -> takes a value
  for (const std::string& group : options.groups()) {
    for (const cxxopts::HelpOptionDetails& option : options.group_help(group).options) {
      if (!option.s.empty()) {
        known[option.s] = !option.is_boolean;
      }
      for (const std::string& name : option.l) {
        known[name] = !option.is_boolean;
      }
    }
  }
  return known;
}

// Refuse an option `options` does not know before cxxopts does, with "did you mean".
void check_option_names(const cxxopts::Options& options, std::span<const std::string> args)
{
  const std::map<std::string, bool> known = known_options(options);
  std::vector<std::string> long_names;
  for (const auto& [name, value] : known) {
    if (name.size() > 1 && name != "operands") {
      long_names.push_back(name);
    }
  }
  bool value_next = false;
  for (const std::string& arg : args.subspan(1)) {
    if (value_next) {
      value_next = false;
      continue;
    }
    if (arg == "--") {
      return;
    }
    if (arg.starts_with("--")) {
      const std::string name = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
      const auto found = known.find(name);
      if (found == known.end() || name.size() == 1 || name == "operands") {
        std::vector<std::string_view> candidates(long_names.begin(), long_names.end());
        std::string message = "unknown option '--" + name + "'";
        if (const auto suggestion = util::closest_match(name, candidates)) {
          message += fmt::format("; did you mean '--{}'?", *suggestion);
        }
        throw Error(Errc::usage, message);
      }
      value_next = found->second && arg.find('=') == std::string::npos;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      continue;
    }
    for (std::size_t i = 1; i < arg.size(); ++i) {
      const auto found = known.find(std::string(1, arg[i]));
      if (found == known.end()) {
        throw Error(Errc::usage, fmt::format("unknown option '-{}'", arg[i]));
      }
      if (found->second) {
        value_next = i + 1 == arg.size();
        break;
      }
    }
  }
}

// The option `text` was given to, for a message about a bad value.
std::string option_given(std::string_view text, std::span<const std::string> args)
{
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == text && args[i - 1].starts_with("-")) {
      return args[i - 1];
    }
    if (arg.starts_with("--") && arg.ends_with("=" + std::string(text))) {
      return arg.substr(0, arg.size() - text.size() - 1);
    }
    if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' && arg.substr(2) == text) {
      return arg.substr(0, 2);
    }
  }
  return {};
}

// The text between the first pair of quotes in a cxxopts message (' or ‘’ by version).
std::string quoted_part(const std::string& message)
{
  for (const auto& [open, close] : {std::pair<std::string_view, std::string_view>{"\u2018", "\u2019"}, {"'", "'"}}) {
    const auto begin = message.find(open);
    if (begin == std::string::npos) {
      continue;
    }
    const auto end = message.find(close, begin + open.size());
    if (end != std::string::npos) {
      return message.substr(begin + open.size(), end - begin - open.size());
    }
  }
  return {};
}

} // namespace

cxxopts::Options command_options(const Command& command)
{
  cxxopts::Options options("ksign " + std::string(command.name), std::string(command.description));
  options.custom_help("[options]");
  options.positional_help(std::string(command.operands));
  if (command.add_options != nullptr) {
    command.add_options(options);
  }
  if (command.takes_key_store) {
    options.add_options()
      ("d,dir", "key store (default: $KSIGN_DIR, else ./certs-local)", cxxopts::value<std::string>(), "DIR");
    // The name sign and verify used to have; accepted, not shown.
    options.add_options(std::string(k_alias_group))("keydir", "the same as --dir", cxxopts::value<std::string>(), "DIR");
  }
  options.add_options()
    ("v,verbose", std::string(command.verbose_help))
    ("q,quiet", std::string(command.quiet_help))
    ("h,help", "show this help")
    ("operands", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"operands"});
  return options;
}

cxxopts::ParseResult parse_options(cxxopts::Options& options, std::span<const std::string> args)
{
  check_option_names(options, args);
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  argv.push_back(nullptr);
  try {
    return options.parse(static_cast<int>(args.size()), argv.data());
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    const std::string value = quoted_part(e.what());
    const std::string option = option_given(value, args);
    throw Error(Errc::usage, option.empty() ? "bad value '" + value + "'"
                                            : "bad value '" + value + "' for " + option + " (a number is expected)");
  } catch (const cxxopts::exceptions::exception& e) {
    std::string message = e.what();
    const std::string subject = quoted_part(message);
    if (!subject.empty() && message.find("missing an argument") != std::string::npos) {
      message = "option '" + std::string(subject.size() == 1 ? "-" : "--") + subject + "' needs a value";
    }
    throw Error(Errc::usage, message);
  }
}

std::string help_text(const cxxopts::Options& options)
{
  std::vector<std::string> shown;
  for (const std::string& group : options.groups()) {
    if (group != k_alias_group) {
      shown.push_back(group);
    }
  }
  return options.help(shown);
}

namespace {

// The parsed value of `name`, which must have been declared.
const cxxopts::OptionValue& declared(const cxxopts::ParseResult& result, const std::string& name)
{
  try {
    return result[name];
  } catch (const cxxopts::exceptions::exception&) {
    throw std::logic_error("option '" + name + "' is read but was never declared");
  }
}

} // namespace

bool given(const cxxopts::ParseResult& result, const std::string& name)
{
  return declared(result, name).count() > 0;
}

std::optional<std::string> optional_string(const cxxopts::ParseResult& result, const std::string& name)
{
  const cxxopts::OptionValue& value = declared(result, name);
  if (value.count() == 0) {
    return std::nullopt;
  }
  return value.as<std::string>();
}

std::vector<std::string> strings(const cxxopts::ParseResult& result, const std::string& name)
{
  const cxxopts::OptionValue& value = declared(result, name);
  if (value.count() == 0) {
    return {};
  }
  return value.as<std::vector<std::string>>();
}

std::optional<int> optional_int(const cxxopts::ParseResult& result, const std::string& name)
{
  const cxxopts::OptionValue& value = declared(result, name);
  if (value.count() == 0 && !value.has_default()) {
    return std::nullopt;
  }
  return value.as<int>();
}

CommonOptions read_common_options(const cxxopts::ParseResult& result, const Command& command)
{
  CommonOptions common;
  common.help = given(result, "help");
  common.verbosity = given(result, "quiet")     ? Verbosity::quiet
                     : given(result, "verbose") ? Verbosity::verbose
                                                : Verbosity::normal;
  common.operands = strings(result, "operands");
  if (command.takes_key_store) {
    reject_together(result, "dir", "keydir");
    common.key_store = optional_string(result, "dir");
    if (!common.key_store) {
      common.key_store = optional_string(result, "keydir");
    }
  }
  return common;
}

void reject_together(const cxxopts::ParseResult& result, std::string_view a, std::string_view b)
{
  if (given(result, std::string(a)) && given(result, std::string(b))) {
    throw Error(Errc::usage, fmt::format("--{} and --{} cannot be used together", a, b));
  }
}

unsigned job_count(const cxxopts::ParseResult& result, const std::string& name)
{
  return job_count(*optional_int(result, name), "--" + name);
}

unsigned job_count(int jobs, std::string_view flag)
{
  if (jobs < 0) {
    throw Error(Errc::usage, std::string(flag) + " must be 0 (one per CPU) or more");
  }
  if (jobs == 0) {
    return std::max(1u, std::thread::hardware_concurrency());
  }
  return static_cast<unsigned>(jobs);
}

std::string explained(const Error& error)
{
  switch (error.code()) {
  case Errc::no_key:
    return std::string(error.what()) + " (run 'ksign keys' to make or complete it)";
  case Errc::permission:
    return std::string(error.what()) + ": only root can (run with sudo)";
  default:
    return error.what();
  }
}

std::uint64_t max_module_size()
{
  const char* value = std::getenv("KSIGN_MAX_MODULE_SIZE");
  if (value == nullptr || value[0] == '\0') {
    return core::k_default_max_module_size;
  }
  const std::string_view text(value);
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  const std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  int shift = -1;
  if (suffix.empty()) {
    shift = 0;
  } else if (suffix == "K" || suffix == "k") {
    shift = 10;
  } else if (suffix == "M") {
    shift = 20;
  } else if (suffix == "G") {
    shift = 30;
  }
  if (ec != std::errc() || shift < 0 || number == 0 || number > (UINT64_MAX >> shift)) {
    throw Error(Errc::usage, "KSIGN_MAX_MODULE_SIZE: '" + util::escape(text)
                               + "' is not a size (a number of bytes, or with a K, M or G suffix)");
  }
  return number << shift;
}

} // namespace ksign::cli
