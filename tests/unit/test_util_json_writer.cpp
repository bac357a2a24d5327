// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "util/json_writer.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

using namespace ksign;
using Layout = util::JsonWriter::Layout;

TEST_CASE("util::json_string", "[json]")
{
  CHECK(util::json_string("plain") == "\"plain\"");
  CHECK(util::json_string("") == "\"\"");
  CHECK(util::json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(util::json_string("l1\nl2\tt\rr") == "\"l1\\nl2\\tt\\rr\"");
  // A signer name that would retitle the terminal: every control is a \u escape.
  CHECK(util::json_string("evil\033]0;pwned\007") == "\"evil\\u001b]0;pwned\\u0007\"");
  CHECK(util::json_string(std::string("nul\0byte", 8)) == "\"nul\\u0000byte\"");
  // DEL, a C1 control (CSI, U+009B) and a bidirectional override (U+202E) are valid JSON as
  // they are, but a terminal acts on them: escaped, the same string to a JSON reader.
  CHECK(util::json_string("del\x7f") == "\"del\\u007f\"");
  CHECK(util::json_string("c1\xc2\x9b" "31m") == "\"c1\\u009b31m\"");
  CHECK(util::json_string("bidi\xe2\x80\xae" "txt") == "\"bidi\\u202etxt\"");
  CHECK(util::json_string("\xe2\x81\xa6x\xd8\x9c") == "\"\\u2066x\\u061c\"");
  // Printable UTF-8 is kept: a name with an umlaut or a CJK character, U+00A0 and U+2010.
  CHECK(util::json_string("J\xc3\xbcrgen \xe4\xb8\xad") == "\"J\xc3\xbcrgen \xe4\xb8\xad\"");
  CHECK(util::json_string("\xc2\xa0\xe2\x80\x90") == "\"\xc2\xa0\xe2\x80\x90\"");
  // Bytes that are not UTF-8 are copied, as they always were; a truncated sequence too.
  CHECK(util::json_string("\xff\xe2\x80") == "\"\xff\xe2\x80\"");
}

TEST_CASE("util::JsonWriter: the layout of ksign's --json output", "[json]")
{
  util::JsonWriter json;
  json.begin_object();
  json.object_string("store", "/s");
  json.object_begin_object("running").object_string("release", "6.12").object_bool("sig_enforce", true).object_null("lockdown").end();
  json.object_begin_array("kernels", Layout::lines);
  json.array_begin_object().object_string("release", "a").object_int("count", std::size_t{3}).end();
  json.array_begin_object()
    .object_begin_array("keys")
    .array_begin_object()
    .object_string("subject", "s")
    .end()
    .array_string("x")
    .array_int(-7)
    .array_bool(false)
    .array_null()
    .end()
    .end();
  json.end();
  json.object_begin_array("empty", Layout::lines).end();
  json.object_begin_array("flat").end();
  json.object_bool("ok", false);
  json.end();
  CHECK(json.text() == "{\n"
                       "  \"store\": \"/s\",\n"
                       "  \"running\": {\"release\": \"6.12\", \"sig_enforce\": true, \"lockdown\": null},\n"
                       "  \"kernels\": [\n"
                       "    {\"release\": \"a\", \"count\": 3},\n"
                       "    {\"keys\": [{\"subject\": \"s\"}, \"x\", -7, false, null]}\n"
                       "  ],\n"
                       "  \"empty\": [\n"
                       "  ],\n"
                       "  \"flat\": [],\n"
                       "  \"ok\": false\n"
                       "}");
}

TEST_CASE("util::JsonWriter: values", "[json]")
{
  util::JsonWriter json;
  json.begin_object(Layout::flat)
    .object_string_or_null("some", std::string("v"))
    .object_string_or_null("none", std::nullopt)
    .object_bool_or_null("yes", true)
    .object_bool_or_null("unknown", std::nullopt)
    .object_int("big", std::int64_t{-9223372036854775807LL - 1})
    .object_int("age", 42LL)
    .object_string("k\"ey\n", "v\033")
    .end();
  CHECK(json.text() == "{\"some\": \"v\", \"none\": null, \"yes\": true, \"unknown\": null, "
                       "\"big\": -9223372036854775808, \"age\": 42, \"k\\\"ey\\n\": \"v\\u001b\"}");

  // A container asking for lines inside a flat one is flat.
  util::JsonWriter nested;
  nested.begin_array(Layout::flat).array_begin_array(Layout::lines).array_int(1).end().end();
  CHECK(nested.text() == "[[1]]");

  util::JsonWriter array;
  array.begin_array().array_string("a").array_begin_object(Layout::lines).object_int("n", 1).end().end();
  CHECK(array.text() == "[\n  \"a\",\n  {\n    \"n\": 1\n  }\n]");
}

TEST_CASE("util::JsonWriter: misuse is a programming error", "[json]")
{
  util::JsonWriter unfinished;
  unfinished.begin_object();
  CHECK_THROWS_AS(unfinished.text(), std::logic_error);
  CHECK_THROWS_AS(unfinished.array_string("x"), std::logic_error); // an element in an object
  CHECK_THROWS_AS(unfinished.begin_array(), std::logic_error);     // a second top-level value
  unfinished.object_begin_array("a");
  CHECK_THROWS_AS(unfinished.object_bool("b", true), std::logic_error); // a member in an array
  unfinished.end().end();
  CHECK_THROWS_AS(unfinished.end(), std::logic_error);
  CHECK_THROWS_AS(unfinished.begin_object(), std::logic_error);
  CHECK(unfinished.text() == "{\n  \"a\": []\n}");

  util::JsonWriter empty;
  CHECK_THROWS_AS(empty.text(), std::logic_error);
  CHECK_THROWS_AS(empty.object_null("k"), std::logic_error);
}
