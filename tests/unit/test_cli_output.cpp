// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "cli/output.hpp"
#include "util/json_writer.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

using namespace ksign;

namespace {

// What `print` writes to stdout.
std::string captured_stdout(const std::function<void()>& print)
{
  std::fflush(stdout);
  char name[] = "/tmp/ksign-test-output.XXXXXX";
  const int file = ::mkstemp(name);
  REQUIRE(file >= 0);
  const int saved = ::dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  ::dup2(file, STDOUT_FILENO);
  print();
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(name);
  return text.str();
}

} // namespace

TEST_CASE("cli::Output::result escapes the whole line", "[output]")
{
  cli::Output out("status");
  // A key directory or subject that would paint the terminal and forge a second line.
  CHECK(captured_stdout([&] { out.result("current key:  evil\033[31mred\nverdict: ok"); })
        == "current key:  evil\\x1b[31mred\\nverdict: ok\n");
  // Text escaped already is left as it is.
  CHECK(captured_stdout([&] { out.result("name 'a\\x1b'"); }) == "name 'a\\x1b'\n");
}

TEST_CASE("cli::Output::result_escaped prints our own colours", "[output]")
{
  cli::Output out("verify");
  CHECK(captured_stdout([&] { out.result_escaped("a.ko: \033[32mok\033[0m"); }) == "a.ko: \033[32mok\033[0m\n");
}

TEST_CASE("cli::Output::json prints the document as written", "[output]")
{
  cli::Output out("keys");
  util::JsonWriter json;
  json.begin_object().object_string("subject", "evil\033]0;x\007").object_begin_array("kernels", util::JsonWriter::Layout::lines).end().end();
  CHECK(captured_stdout([&] { out.json(json); })
        == "{\n  \"subject\": \"evil\\u001b]0;x\\u0007\",\n  \"kernels\": [\n  ]\n}\n");
}
