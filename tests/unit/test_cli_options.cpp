// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "cli/command.hpp"
#include "cli/options.hpp"
#include "util/error.hpp"

#include <stdexcept>
#include <string>
#include <vector>

using namespace ksign;

namespace {

void add_test_options(cxxopts::Options& options)
{
  options.add_options()
    ("flag", "a flag")
    ("name", "a string", cxxopts::value<std::string>(), "NAME")
    ("c,cert", "repeatable", cxxopts::value<std::vector<std::string>>(), "FILE")
    ("level", "a number", cxxopts::value<int>(), "N")
    ("j,jobs", "jobs", cxxopts::value<int>()->default_value("0"), "N");
}

const cli::Command k_test_command = {
  .name = "test",
  .operands = "<file>...",
  .max_operands = cli::k_any,
  .takes_key_store = true,
  .add_options = add_test_options,
};

cxxopts::ParseResult parsed(std::vector<std::string> args)
{
  args.insert(args.begin(), "test");
  cxxopts::Options options = cli::command_options(k_test_command);
  return cli::parse_options(options, args);
}

} // namespace

TEST_CASE("cli: an option read but never declared fails loudly, not as 'not given'", "[options]")
{
  const cxxopts::ParseResult result = parsed({"--flag"});
  // cxxopts itself answers 0 for a name nobody declared: the silent failure the helpers close.
  CHECK(result.count("flga") == 0);
  CHECK_THROWS_AS(cli::given(result, "flga"), std::logic_error);
  CHECK_THROWS_AS(cli::optional_string(result, "nmae"), std::logic_error);
  CHECK_THROWS_AS(cli::strings(result, "certs"), std::logic_error);
  CHECK_THROWS_AS(cli::optional_int(result, "levle"), std::logic_error);
  CHECK_THROWS_AS(cli::job_count(result, "job"), std::logic_error);
  CHECK_THROWS_AS(cli::reject_together(result, "flag", "undeclared"), std::logic_error);
  CHECK_THROWS_WITH(cli::given(result, "flga"), KSIGN_CONTAINS("'flga'") && KSIGN_CONTAINS("never declared"));
}

TEST_CASE("cli: declared options read as given or not", "[options]")
{
  const cxxopts::ParseResult none = parsed({});
  CHECK_FALSE(cli::given(none, "flag"));
  CHECK_FALSE(cli::optional_string(none, "name").has_value());
  CHECK(cli::strings(none, "cert").empty());
  CHECK_FALSE(cli::optional_int(none, "level").has_value());
  CHECK(cli::optional_int(none, "jobs") == 0); // its default
  CHECK(cli::job_count(none) >= 1);            // 0: one per CPU

  const cxxopts::ParseResult some = parsed({"--flag", "--name=x", "-c", "a", "--cert", "b", "--level", "3", "-j", "2"});
  CHECK(cli::given(some, "flag"));
  CHECK(cli::optional_string(some, "name") == "x");
  CHECK(cli::strings(some, "cert") == std::vector<std::string>{"a", "b"});
  CHECK(cli::optional_int(some, "level") == 3);
  CHECK(cli::job_count(some) == 2);
  CHECK_THROWS_WITH(cli::reject_together(some, "flag", "name"), "--flag and --name cannot be used together");
  CHECK_NOTHROW(cli::reject_together(parsed({"--flag"}), "flag", "level"));
}

TEST_CASE("cli: --jobs below 0 is a usage error naming the flag", "[options]")
{
  try {
    (void)cli::job_count(parsed({"--jobs=-1"}));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::usage);
    CHECK(std::string(e.what()) == "--jobs must be 0 (one per CPU) or more");
  }
}

TEST_CASE("cli: the options every command shares", "[options]")
{
  const cli::CommonOptions plain = cli::read_common_options(parsed({"a.ko", "b.ko"}), k_test_command);
  CHECK_FALSE(plain.help);
  CHECK(plain.verbosity == cli::Verbosity::normal);
  CHECK(plain.operands == std::vector<std::string>{"a.ko", "b.ko"});
  CHECK_FALSE(plain.key_store.has_value());

  CHECK(cli::read_common_options(parsed({"-v"}), k_test_command).verbosity == cli::Verbosity::verbose);
  CHECK(cli::read_common_options(parsed({"-v", "-q"}), k_test_command).verbosity == cli::Verbosity::quiet);
  CHECK(cli::read_common_options(parsed({"-h"}), k_test_command).help);
  CHECK(cli::read_common_options(parsed({"-d", "store"}), k_test_command).key_store == "store");
  CHECK(cli::read_common_options(parsed({"--keydir", "old"}), k_test_command).key_store == "old");
  CHECK_THROWS_WITH(cli::read_common_options(parsed({"-d", "a", "--keydir", "b"}), k_test_command),
                    "--dir and --keydir cannot be used together");
}

TEST_CASE("cli: an unknown option gets 'did you mean'", "[options]")
{
  CHECK_THROWS_WITH(parsed({"--nmae", "x"}), "unknown option '--nmae'; did you mean '--name'?");
  CHECK_THROWS_WITH(parsed({"--level", "three"}), "bad value 'three' for --level (a number is expected)");
}
