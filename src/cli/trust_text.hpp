// SPDX-License-Identifier: MIT
#pragma once

#include "cli/output.hpp"
#include "core/trust_basis.hpp"
#include "util/json_writer.hpp"

#include <filesystem>
#include <string>
#include <string_view>

// The words for what core/trust_basis decides: what modules were judged against, what could not
// be read, why a keyring verdict is what it is. Nothing here decides.
namespace ksign::cli {

// "kernel 6.12.9-custom", "image 'vmlinux'", "ksign was told to trust", "the running kernel".
[[nodiscard]] std::string basis_name(const core::TrustBasis& basis);

// Where a certificate comes from: "build key", "extra slot", "CONFIG_SYSTEM_TRUSTED_KEYS",
// "--cert FILE", "'FILE'", ...
[[nodiscard]] std::string origin_text(const core::TrustedCertificate& certificate);

// Say on `out` how the basis was gathered: which image and method, what could not be read, what
// is a guess, which keyrings. `moduledir` and `boot` are where the kernel's images were looked for.
void say_basis(const core::TrustBasis& basis, const std::filesystem::path& moduledir,
               const std::filesystem::path& boot, Output& out);

// What the kernel trusts instead, for a refusal: "kernel 6.12.9 trusts: 'A' 4A:F4:..., 'B' ..."
// (serials, as modinfo's sig_key shows them), or the running kernel's keys by keyring.
[[nodiscard]] std::string trusted_list_text(const core::TrustBasis& basis);

// The info line that says how an image was read: "read 'FILE' (bzImage, xz; System.map
// 'MAP'): 3 certificates".
[[nodiscard]] std::string image_summary(const core::KernelTrust& trust, const core::KernelImageSources& sources);

// ".builtin_trusted_keys 3, .platform empty", "none".
[[nodiscard]] std::string keyring_list(const core::RunningKeys& keys);

// Why the running kernel's keyrings cannot decide ("" for KeyringsProblem::none).
[[nodiscard]] std::string keyrings_problem_text(const core::RunningTrust& running);

// The problem a keyring verdict is refused with, or the note an ok by .platform carries
// ("" when there is nothing to say): the module's own problem when it was not judged by keyrings.
[[nodiscard]] std::string verdict_problem(const core::ModuleVerdict& verdict, const core::TrustBasis& basis);
[[nodiscard]] std::string verdict_note(const core::ModuleVerdict& verdict, const core::TrustBasis& basis);
// The keyring that holds the signer of a module judged ok by keyrings (".builtin_trusted_keys"),
// else "".
[[nodiscard]] std::string verdict_keyring(const core::ModuleVerdict& verdict);

// A verdict in words ("ok", "unknown key", "only in .platform", "unreadable"), as module lines and
// summaries show it, and as --json's "status" spells it ("unknown_key", "platform_only").
[[nodiscard]] std::string verdict_words(const core::ModuleVerdict& verdict);
[[nodiscard]] std::string verdict_status(const core::ModuleVerdict& verdict);

// The verdict part of a module's line: "ok (signer 'A', key id 12ab, sha512)", "unknown key
// (...; why)", in colour when `color`. Text from the module is escaped.
[[nodiscard]] std::string describe_verdict(const core::ModuleVerdict& verdict, const core::TrustBasis& basis,
                                           bool color);

// A module's verdict as a --json object's members ("path", "status", "signer", "problem", ...).
void write_verdict_json(util::JsonWriter& json, const core::ModuleVerdict& verdict, const core::TrustBasis& basis);

// What the modules were judged against, as a --json object's members ("source", "name",
// "certificates", or the running kernel's "keyrings" and "keys").
void write_basis_json(util::JsonWriter& json, const core::TrustBasis& basis);

// "trusted by its image (vmlinux, symbols)", "NOT trusted by its image ...", "no image to check".
[[nodiscard]] std::string image_key_trust_text(const core::ImageKeyTrust& trust);

// The probe in words, naming the image: "this kernel does not use .platform for modules
// (mod_verify_sig calls verify_pkcs7_signature once in '/usr/lib/modules/6.12.9/build/vmlinux')",
// "cannot tell whether this kernel uses .platform for modules: ...".
[[nodiscard]] std::string platform_fallback_text(const core::PlatformFallbackProbe& probe);

// What makes a kernel whose image does not trust the ksign key it carries load that key's
// modules (repair cannot: it signs with that key), as repair and status say it.
[[nodiscard]] std::string untrusted_key_fix();

} // namespace ksign::cli
