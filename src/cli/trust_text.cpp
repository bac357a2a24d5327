// SPDX-License-Identifier: MIT
#include "cli/trust_text.hpp"

#include "cli/options.hpp"
#include "core/installed_kernel.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

namespace ksign::cli {

namespace fs = std::filesystem;

std::string basis_name(const core::TrustBasis& basis)
{
  switch (basis.source) {
  case core::TrustBasis::Source::image:
    return basis.release.empty() ? "image " + util::quote(basis.sources.image) : "kernel " + basis.release;
  case core::TrustBasis::Source::guessed:
    return "kernel " + basis.release;
  case core::TrustBasis::Source::certificates:
    return "ksign was told to trust"; // reads "ksign was told to trust: 'A' 12:34..."
  case core::TrustBasis::Source::running:
    break;
  }
  return "the running kernel";
}

std::string origin_text(const core::TrustedCertificate& certificate)
{
  switch (certificate.origin) {
  case core::TrustOrigin::image:
    return std::string(core::certificate_origin_name(certificate.image_origin));
  case core::TrustOrigin::guess:
    return certificate.guess;
  case core::TrustOrigin::extra_file:
    return "--cert " + certificate.file.string();
  case core::TrustOrigin::given_file:
    break;
  }
  return util::quote(certificate.file);
}

std::string image_summary(const core::KernelTrust& trust, const core::KernelImageSources& sources)
{
  std::string format = trust.format == core::ImageFormat::elf ? "ELF" : "bzImage";
  if (trust.format == core::ImageFormat::bzimage) {
    format += ", " + std::string(core::compression_name(trust.payload_compression));
  }
  std::string method = "by " + std::string(core::trust_method_name(trust.method));
  if (trust.method == core::TrustMethod::system_map && sources.system_map) {
    method += " " + util::quote(*sources.system_map);
  }
  std::size_t extra = 0;
  for (const core::KernelCertificate& certificate : trust.certificates) {
    extra += certificate.origin == core::CertificateOrigin::extra_slot ? 1 : 0;
  }
  return fmt::format("read {} ({}, {}): {} {}{}", util::quote(sources.image), format, method,
                     trust.certificates.size(), trust.certificates.size() == 1 ? "certificate" : "certificates",
                     extra > 0 ? fmt::format(" ({} in the extra slot)", extra) : std::string());
}

std::string keyring_list(const core::RunningKeys& keys)
{
  std::string text;
  for (const core::RunningKeyring& keyring : keys.keyrings) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", core::system_keyring_name(keyring.which),
                        keyring.count == 0 ? std::string("empty") : std::to_string(keyring.count));
  }
  return text.empty() ? "none" : text;
}

std::string keyrings_problem_text(const core::RunningTrust& running)
{
  switch (running.problem) {
  case core::KeyringsProblem::none:
    return {};
  case core::KeyringsProblem::no_keyrings:
    return "the running kernel has no system keyrings (no module signing support)";
  case core::KeyringsProblem::not_visible:
    return "/proc/keys shows this user no system keyrings: only root can read them (run with sudo)";
  case core::KeyringsProblem::no_keys:
    return "the running kernel's keyrings hold no keys (" + keyring_list(running.keys) + ")";
  case core::KeyringsProblem::members_hidden:
    break;
  }
  return "cannot read the running kernel's keyrings: only root can (run with sudo)";
}

namespace {

void say_running(const core::RunningTrust& running, Output& out)
{
  if (running.problem != core::KeyringsProblem::none) {
    out.warning("{}", keyrings_problem_text(running));
  } else {
    out.info("judging by the running kernel's keyrings: {}", keyring_list(running.keys));
  }
  if (running.keys.find(core::SystemKeyring::platform) != nullptr) {
    out.info("{}", platform_fallback_text(running.platform));
  }
}

} // namespace

