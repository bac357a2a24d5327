// SPDX-License-Identifier: MIT
#include "cli/options.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <thread>
#include <vector>

namespace ksign::cli {

cxxopts::ParseResult parse_options(cxxopts::Options& options, std::span<const std::string> args)
{
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  argv.push_back(nullptr);
  try {
    return options.parse(static_cast<int>(args.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(Errc::usage, e.what());
  }
}

bool print_help_if_asked(const cxxopts::ParseResult& result, cxxopts::Options& options)
{
  if (result.count("help") == 0) {
    return false;
  }
  fmt::print("{}", options.help());
  return true;
}

Verbosity verbosity(const cxxopts::ParseResult& result)
{
  if (result.count("quiet") > 0) {
    return Verbosity::quiet;
  }
  return result.count("verbose") > 0 ? Verbosity::verbose : Verbosity::normal;
}

unsigned job_count(const cxxopts::ParseResult& result, const std::string& name)
{
  int jobs = 0;
  try {
    jobs = result[name].as<int>();
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(Errc::usage, e.what());
  }
  if (jobs < 0) {
    throw Error(Errc::usage, "--" + name + " must be 0 (one per CPU) or more");
  }
  if (jobs == 0) {
    jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return static_cast<unsigned>(jobs);
}

} // namespace ksign::cli
