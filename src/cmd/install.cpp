// SPDX-License-Identifier: MIT
// `ksign install`: copy the current key into a kernel headers package (build/certs-local), the
// way kernel-sign's install-certs.py did, without rsync and without root. With --public only the
// certificates go into the package; the private key stays in the key store, found through a
// link named after its key id (core::register_key_directory).

#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/kconfig.hpp"
#include "core/key_directory.hpp"
#include "core/keys.hpp"
#include "core/key_install.hpp"
#include "core/keystore.hpp"
#include "core/keystore_write.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <fmt/core.h>


namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

// The command line of `ksign install` (besides the key store), declared by add_install_options
// and read by read_install_options only.
struct InstallOptions
{
  std::optional<fs::path> config;   // --config
  bool allow_untrusted_key = false; // --allow-untrusted-key
  bool public_only = false;         // --public
  std::optional<fs::path> registry; // --register
  bool allow_loose_key = false;     // --allow-loose-key
};

void add_install_options(cxxopts::Options& options)
{
  options.add_options()
    ("config", "the kernel config whose CONFIG_SYSTEM_TRUSTED_KEYS must hold the key (default: ./.config when present)",
     cxxopts::value<std::string>(), "FILE")
    ("allow-untrusted-key", "install the key even when the config does not trust it")
    ("public", "install the certificates only; the private key stays in the key store, found through "
               "a link named after its key id (see --register)")
    ("register", "with --public: put that link in DIR (default: $KSIGN_CONFIG_DIR/keys.d, else "
                 "/etc/ksign/keys.d; in a PKGBUILD: \"$pkgdir/etc/ksign/keys.d\")",
     cxxopts::value<std::string>(), "DIR");
  cli::KeyOptions::declare(options, cli::KeyOptions::Set::loose_key);
}

InstallOptions read_install_options(const cxxopts::ParseResult& result)
{
  InstallOptions options;
  if (const auto config = cli::optional_string(result, "config")) {
    options.config = *config;
  }
  options.allow_untrusted_key = cli::given(result, "allow-untrusted-key");
  options.public_only = cli::given(result, "public");
  if (const auto registry = cli::optional_string(result, "register")) {
    options.registry = *registry;
  }
  options.allow_loose_key = cli::KeyOptions::read(result, cli::KeyOptions::Set::loose_key).allow_loose_key;
  return options;
}

// A headers package whose key the kernel does not trust signs modules that kernel refuses:
// stop here, where the mismatch is made, unless told otherwise.
void require_trusted_by_config(cli::Invocation& invocation, const InstallOptions& options)
{
  std::optional<fs::path> config_path = options.config;
  if (std::error_code ec; !config_path && fs::is_regular_file(".config", ec)) {
    config_path = ".config";
  }
  if (!config_path) {
    invocation.out.detail("no ./.config: not checking which key the kernel trusts");
    return;
  }
  const core::KernelConfig config = core::KernelConfig::read(*config_path);
  const core::KeyFiles key = core::current_key_files(invocation.key_store);
  const core::TrustedKeysCheck trusted = core::check_trusted_keys(config, core::key_directory_certificate(key));
  const std::string option(core::k_trusted_keys_option);
  std::string problem;
  switch (trusted.state) {
  case core::TrustedKeysCheck::State::held:
    return;
  case core::TrustedKeysCheck::State::unreadable:
    throw *trusted.error;
  case core::TrustedKeysCheck::State::not_set:
    problem = util::quote(*config_path) + " sets no " + option;
    break;
  case core::TrustedKeysCheck::State::missing:
    problem = util::quote(*config_path) + "'s " + option + " names " + util::quote(trusted.file) + ", which does not exist";
    break;
  case core::TrustedKeysCheck::State::not_held:
    problem = util::quote(*config_path) + " trusts " + util::quote(trusted.file) + " (" + option
              + "), which does not hold the key being installed";
    break;
  }
  problem += ": the kernel built from it would refuse modules signed with " + util::quote(key.directory);
  if (options.allow_untrusted_key) {
    invocation.out.warning("{} (installing anyway: --allow-untrusted-key)", problem);
    return;
  }
  throw Error(Errc::failure, problem + "; run 'ksign config " + config_path->string()
                               + "' and rebuild, or give --allow-untrusted-key");
}