void say_basis(const core::TrustBasis& basis, const fs::path& moduledir, const fs::path& boot, Output& out)
{
  if (basis.running) {
    say_running(*basis.running, out);
    return;
  }
  const std::string name = basis_name(basis);
  using Kind = core::TrustNote::Kind;
  for (const core::TrustNote& note : basis.notes) {
    switch (note.kind) {
    case Kind::image_unreadable:
      out.warning("cannot read the kernel image {}: {}", util::quote(note.file), note.reason);
      break;
    case Kind::image_read:
      // An image file is named by its file already; an installed kernel by its release.
      out.info("{}{}", basis.release.empty() ? "" : name + ": ", image_summary(*basis.image, basis.sources));
      break;
    case Kind::system_map_unused:
      out.warning("{}", note.reason);
      break;
    case Kind::scanned:
      out.warning("{} has no symbols and no System.map that fits it: its certificates were found by scanning, "
                  "so some may not be in its trusted list, and its blacklist is unknown",
                  util::quote(note.file));
      break;
    case Kind::certificate_unloadable:
      out.warning("a certificate at offset {} of the list would not load: {}", note.offset, note.reason);
      break;
    case Kind::no_image: {
      std::string names;
      for (const core::TrustNote& guess : basis.notes) {
        if (guess.kind == Kind::guessed_file) {
          names += (names.empty() ? "" : ", ") + guess.reason;
        }
      }
      std::string places;
      for (const fs::path& image : core::installed_kernel_layout(moduledir, basis.release, boot).images) {
        places += (places.empty() ? "" : ", ") + util::quote(image);
      }
      out.warning("found no image of {} to read its certificates from ({}); "
                  "judging by files on disk instead, which are guesses at what it was built with{}",
                  name, places, names.empty() ? std::string() : ": " + names);
      break;
    }
    case Kind::unreadable_key_store:
      out.warning("{}", explained(Error(note.code, note.reason)));
      break;
    case Kind::guessed_file:
      out.info("trusting {} ({})", util::quote(note.file), note.reason);
      break;
    case Kind::trusts_nothing:
      out.warning("found no certificate that {} trusts; every signed module will show as unknown key", name);
      break;
    }
  }
}

std::string trusted_list_text(const core::TrustBasis& basis)
{
  if (basis.running) {
    const core::RunningTrust& running = *basis.running;
    if (running.problem != core::KeyringsProblem::none) {
      return "the running kernel trusts no key ksign can see: " + keyrings_problem_text(running);
    }
    const auto list = [](const std::vector<const core::ProcAsymmetricKey*>& keys) {
      std::string text;
      for (const core::ProcAsymmetricKey* key : keys) {
        text += fmt::format("{} '{}' {}", text.empty() ? "" : ",", util::escape(key->subject), util::escape(key->key_id));
      }
      return text;
    };
    const core::RunningTrust::Held held = running.held_keys();
    const std::string trusted = list(held.counted);
    std::string text = "the running kernel trusts:" + (trusted.empty() ? std::string(" nothing") : trusted);
    if (!held.platform_apart.empty()) {
      text += fmt::format("; .platform holds{} ({})", list(held.platform_apart),
                          running.platform.fallback == core::PlatformFallback::unused
                            ? "which this kernel does not use for modules"
                            : "which counts only on kernels that use .platform for modules: ksign cannot tell");
    }
    return text;
  }
  std::string text = basis_name(basis) + (basis.source == core::TrustBasis::Source::guessed ? " (guessed from files on disk)" : "")
                     + (basis.source == core::TrustBasis::Source::certificates ? ":" : " trusts:");
  if (basis.certificates.empty()) {
    return text + " nothing";
  }
  bool first = true;
  for (const core::TrustedCertificate& certificate : basis.certificates) {
    text += fmt::format("{} '{}' {}", first ? "" : ",", certificate.subject,
                        certificate.sig_key.empty() ? "key id " + certificate.key_id : certificate.sig_key);
    first = false;
  }
  return text;
}

std::string verdict_problem(const core::ModuleVerdict& verdict, const core::TrustBasis& basis)
{
  if (!verdict.running || !basis.running) {
    return verdict.verification.problem;
  }
  const core::RunningMatch& match = *verdict.running;
  const core::RunningTrust& running = *basis.running;
  switch (match.outcome) {
  case core::RunningOutcome::trusted:
    return verdict.verification.problem;
  case core::RunningOutcome::revoked:
    return "the running kernel's .blacklist keyring holds the signer";
  case core::RunningOutcome::platform_refused:
    return "the signer is only in .platform, and " + platform_fallback_text(running.platform);
  case core::RunningOutcome::platform_undecided:
    return "the signer is only in .platform: the module loads only on kernels that use .platform for modules "
           "(distribution kernels); mainline kernels refuse it; " + platform_fallback_text(running.platform);
  case core::RunningOutcome::absent:
    break;
  }
  if (match.unconfirmed != nullptr) {
    return fmt::format("'{}' in {} bears the signer's name, but /proc/keys shows its subjectKeyIdentifier, "
                       "not its serial, so ksign cannot tell whether it is the signer's key (a module "
                       "signed with --keyid can be told; --kernel judges by the image's certificates)",
                       util::escape(match.unconfirmed->subject), core::system_keyring_name(*match.unconfirmed_in));
  }
  return running.problem == core::KeyringsProblem::none
           ? "no keyring of the running kernel holds the signer (searched " + keyring_list(running.keys) + ")"
           : keyrings_problem_text(running);
}

std::string verdict_note(const core::ModuleVerdict& verdict, const core::TrustBasis& basis)
{
  if (verdict.running && basis.running && verdict.running->outcome == core::RunningOutcome::trusted
      && verdict.running->keyring == core::SystemKeyring::platform) {
    return platform_fallback_text(basis.running->platform);
  }
  return verdict.verification.note;
}

