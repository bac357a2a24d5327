// SPDX-License-Identifier: MIT
// The test runner's main for Catch2 v2; v3 links catch2-with-main instead.
#if !__has_include(<catch2/catch_all.hpp>)
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
