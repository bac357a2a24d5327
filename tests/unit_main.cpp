// SPDX-License-Identifier: MIT
// The test runner's main for Catch2 v2; v3 links catch2-with-main instead.
#if !__has_include(<catch2/catch_all.hpp>)
#define CATCH_CONFIG_MAIN
// Catch2 v2's main instantiates std::regex, in which gcc 12 with -fsanitize=address,undefined
// warns maybe-uninitialized inside libstdc++ (a false positive; gcc's manual advises against
// -Werror with sanitizers). Only here: our own code keeps the warning in every build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <catch2/catch.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