std::string verdict_keyring(const core::ModuleVerdict& verdict)
{
  if (!verdict.running || verdict.running->outcome != core::RunningOutcome::trusted) {
    return {};
  }
  return std::string(core::system_keyring_name(verdict.running->held_by.value_or(*verdict.running->keyring)));
}

namespace {

std::string_view words(core::Verdict verdict)
{
  switch (verdict) {
  case core::Verdict::ok:
    return "ok";
  case core::Verdict::unsigned_module:
    return "unsigned";
  case core::Verdict::unknown_key:
    return "unknown key";
  case core::Verdict::bad_signature:
    return "bad signature";
  case core::Verdict::signed_attributes:
    return "signed attributes";
  case core::Verdict::malformed:
    break;
  }
  return "malformed";
}

std::string paint(std::string_view text, bool ok, bool color)
{
  return color ? fmt::format("{}{}\033[0m", ok ? "\033[32m" : "\033[1;31m", text) : std::string(text);
}

} // namespace

std::string verdict_words(const core::ModuleVerdict& verdict)
{
  return verdict.unreadable ? "unreadable" : verdict.platform_only() ? "only in .platform"
                                                                    : std::string(words(verdict.verification.verdict));
}

std::string verdict_status(const core::ModuleVerdict& verdict)
{
  return verdict.unreadable ? "unreadable" : verdict.platform_only() ? "platform_only"
                                                                    : std::string(core::verdict_name(verdict.verification.verdict));
}

std::string describe_verdict(const core::ModuleVerdict& verdict, const core::TrustBasis& basis, bool color)
{
  const core::Verification& v = verdict.verification;
  const std::string hash = v.hash ? std::string(core::hash_name(*v.hash)) : "unknown hash";
  const std::string problem = util::escape(verdict_problem(verdict, basis));
  const std::string word = paint(verdict_words(verdict), v.verdict == core::Verdict::ok, color);
  std::string signer = v.signer.empty() ? std::string() : "signer '" + util::escape(v.signer) + "'";
  if (!v.key_id.empty()) {
    signer += std::string(signer.empty() ? "" : ", ") + "key id " + util::escape(v.key_id);
  }
  switch (v.verdict) {
  case core::Verdict::ok: {
    const std::string note = verdict_note(verdict, basis);
    return fmt::format("{} ({}, {}{}{})", word, signer, hash, note.empty() ? "" : "; ", note);
  }
  case core::Verdict::unsigned_module:
    return word;
  case core::Verdict::unknown_key:
    if (!v.sig_key.empty()) {
      signer += std::string(signer.empty() ? "" : ", ") + "sig_key " + v.sig_key;
    }
    return fmt::format("{} ({}{}{}{})", word, signer, signer.empty() ? "" : ", ", hash, problem.empty() ? "" : "; " + problem);
  case core::Verdict::signed_attributes:
    return fmt::format("{} ({}, {}: {})", word, signer, hash, problem);
  case core::Verdict::bad_signature:
  case core::Verdict::malformed:
    break;
  }
  return fmt::format("{} ({})", word, problem);
}

void write_verdict_json(util::JsonWriter& json, const core::ModuleVerdict& verdict, const core::TrustBasis& basis)
{
  const core::Verification& v = verdict.verification;
  json.object_string("path", verdict.path.string()).object_string("status", verdict_status(verdict));
  json.object_string("compression", core::compression_name(v.compression));
  if (v.hash) {
    json.object_string("hash", core::hash_name(*v.hash));
  }
  const std::string note = verdict_note(verdict, basis);
  const std::string keyring = verdict_keyring(verdict);
  const std::string problem = verdict.unreadable ? *verdict.unreadable : verdict_problem(verdict, basis);
  for (const auto& [name, value] : {std::pair<std::string_view, const std::string&>{"signer", v.signer},
                                    {"key_id", v.key_id}, {"note", note}, {"sig_key", v.sig_key}}) {
    if (!value.empty()) {
      json.object_string(name, value);
    }
  }
  if (v.reference) {
    json.object_string("kernel_key_id", core::kernel_signer_id_hex(*v.reference));
  }
  if (!keyring.empty()) {
    json.object_string("keyring", keyring);
  }
  if (!problem.empty()) {
    json.object_string("problem", problem);
  }
}

