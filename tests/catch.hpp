// SPDX-License-Identifier: MIT
// Build the tests against Catch2 v2 (Debian 12) or v3 (Arch, the wrap).
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
// A substring matcher under one name for both versions.
#define KSIGN_CONTAINS(text) Catch::Matchers::ContainsSubstring(text)
#else
#include <catch2/catch.hpp>
#define KSIGN_CONTAINS(text) Catch::Matchers::Contains(text)
#endif
