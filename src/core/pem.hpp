// SPDX-License-Identifier: MIT
#pragma once

#include "util/bytes.hpp"

#include <string>
#include <string_view>
#include <vector>

// PEM files as blocks of DER: key files, certificates and bundles of either.
namespace ksign::core {

// One block of a PEM file: its label ("PRIVATE KEY", "CERTIFICATE", ...) and its DER body.
struct PemBlock
{
  std::string label;
  bool encrypted = false; // legacy "Proc-Type: 4,ENCRYPTED" headers
  Bytes der;
};

// Every PEM block in `data`, in order; text around and between blocks is skipped.
[[nodiscard]] std::vector<PemBlock> read_pem_blocks(ByteView data);

// "CERTIFICATE", "X509 CERTIFICATE" or "TRUSTED CERTIFICATE": a block holding a certificate.
[[nodiscard]] bool is_certificate_label(std::string_view label);

// "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", ...: a block holding a private key.
[[nodiscard]] bool is_private_key_label(std::string_view label);

} // namespace ksign::core
