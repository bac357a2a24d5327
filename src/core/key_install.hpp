// SPDX-License-Identifier: MIT
#pragma once

#include "core/key_directory.hpp"

#include <openssl/x509.h>

#include <filesystem>
#include <string>

// Installing a key store's current key into a kernel headers package (build/certs-local), and
// the registry of links that lead a certificate-only install to its private key.
namespace ksign::core {

// What install_current_key copies: the whole key directory, or all but the private key files.
enum class InstallWhat { everything, certificates };

// Copy the key directory `files` (a key store's current one, current_key_files) and a `current`
// link to it into `destination`,
// creating it and its parents (0755, whatever the umask); what a kernel headers package installs as
// build/certs-local. The key directory is 0755 (certificates readable by all); private key
// files are written 0600, other files keep their mode less group and other write, whatever the
// umask. Returns the copied key directory inside `destination`.
//
// Readers never see a missing file: the copy is made under a hidden name and exchanged with an
// existing copy in one renameat2(RENAME_EXCHANGE) (on a file system without it, the old copy
// is renamed away first: a moment without it), then the old copy is removed; `current` is
// switched by rename. Installs into one destination take turns (an flock(2) on the directory
// above it). A `destination` that is a symbolic link is replaced by a directory, never written
// through: what the link pointed to stays as it was. So is a link in the key directory's place.
std::filesystem::path install_current_key(const KeyFiles& files, const std::filesystem::path& destination,
                                          InstallWhat what = InstallWhat::everything);

// Link registry/<key id> (key_link_name of its certificate, read through its descriptor) to
// `key_directory` (its real path), creating `registry` (0755, whatever the umask) when needed and
// replacing an older link of that name atomically. Returns the link.
std::filesystem::path register_key_directory(const std::filesystem::path& registry, const KeyFiles& key_directory);

// Kernels installed with certificates only find their private key through a registry: a
// directory (by default /etc/ksign/keys.d) of symbolic links, each named after a certificate's
// subjectKeyIdentifier in lower-case hex ("sha256-<fingerprint>" without one) and pointing at
// the key directory, in its owner's key store, that holds the private key.
[[nodiscard]] std::string key_link_name(const X509* certificate);

} // namespace ksign::core
