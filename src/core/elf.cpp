// SPDX-License-Identifier: MIT
// Placeholder while the core lands.
