// SPDX-License-Identifier: MIT
#include "catch.hpp"

#include "cli/kernel_rows.hpp"
#include "util/error.hpp"
#include "util/json_writer.hpp"

#include <optional>
#include <string>

using namespace ksign;

namespace {

core::KernelKey keyed(std::string release)
{
  core::KernelKey kernel;
  kernel.release = std::move(release);
  kernel.key_id = "1fa2a31d";
  kernel.fingerprint = "7ed6687e";
  return kernel;
}

core::ImageKeyTrust image_trust(core::SignerTrust trust)
{
  core::ImageKeyTrust result;
  result.trust = trust;
  result.sources.image = "/lib/modules/6.12.1/build/vmlinux";
  result.method = core::TrustMethod::symbols;
  return result;
}

std::string row_json(const core::KernelKey& kernel, const std::optional<core::ImageKeyTrust>& trust, bool extra = false)
{
  util::JsonWriter json;
  json.begin_array(util::JsonWriter::Layout::flat);
  cli::kernel_row_json(json, kernel, trust, [&](util::JsonWriter& row) {
    if (extra) {
      row.object_int("key_age_seconds", 60);
    }
  });
  json.end();
  return json.text();
}

} // namespace

TEST_CASE("cli::kernel_row_text", "[kernel_rows]")
{
  CHECK(cli::kernel_row_text(keyed("6.12.1"), "ksign key 1fa2a31d, 1d old", image_trust(core::SignerTrust::trusted))
        == "  6.12.1                           ksign key 1fa2a31d, 1d old; trusted by its image (vmlinux, symbols)");
  CHECK(cli::kernel_row_text(keyed("6.12.1"), "the current key", image_trust(core::SignerTrust::unknown))
        == "  6.12.1                           the current key; NOT trusted by its image (vmlinux, symbols): its "
           "modules signed with it would be refused");
  core::ImageKeyTrust no_image;
  no_image.problem = "no image found";
  CHECK(cli::kernel_row_text(keyed("6.12.1"), "k", no_image)
        == "  6.12.1                           k; cannot tell whether the kernel trusts it (no image found)");

  core::KernelKey bare;
  bare.release = "6.12.2";
  CHECK(cli::kernel_row_text(bare, "", std::nullopt) == "  6.12.2                           no ksign key");
  core::KernelKey unreadable = bare;
  unreadable.unreadable = Error(Errc::permission, "cannot read 'certs-local'");
  CHECK(cli::kernel_row_text(unreadable, "", std::nullopt)
        == "  6.12.2                           cannot read 'certs-local': only root can (run with sudo)");

  // A release (a directory name) is escaped before it is padded: no control character of its own.
  core::KernelKey hostile = bare;
  hostile.release = "6.1-\033]0;x\007\nverdict: ok";
  CHECK(cli::kernel_row_text(hostile, "", std::nullopt) == "  6.1-\\x1b]0;x\\x07\\nverdict: ok    no ksign key");
}

TEST_CASE("cli::kernel_row_json", "[kernel_rows]")
{
  CHECK(row_json(keyed("6.12.1"), image_trust(core::SignerTrust::trusted), true)
        == "[{\"release\": \"6.12.1\", \"has_ksign_key\": true, \"key_id\": \"1fa2a31d\", \"key_age_seconds\": 60, "
           "\"image_trusts_key\": \"trusted\", \"image\": \"/lib/modules/6.12.1/build/vmlinux\", \"method\": \"symbols\"}]");
  core::ImageKeyTrust no_image;
  no_image.problem = "no image found";
  CHECK(row_json(keyed("6.12.1"), no_image)
        == "[{\"release\": \"6.12.1\", \"has_ksign_key\": true, \"key_id\": \"1fa2a31d\", \"image_trusts_key\": null, "
           "\"problem\": \"no image found\"}]");
  core::KernelKey unreadable;
  unreadable.release = "6.12\0332";
  unreadable.unreadable = Error(Errc::permission, "cannot read 'x'");
  CHECK(row_json(unreadable, std::nullopt, true)
        == "[{\"release\": \"6.12\\u001b2\", \"has_ksign_key\": false, "
           "\"problem\": \"cannot read 'x': only root can (run with sudo)\"}]");
}
