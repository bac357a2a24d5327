// SPDX-License-Identifier: MIT
#pragma once

#include "core/kernel_image.hpp"
#include "core/module_verifier.hpp"
#include "core/signer_match.hpp"
#include "util/bytes.hpp"

// Module verdicts by a kernel image's own lists (read_kernel_trust): the certificates it loads
// into its builtin keyring decide, and its blacklist and revocation list are applied the way
// certs/system_keyring.c and certs/blacklist.c apply them.
namespace ksign::core {

// The keys a kernel with `trust` loads: every certificate of system_certificate_list (the
// extra slot included) whose TBS hash is not blacklisted. A certificate OpenSSL cannot read
// is left out, as the kernel leaves out what its parser rejects.
[[nodiscard]] TrustedKeys loaded_keys(const KernelTrust& trust);

// verify_module against `loaded` (loaded_keys(trust)) with the kernel's lists applied: a signer
// on the revocation list is refused (unknown_key, the problem says so), and an unknown key whose
// certificate is in the list but blacklisted says that too.
[[nodiscard]] Verification verify_module_for_kernel(ByteView file, const KernelTrust& trust, const TrustedKeys& loaded,
                                                    const KernelRules& rules = {},
                                                    std::uint64_t max_size = k_default_max_module_size);

// Whether a kernel with `trust` would accept modules signed (by issuer and serial, as sign-file
// and ksign sign by default) with the key of `certificate_der`.
[[nodiscard]] SignerTrust certificate_trust(const KernelTrust& trust, ByteView certificate_der);

} // namespace ksign::core
