// SPDX-License-Identifier: MIT
#include "core/trust_basis.hpp"

#include "core/certificate.hpp"
#include "core/kconfig.hpp"
#include "core/kernel_trust.hpp"
#include "core/kernel_verdict.hpp"
#include "core/keys.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

namespace ksign::core {

namespace fs = std::filesystem;

namespace {

TrustedCertificate named(const KernelCertificate& certificate)
{
  TrustedCertificate name;
  name.subject = certificate.subject;
  name.sig_key = modinfo_serial(certificate.identity.serial);
  name.key_id = util::to_hex(certificate.identity.subject_key_id);
  return name;
}

// Trust the certificates of `file`, from `origin`: `der` when it was read already (through a
// checked directory), else the file's.
void add_file(TrustBasis& basis, TrustedKeys& keys, const fs::path& file, TrustOrigin origin, const std::string& guess = {},
              const std::optional<Bytes>& der = std::nullopt)
{
  std::vector<X509Ptr> certificates;
  if (der) {
    certificates.push_back(parse_certificate(*der, "the certificate " + util::quote(file)));
  } else {
    certificates = load_certificates(file);
  }
  for (X509Ptr& certificate : certificates) {
    TrustedCertificate name;
    try {
      name = named(kernel_certificate(certificate_der(certificate.get())));
    } catch (const Error&) {
      name.subject = subject_name(certificate.get());
      name.key_id = subject_key_id_hex(certificate.get());
    }
    name.origin = origin;
    name.guess = guess;
    name.file = file;
    keys.add(std::move(certificate));
    basis.certificates.push_back(std::move(name));
  }
}

// The notes on reading an image: how, and what a scan cannot tell.
void note_image(TrustBasis& basis)
{
  basis.notes.push_back({TrustNote::Kind::image_read, basis.sources.image, {}});
  if (basis.image->system_map_problem) {
    basis.notes.push_back({TrustNote::Kind::system_map_unused, {}, *basis.image->system_map_problem});
  }
  if (basis.image->method == TrustMethod::scan) {
    basis.notes.push_back({TrustNote::Kind::scanned, basis.sources.image, {}});
  }
  for (const UnloadableCertificate& bad : basis.image->unloadable) {
    basis.notes.push_back({TrustNote::Kind::certificate_unloadable, {}, bad.reason, bad.offset});
  }
}

TrustedKeys from_image(TrustBasis& basis, KernelTrust trust, KernelImageSources sources)
{
  basis.source = TrustBasis::Source::image;
  TrustedKeys keys = loaded_keys(trust);
  for (const KernelCertificate& certificate : trust.certificates) {
    TrustedCertificate name = named(certificate);
    name.origin = TrustOrigin::image;
    name.image_origin = certificate.origin;
    basis.certificates.push_back(std::move(name));
  }
  basis.image = std::move(trust);
  basis.sources = std::move(sources);
  note_image(basis);
  return keys;
}

} // namespace

TrustBasis TrustBasis::installed_kernel(const fs::path& moduledir, std::string_view release, const fs::path& boot,
                                        std::span<const fs::path> extra_files)
{
  (void)core::installed_kernel(moduledir, release);
  TrustBasis basis;
  basis.release = std::string(release);
  if (const auto config = installed_kernel_config(moduledir, release)) {
    basis.rules = kernel_rules(KernelConfig::read(*config));
  }
  InstalledKernelTrust installed = read_installed_kernel_trust(moduledir, release, boot);
  for (const InstalledKernelTrust::Failure& failure : installed.failures) {
    basis.notes.push_back({TrustNote::Kind::image_unreadable, failure.file, failure.reason});
  }
  if (installed.trust) {
    basis.m_keys = from_image(basis, std::move(*installed.trust), std::move(installed.sources));
  } else {
    basis.source = Source::guessed;
    std::vector<Error> unreadable;
    const std::vector<TrustSource> sources = kernel_trust_sources(moduledir, release, &unreadable);
    basis.notes.push_back({TrustNote::Kind::no_image, {}, {}});
    for (const Error& e : unreadable) {
      basis.notes.push_back({TrustNote::Kind::unreadable_key_store, {}, e.what(), 0, e.code()});
    }
    for (const TrustSource& source : sources) {
      basis.notes.push_back({TrustNote::Kind::guessed_file, source.file, source.origin});
    }
    for (const TrustSource& source : sources) {
      add_file(basis, basis.m_keys, source.file, TrustOrigin::guess, source.origin, source.der);
    }
  }
  for (const fs::path& file : extra_files) {
    add_file(basis, basis.m_keys, file, TrustOrigin::extra_file);
  }
  if (basis.certificates.empty()) {
    basis.notes.push_back({TrustNote::Kind::trusts_nothing, {}, {}});
  }
  return basis;
}

TrustBasis TrustBasis::image_file(const KernelImageSources& sources, std::span<const fs::path> extra_files)
{
  TrustBasis basis;
  basis.m_keys = from_image(basis, read_kernel_trust(sources), sources);
  for (const fs::path& file : extra_files) {
    add_file(basis, basis.m_keys, file, TrustOrigin::extra_file);
  }
  return basis;
}

TrustBasis TrustBasis::certificate_files(std::span<const fs::path> files)
{
  TrustBasis basis;
  basis.source = Source::certificates;
  for (const fs::path& file : files) {
    add_file(basis, basis.m_keys, file, TrustOrigin::given_file);
  }
  return basis;
}

KeyringsProblem keyrings_problem(const RunningKeys& keys, bool root)
{
  bool readable = true;
  std::size_t count = 0;
  for (const RunningKeyring& keyring : keys.keyrings) {
    readable = readable && keyring.members.has_value();
    count += keyring.which == SystemKeyring::blacklist ? 0 : keyring.count;
  }
  if (keys.keyrings.empty()) {
    return root ? KeyringsProblem::no_keyrings : KeyringsProblem::not_visible;
  }
  if (count == 0) {
    return KeyringsProblem::no_keys;
  }
  return readable ? KeyringsProblem::none : KeyringsProblem::members_hidden;
}

RunningTrust::Held RunningTrust::held_keys() const
{
  Held held;
  for (const RunningKeyring& keyring : keys.keyrings) {
    if (keyring.which == SystemKeyring::blacklist) {
      continue;
    }
    const bool apart = keyring.which == SystemKeyring::platform && platform.fallback != PlatformFallback::used;
    std::ranges::copy(keys.keys_in(keyring.which), std::back_inserter(apart ? held.platform_apart : held.counted));
  }
  return held;
}

TrustBasis TrustBasis::keyrings(RunningKeys keys, PlatformFallbackProbe platform, bool root, KeyringSearch search)
{
  TrustBasis basis;
  basis.source = Source::running;
  const KeyringsProblem problem = keyrings_problem(keys, root);
  basis.running = RunningTrust{std::move(keys), std::move(platform), problem};
  basis.m_search = std::move(search);
  return basis;
}

TrustBasis TrustBasis::running_kernel(const fs::path& moduledir, const fs::path& boot)
{
  RunningKeys keys = read_running_keys();
  PlatformFallbackProbe platform = running_platform_fallback(keys, moduledir, boot);
  keys.certificates = running_known_certificates(moduledir, boot);
  return keyrings(std::move(keys), std::move(platform), ::geteuid() == 0);
}

ModuleVerdict TrustBasis::verify(const fs::path& path) const
{
  try {
    ModuleVerdict verdict = verify_bytes(util::read_file(path, max_module_size));
    verdict.path = path;
    return verdict;
  } catch (const std::exception& e) { // unreadable, or ksign's own failure (out of memory, OpenSSL)
    ModuleVerdict verdict;
    verdict.path = path;
    verdict.unreadable = exception_text(e);
    return verdict;
  }
}

ModuleVerdict TrustBasis::verify_bytes(ByteView file) const
{
  ModuleVerdict verdict;
  if (source == Source::image) {
    verdict.verification = verify_module_for_kernel(file, *image, m_keys, rules, max_module_size);
    return verdict;
  }
  verdict.verification = verify_module(file, m_keys, rules, max_module_size);
  Verification& v = verdict.verification;
  if (!running || v.verdict != Verdict::unknown_key || !v.reference) {
    return verdict;
  }
  // The keyrings hold no public keys to check the signature with: the verdict is the kernel's
  // key lookup, after ksign's own checks of the module's structure.
  const RunningMatch match = find_running_signer(running->keys, *v.reference, running->platform.fallback, m_search);
  if (match.key_entry != nullptr) {
    v.signer = match.key_entry->subject;
    v.key_id = match.key_entry->key_id;
  }
  if (match.outcome == RunningOutcome::trusted) {
    v.verdict = Verdict::ok;
  }
  verdict.running = match;
  return verdict;
}

std::string running_release()
{
  struct utsname names {};
  return ::uname(&names) == 0 ? names.release : "unknown";
}

std::vector<KernelCertificate> running_known_certificates(const fs::path& moduledir, const fs::path& boot)
{
  std::vector<KernelCertificate> certificates = read_firmware_certificates();
  InstalledKernelTrust installed = read_installed_kernel_trust(moduledir, running_release(), boot);
  if (installed.trust) {
    std::ranges::move(installed.trust->certificates, std::back_inserter(certificates));
    if (installed.trust->revocation_certificates) {
      std::ranges::move(*installed.trust->revocation_certificates, std::back_inserter(certificates));
    }
  }
  return certificates;
}

PlatformFallbackProbe running_platform_fallback(const RunningKeys& keys, const fs::path& moduledir, const fs::path& boot)
{
  if (keys.find(SystemKeyring::platform) == nullptr) {
    PlatformFallbackProbe probe;
    probe.fallback = PlatformFallback::unused;
    probe.evidence = FallbackEvidence::no_platform_keyring;
    return probe;
  }
  const std::optional<std::string> banner = read_kernel_banner();
  return probe_installed_platform_fallback(moduledir, running_release(), boot, "/usr/lib/debug",
                                           banner ? std::optional<std::string_view>(*banner) : std::nullopt);
}

ImageKeyTrust installed_image_trusts(const fs::path& moduledir, std::string_view release, const fs::path& boot,
                                     const fs::path& certificate)
{
  ImageKeyTrust result;
  const InstalledKernelTrust installed = read_installed_kernel_trust(moduledir, release, boot);
  if (!installed.trust) {
    result.problem = installed.failures.empty() ? "no image found" : "no image could be read: " + installed.failures.back().reason;
    return result;
  }
  result.sources = installed.sources;
  result.method = installed.trust->method;
  try {
    result.trust = certificate_trust(*installed.trust, load_certificate_der(certificate));
  } catch (const Error& e) {
    result.problem = e.what();
  }
  return result;
}

} // namespace ksign::core