int run_install(cli::Invocation& invocation)
{
  const InstallOptions options = read_install_options(invocation.options);
  const bool public_only = options.public_only;
  if (options.registry && !public_only) {
    throw Error(Errc::usage, "--register goes with --public");
  }
  const fs::path destination = invocation.operands.front();
  require_trusted_by_config(invocation, options);
  cli::guard_key_directory(invocation.key_store, options.allow_loose_key, invocation.out);
  const core::KeyFiles files = core::current_key_files(invocation.key_store);
  for (const std::string_view name : core::k_private_key_names) {
    cli::guard_private_key(files.directory / name, options.allow_loose_key, false, invocation.out);
  }
  // A headers package whose private key does not fit its certificate signs modules the kernel
  // refuses: refuse it here.
  core::check_key_directory(files, cli::key_passphrase());
  // A destination that is a link is replaced by a directory, never written through: nothing
  // is tidied through it either, and the log says what became of it.
  std::error_code ec;
  const bool destination_is_link = fs::is_symlink(fs::symlink_status(destination, ec));
  const fs::path link_target = destination_is_link ? fs::read_symlink(destination, ec) : fs::path();
  if (!destination_is_link) {
    for (const fs::path& removed : core::remove_unfinished_entries(destination, false)) {
      invocation.out.info("removed {}, left unfinished by an interrupted run", util::quote(removed));
    }
  }
  const fs::path copied = core::install_current_key(
    files, destination, public_only ? core::InstallWhat::certificates : core::InstallWhat::everything);
  invocation.out.detail("installed {} as {}", util::quote(copied), util::quote(destination / core::k_current_link));
  if (destination_is_link) {
    invocation.out.info("{} was a link to {}: replaced it by a directory (the link's target is unchanged)",
                        util::quote(destination), util::quote(link_target));
  }
  // One line for the package build's log: which key went into the headers, and its private key or not.
  const X509Ptr certificate =
    core::parse_certificate(core::key_directory_certificate(files), "the certificate " + util::quote(files.certificate));
  const std::string key_id = core::key_link_name(certificate.get());
  const std::string fingerprint = core::fingerprint_sha256(certificate.get());
  if (public_only) {
    const fs::path registry = options.registry.value_or(invocation.paths.key_registry());
    const fs::path link = core::register_key_directory(registry, files);
    invocation.out.info("installed key id {} (sha256 {}) from {} into {}: certificates only, the private key "
                        "stays in the key store ({} -> {})",
                        key_id, fingerprint, util::quote(files.directory), util::quote(destination), util::quote(link),
                        util::quote(fs::read_symlink(link)));
  } else {
    invocation.out.info("installed key id {} (sha256 {}) from {} into {}: private key included ({})", key_id,
                        fingerprint, util::quote(files.directory), util::quote(destination),
                        util::quote(copied / files.key.filename()));
  }
  return cli::exit_success;
}

} // namespace

const Command cmd_install = {
  .name = "install",
  .summary = "copy the current key into a kernel headers package",
  .description = "Copy the current key directory and the 'current' link of a key store into DEST,\n"
                 "creating DEST (0755), e.g. in a PKGBUILD's _package-headers():\n"
                 "  ksign install \"$builddir/certs-local\"\n"
                 "Certificates and the key directory are readable by everyone (verify needs them),\n"
                 "private keys stay 0600. Refuses when ./.config (or --config) does not trust the key.\n"
                 "With --public only the certificates are copied, and a link named after the key id\n"
                 "tells 'ksign sign --kernel' and DKMS where the private key is:\n"
                 "  ksign install --public \"$builddir/certs-local\" --register \"$pkgdir/etc/ksign/keys.d\"",
  .operands = "<dest>",
  .min_operands = 1,
  .max_operands = 1,
  .takes_key_store = true,
  .verbose_help = "name what is copied",
  .add_options = add_install_options,
  .run = run_install,
};

} // namespace ksign::cmd
