// SPDX-License-Identifier: MIT
// Placeholder: filled in by the key-lifecycle work.
