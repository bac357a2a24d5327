// SPDX-License-Identifier: MIT
// `ksign install`: copy the current key into a kernel headers package (build/certs-local), the
// way kernel-sign's install-certs.py did, without rsync and without root.

#include "cli/key_options.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cmd/commands.hpp"
#include "core/keystore.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

#include <fmt/core.h>


namespace ksign::cmd {

namespace {

namespace fs = std::filesystem;

cxxopts::Options install_options()
{
  cxxopts::Options options("ksign install",
                           "Copy the current key directory and the 'current' link of a key store into DEST,\n"
                           "creating DEST and keeping file modes, e.g. in a PKGBUILD's _package-headers():\n"
                           "  ksign install \"$builddir/certs-local\"");
  options.custom_help("[options]");
  options.positional_help("<dest>");
  options.add_options()
    ("d,dir", "key store (default: $KSIGN_DIR, else ./certs-local)", cxxopts::value<std::string>(), "DIR")
    ("v,verbose", "name what is copied")
    ("q,quiet", "print errors only")
    ("h,help", "show this help")
    ("dest", "", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"dest"});
  return options;
}

int run_install(std::span<const std::string> args)
{
  cxxopts::Options options = install_options();
  const cxxopts::ParseResult result = cli::parse_options(options, args);
  if (cli::print_help_if_asked(result, options)) {
    return cli::exit_success;
  }
  cli::Output out("install");
  out.set_verbosity(cli::verbosity(result));
  if (result.count("dest") != 1 || result["dest"].as<std::vector<std::string>>().size() != 1) {
    throw Error(Errc::usage, "give exactly one destination directory");
  }
  const fs::path store = cli::key_store_directory(result);
  const fs::path destination = result["dest"].as<std::vector<std::string>>().front();
  const fs::path copied = core::install_current_key(store, destination);
  out.detail("installed {} as {}", util::quote(copied), util::quote(destination / core::k_current_link));
  return cli::exit_success;
}

} // namespace

const Command cmd_install = {"install", "copy the current key into a kernel headers package", run_install};

} // namespace ksign::cmd
