// SPDX-License-Identifier: MIT
// `ksign sign-file`, also run through a link named `sign-file`: the kernel's
// scripts/sign-file command line, for DKMS (sign_file=) and the kernel's Makefile.
//   sign-file [-dpk] <hash algo> <key> <x509> <module> [<dest>]
//   sign-file -s <raw sig> <hash algo> <x509> <module> [<dest>]
// Differences, on purpose: an existing signature is replaced rather than stacked, and a
// compressed module is signed inside its compression instead of being corrupted.

#include "cli/key_options.hpp"
#include "cli/modules.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "core/certificate.hpp"
#include "core/module_signer.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <fmt/core.h>

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <vector>

namespace ksign::cmd {

namespace {

constexpr const char* k_usage =
  "usage: sign-file [-dpk] <hash algo> <key> <x509> <module> [<dest>]\n"
  "       sign-file -s <raw sig> <hash algo> <x509> <module> [<dest>]\n"
  "  (also: ksign sign-file ...)\n"
  "\n"
  "The kernel's scripts/sign-file, built into ksign: sign <module> in place, or into <dest>.\n"
  "  -d  write the signature to <module>.p7s only; leave the module alone\n"
  "  -p  also write the signature to <module>.p7s\n"
  "  -k  name the signer by subjectKeyIdentifier instead of issuer and serial\n"
  "  -s  append the ready-made DER PKCS#7 signature in <raw sig> (no key needed)\n"
  "<key> is a PEM private key (KBUILD_SIGN_PIN unlocks an encrypted one) or a pkcs11: URI\n"
  "(PIN: the URI's pin-value or KBUILD_SIGN_PIN); <x509> is DER or PEM, or a pkcs11: URI.\n"
  "Exit status: 0 signed, 1 error, 2 usage.\n";

struct SignFileArgs
{
  bool detached_only = false; // -d
  bool save_p7s = false;      // -p
  bool key_id = false;        // -k
  std::optional<std::string> raw_signature; // -s
  std::vector<std::string> positional;
};

SignFileArgs parse_arguments(std::span<const std::string> args)
{
  SignFileArgs parsed;
  std::size_t i = 1;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      break;
    }
    for (std::size_t j = 1; j < arg.size(); ++j) {
      switch (arg[j]) {
      case 'd':
        parsed.detached_only = true;
        parsed.save_p7s = true;
        break;
      case 'p':
        parsed.save_p7s = true;
        break;
      case 'k':
        parsed.key_id = true;
        break;
      case 's':
        // getopt style: the value is the rest of this word or the next word.
        if (j + 1 < arg.size()) {
          parsed.raw_signature = arg.substr(j + 1);
        } else if (i + 1 < args.size()) {
          parsed.raw_signature = args[++i];
        } else {
          throw Error(Errc::usage, "-s needs a signature file");
        }
        j = arg.size();
        break;
      default:
        throw Error(Errc::usage, fmt::format("unknown option '-{}'", arg[j]));
      }
    }
  }
  parsed.positional.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  const std::size_t wanted = parsed.raw_signature ? 3 : 4;
  if (parsed.positional.size() != wanted && parsed.positional.size() != wanted + 1) {
    throw Error(Errc::usage, "wrong number of arguments");
  }
  return parsed;
}

void write_p7s(const std::filesystem::path& module, ByteView cms)
{
  util::replace_file_atomically(module.string() + ".p7s", cms);
}

// The kernel's sign-file writes a new file as whoever runs it; ksign keeps the module's owner
// and group when it can, and otherwise signs anyway and says so.
void warn_if_owner_lost(const std::filesystem::path& dest, const core::SignOutcome& outcome)
{
  if (!outcome.owner_kept) {
    cli::Output("sign-file").warning("cannot keep the owner and group of {}: signed, now owned by you",
                                     util::quote(dest));
  }
}

int run_sign_file(std::span<const std::string> args)
{
  for (const std::string& arg : args.subspan(1)) {
    if (arg == "-h" || arg == "--help") {
      fmt::print("{}", k_usage);
      return cli::exit_success;
    }
  }
  SignFileArgs parsed;
  try {
    parsed = parse_arguments(args);
  } catch (const Error& e) {
    fmt::print(stderr, "ksign sign-file: error: {}\n{}", e.what(), k_usage);
    return cli::exit_usage;
  }
  const std::vector<std::string>& pos = parsed.positional;

  // Errors name the module, as the kernel's sign-file does.
  const auto for_module = [](const std::filesystem::path& module, auto&& work) {
    try {
      return work();
    } catch (const Error& e) {
      throw Error(e.code(), cli::about_module(module, e.what()));
    } catch (const std::exception& e) {
      throw Error(Errc::failure, cli::about_module(module, exception_text(e)));
    }
  };

  if (parsed.raw_signature) {
    // -s <raw sig> <hash> <x509> <module> [<dest>]: append a signature made elsewhere.
    const std::filesystem::path module = pos[2];
    const std::filesystem::path dest = pos.size() > 3 ? pos[3] : pos[2];
    const Bytes cms = util::read_file(*parsed.raw_signature, util::k_small_file_limit);
    core::SignSettings settings;
    settings.owner_best_effort = true;
    settings.max_module_size = cli::max_module_size();
    warn_if_owner_lost(dest,
                       for_module(module, [&] { return core::append_signature_file(module, dest, cms, settings); }));
    return cli::exit_success;
  }

  const std::string& hash_name = pos[0];
  const std::string& key_file = pos[1];
  const std::filesystem::path cert_file = pos[2];
  const std::filesystem::path module = pos[3];
  const std::filesystem::path dest = pos.size() > 4 ? pos[4] : pos[3];
  core::SignSettings settings;
  settings.max_module_size = cli::max_module_size();
  settings.hash = cli::chosen_hash(hash_name, std::nullopt, "<hash algo>");
  settings.owner_best_effort = true;
  settings.signer_id = parsed.key_id ? core::SignerIdKind::subject_key_id : core::SignerIdKind::issuer_and_serial;
  // Only a warning here: DKMS's own mok.key is not always 0600, and Kbuild calls us unattended.
  cli::Output out("sign-file");
  cli::guard_private_key(key_file, false, true, out);
  auto key = std::make_shared<core::SigningKey>(core::load_signing_key(key_file, cert_file, cli::key_passphrase()));
  if (parsed.key_id && !core::has_subject_key_id(key->certificate)) {
    throw Error(Errc::failure, "-k: " + std::string(core::k_no_subject_key_id));
  }
  const core::ModuleSigner signer(std::move(key), settings);

  if (parsed.detached_only) {
    write_p7s(module, for_module(module, [&] { return signer.detached_signature(module); }));
    return cli::exit_success;
  }
  struct stat st {};
  if (dest == module && ::stat(module.c_str(), &st) == 0 && st.st_nlink > 1) {
    // The kernel's sign-file splits them too; ksign sign keeps them together.
    out.warning("{} has {} names (hard links): as with the kernel's sign-file, only this one gets the signed "
                "module ('ksign sign' with every name keeps them one file)",
                util::quote(module), st.st_nlink);
  }
  const core::SignOutcome outcome = for_module(module, [&] { return signer.sign_file(module, dest); });
  warn_if_owner_lost(dest, outcome);
  if (parsed.save_p7s) {
    write_p7s(module, outcome.cms);
  }
  return cli::exit_success;
}

} // namespace

const Command cmd_sign_file = {
  .name = "sign-file",
  .summary = "the kernel's scripts/sign-file interface, for DKMS and Kbuild",
  .run_own_argv = run_sign_file,
};

} // namespace ksign::cmd
