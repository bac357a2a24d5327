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

int run_install(cli::Invocation& invocation)
{
  const fs::path destination = invocation.operands.front();
  const fs::path copied = core::install_current_key(invocation.key_store, destination);
  invocation.out.detail("installed {} as {}", util::quote(copied), util::quote(destination / core::k_current_link));
  return cli::exit_success;
}

} // namespace

const Command cmd_install = {
  .name = "install",
  .summary = "copy the current key into a kernel headers package",
  .description = "Copy the current key directory and the 'current' link of a key store into DEST,\n"
                 "creating DEST and keeping file modes, e.g. in a PKGBUILD's _package-headers():\n"
                 "  ksign install \"$builddir/certs-local\"",
  .operands = "<dest>",
  .min_operands = 1,
  .max_operands = 1,
  .takes_key_store = true,
  .verbose_help = "name what is copied",
  .run = run_install,
};

} // namespace ksign::cmd
