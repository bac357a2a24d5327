// SPDX-License-Identifier: MIT
// Until status, keys and verify include util/json_writer.hpp themselves: json_string lives there.
#pragma once

#include "util/json_writer.hpp"