void write_basis_json(util::JsonWriter& json, const core::TrustBasis& basis)
{
  if (basis.running) {
    json.object_string("source", "running").object_begin_array("keyrings");
    for (const core::RunningKeyring& keyring : basis.running->keys.keyrings) {
      json.array_begin_object().object_string("name", core::system_keyring_name(keyring.which));
      json.object_int("count", keyring.count).end();
    }
    json.end().object_begin_array("keys");
    for (const core::ProcAsymmetricKey& key : basis.running->keys.keys) {
      json.array_begin_object().object_string("subject", key.subject).object_string("key_id", key.key_id).end();
    }
    json.end().object_string("platform_counts", core::platform_fallback_name(basis.running->platform.fallback));
    json.object_string("platform_evidence", platform_fallback_text(basis.running->platform));
    if (basis.running->problem != core::KeyringsProblem::none) {
      json.object_string("problem", keyrings_problem_text(*basis.running));
    }
    return;
  }
  json.object_string("source", basis.source == core::TrustBasis::Source::image     ? "image"
                               : basis.source == core::TrustBasis::Source::guessed ? "guessed"
                                                                                   : "certificates");
  json.object_string("name", basis_name(basis));
  if (basis.image) {
    json.object_string("image", basis.sources.image.string()).object_string("method", core::trust_method_name(basis.image->method));
    if (basis.image->method == core::TrustMethod::system_map && basis.sources.system_map) {
      json.object_string("system_map", basis.sources.system_map->string());
    }
  }
  json.object_begin_array("certificates");
  for (const core::TrustedCertificate& certificate : basis.certificates) {
    json.array_begin_object().object_string("subject", certificate.subject).object_string("sig_key", certificate.sig_key);
    json.object_string("key_id", certificate.key_id).object_string("origin", origin_text(certificate)).end();
  }
  json.end();
}

std::string image_key_trust_text(const core::ImageKeyTrust& trust)
{
  if (!trust.trust) {
    return "cannot tell whether the kernel trusts it (" + trust.problem + ")";
  }
  const std::string where =
    fmt::format("{}, {}", trust.sources.image.filename().string(), core::trust_method_name(*trust.method));
  switch (*trust.trust) {
  case core::SignerTrust::trusted:
    return "trusted by its image (" + where + ")";
  case core::SignerTrust::revoked:
    return "REVOKED by its image (" + where + ")";
  case core::SignerTrust::blacklisted:
    return "BLACKLISTED by its image (" + where + ")";
  case core::SignerTrust::unknown:
    break;
  }
  return "NOT trusted by its image (" + where + "): its modules signed with it would be refused";
}

std::string platform_fallback_text(const core::PlatformFallbackProbe& probe)
{
  const std::string image = util::quote(probe.image);
  const std::string map = probe.system_map ? " by System.map " + util::quote(*probe.system_map) : std::string();
  const std::string cannot = "cannot tell whether this kernel uses .platform for modules: ";
  switch (probe.evidence) {
  case core::FallbackEvidence::calls_counted:
    return probe.fallback == core::PlatformFallback::used
             ? "this kernel uses .platform for modules (a distribution kernel's patch: mod_verify_sig calls "
               "verify_pkcs7_signature twice in " + image + map + ")"
             : "this kernel does not use .platform for modules (mod_verify_sig calls verify_pkcs7_signature once in "
               + image + map + ", as mainline does)";
  case core::FallbackEvidence::unexpected_calls:
    return cannot + fmt::format("mod_verify_sig calls verify_pkcs7_signature {} times in {}{}", probe.calls, image, map);
  case core::FallbackEvidence::no_platform_keyring:
    return "this kernel has no .platform keyring";
  case core::FallbackEvidence::no_symbols:
    return cannot + image + " has no symbols and no System.map that fits it (a build tree's vmlinux or a "
                            "distribution's debug image, e.g. Debian's linux-image-" + core::running_release()
           + "-dbg, has them)";
  case core::FallbackEvidence::no_function:
    return cannot + image + map + " has no symbol mod_verify_sig or verify_pkcs7_signature";
  case core::FallbackEvidence::no_size:
    return cannot + "the symbols of " + image + map + " do not say where mod_verify_sig ends";
  case core::FallbackEvidence::other_architecture:
    return cannot + image + " is not x86 code, which is all ksign reads";
  case core::FallbackEvidence::code_outside:
    return cannot + "mod_verify_sig's code is not in " + image;
  case core::FallbackEvidence::other_build:
    return cannot + image + " is not the running build (its linux_banner differs from /proc/version)";
  case core::FallbackEvidence::no_image:
    break;
  }
  std::string why;
  for (const core::PlatformFallbackProbe::Failure& failure : probe.failures) {
    why += fmt::format("; {}: {}", util::quote(failure.file), failure.reason);
  }
  return cannot + "found no image of " + core::running_release() + " to read" + why;
}

std::string untrusted_key_fix()
{
  return "rebuild the kernel with that key (ksign config points CONFIG_SYSTEM_TRUSTED_KEYS at it) or put it into "
         "the image with the kernel's scripts/insert-sys-cert";
}

} // namespace ksign::cli
