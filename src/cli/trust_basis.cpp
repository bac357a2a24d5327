// SPDX-License-Identifier: MIT
#include "cli/trust_basis.hpp"

#include "cli/options.hpp"
#include "cli/paths.hpp"
#include "core/kernel_trust.hpp"
#include "core/kernel_verdict.hpp"
#include "core/keystore.hpp"
#include "core/keygen.hpp"
#include "core/keys.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <fmt/core.h>

#include <sys/utsname.h>

#include <algorithm>
#include <iterator>

namespace ksign::cli {

namespace fs = std::filesystem;

namespace {

TrustedCertificate named(const core::KernelCertificate& certificate, std::string origin)
{
  return {certificate.subject, core::modinfo_serial(certificate.identity.serial), util::to_hex(certificate.identity.subject_key_id),
          std::move(origin)};
}

// Add the certificates of `file` to `basis`, naming them by `origin`.
void add_file(TrustBasis& basis, const fs::path& file, const std::string& origin)
{
  for (X509Ptr& certificate : core::load_certificates(file)) {
    TrustedCertificate name;
    try {
      name = named(core::kernel_certificate(core::certificate_der(certificate.get())), origin);
    } catch (const Error&) {
      name = {core::subject_name(certificate.get()), {}, core::subject_key_id_hex(certificate.get()), origin};
    }
    basis.keys.add(std::move(certificate));
    basis.certificates.push_back(std::move(name));
  }
}

void add_extra_files(TrustBasis& basis, std::span<const fs::path> files)
{
  for (const fs::path& file : files) {
    add_file(basis, file, "--cert " + file.string());
  }
}

TrustBasis from_image(std::string name, core::KernelTrust trust, core::KernelImageSources sources)
{
  TrustBasis basis;
  basis.name = std::move(name);
  basis.keys = core::loaded_keys(trust);
  for (const core::KernelCertificate& certificate : trust.certificates) {
    basis.certificates.push_back(named(certificate, std::string(core::certificate_origin_name(certificate.origin))));
  }
  basis.image = std::move(trust);
  basis.sources = std::move(sources);
  return basis;
}

// Say what reading the image came to; a scan cannot tell the list from other data.
void report_image(const TrustBasis& basis, Output& out)
{
  // An --image basis is named by its file already; an installed kernel by its release.
  const bool named_by_file = basis.name.starts_with("image ");
  out.info("{}{}", named_by_file ? "" : basis.name + ": ", image_summary(*basis.image, basis.sources));
  if (basis.image->system_map_problem) {
    out.warning("{}", *basis.image->system_map_problem);
  }
  if (basis.image->method == core::TrustMethod::scan) {
    out.warning("{} has no symbols and no System.map that fits it: its certificates were found by scanning, "
                "so some may not be in its trusted list, and its blacklist is unknown",
                util::quote(basis.sources.image));
  }
  for (const core::UnloadableCertificate& bad : basis.image->unloadable) {
    out.warning("a certificate at offset {} of the list would not load: {}", bad.offset, bad.reason);
  }
}

} // namespace

core::Verification TrustBasis::verify(ByteView file, const core::KernelRules& rules, std::uint64_t max_size) const
{
  return image ? core::verify_module_for_kernel(file, *image, keys, rules, max_size)
               : core::verify_module(file, keys, rules, max_size);
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

TrustBasis installed_kernel_basis(const Paths& paths, std::string_view release,
                                  std::span<const fs::path> extra_files, Output& out)
{
  const fs::path& moduledir = paths.module_root;
  (void)core::installed_kernel(moduledir, release);
  const std::string name = "kernel " + std::string(release);
  core::InstalledKernelTrust installed = core::read_installed_kernel_trust(moduledir, release, paths.boot_root);
  for (const core::InstalledKernelTrust::Failure& failure : installed.failures) {
    out.warning("cannot read the kernel image {}: {}", util::quote(failure.file), failure.reason);
  }
  TrustBasis basis;
  if (installed.trust) {
    basis = from_image(name, std::move(*installed.trust), std::move(installed.sources));
    report_image(basis, out);
  } else {
    basis.name = name;
    basis.guessed = true;
    std::vector<Error> unreadable;
    const std::vector<core::TrustSource> sources = core::kernel_trust_sources(moduledir, release, &unreadable);
    std::string names;
    for (const core::TrustSource& source : sources) {
      names += (names.empty() ? "" : ", ") + source.origin;
    }
    out.warning("found no image of {} to read its certificates from ({}/{}/build/vmlinux, vmlinuz, {}/vmlinuz-{}); "
                "judging by files on disk instead, which are guesses at what it was built with{}",
                name, moduledir.string(), release, paths.boot_root.string(), release,
                names.empty() ? std::string() : ": " + names);
    for (const Error& e : unreadable) {
      out.warning("{}", explained(e));
    }
    for (const core::TrustSource& source : sources) {
      out.info("trusting {} ({})", util::quote(source.file), source.origin);
      add_file(basis, source.file, source.origin);
    }
  }
  add_extra_files(basis, extra_files);
  if (basis.certificates.empty()) {
    out.warning("found no certificate that {} trusts; every signed module will show as unknown key", name);
  }
  return basis;
}

TrustBasis image_basis(const core::KernelImageSources& sources, std::span<const fs::path> extra_files, Output& out)
{
  TrustBasis basis = from_image("image " + util::quote(sources.image), core::read_kernel_trust(sources), sources);
  report_image(basis, out);
  add_extra_files(basis, extra_files);
  return basis;
}

TrustBasis certificate_basis(std::span<const fs::path> files)
{
  TrustBasis basis;
  basis.name = "ksign was told to trust"; // reads "ksign was told to trust: 'A' 12:34..."
  for (const fs::path& file : files) {
    add_file(basis, file, util::quote(file));
  }
  return basis;
}

std::string trusted_list_text(const TrustBasis& basis)
{
  std::string text = basis.name + (basis.guessed ? " (guessed from files on disk)" : "")
                     + (basis.name.ends_with(" trust") ? ":" : " trusts:");
  if (basis.certificates.empty()) {
    return text + " nothing";
  }
  bool first = true;
  for (const TrustedCertificate& certificate : basis.certificates) {
    text += fmt::format("{} '{}' {}", first ? "" : ",", certificate.subject,
                        certificate.sig_key.empty() ? "key id " + certificate.key_id : certificate.sig_key);
    first = false;
  }
  return text;
}

ImageKeyTrust installed_image_trusts(const Paths& paths, std::string_view release, const fs::path& certificate)
{
  ImageKeyTrust result;
  const core::InstalledKernelTrust installed =
    core::read_installed_kernel_trust(paths.module_root, release, paths.boot_root);
  if (!installed.trust) {
    result.problem = installed.failures.empty() ? "no image found" : "no image could be read: " + installed.failures.back().reason;
    return result;
  }
  result.sources = installed.sources;
  result.method = installed.trust->method;
  try {
    result.trust = core::certificate_trust(*installed.trust, core::load_certificate_der(certificate));
  } catch (const Error& e) {
    result.problem = e.what();
  }
  return result;
}

std::string image_key_trust_text(const ImageKeyTrust& trust)
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

std::string running_release()
{
  struct utsname names {};
  return ::uname(&names) == 0 ? names.release : "unknown";
}

std::vector<core::KernelCertificate> running_known_certificates(const Paths& paths)
{
  std::vector<core::KernelCertificate> certificates = core::read_firmware_certificates();
  core::InstalledKernelTrust installed =
    core::read_installed_kernel_trust(paths.module_root, running_release(), paths.boot_root);
  if (installed.trust) {
    std::move(installed.trust->certificates.begin(), installed.trust->certificates.end(), std::back_inserter(certificates));
    if (installed.trust->revocation_certificates) {
      std::ranges::move(*installed.trust->revocation_certificates, std::back_inserter(certificates));
    }
  }
  return certificates;
}

core::PlatformFallbackProbe running_platform_fallback(const Paths& paths, const core::RunningKeys& keys)
{
  if (keys.find(core::SystemKeyring::platform) == nullptr) {
    core::PlatformFallbackProbe probe;
    probe.fallback = core::PlatformFallback::unused;
    probe.evidence = core::FallbackEvidence::no_platform_keyring;
    return probe;
  }
  const std::optional<std::string> banner = core::read_kernel_banner();
  return core::probe_installed_platform_fallback(paths.module_root, running_release(), paths.boot_root, "/usr/lib/debug",
                                                 banner ? std::optional<std::string_view>(*banner) : std::nullopt);
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
                            "distribution's debug image, e.g. Debian's linux-image-" + running_release()
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
  return cannot + "found no image of " + running_release() + " to read" + why;
}

} // namespace ksign::cli
