// SPDX-License-Identifier: MIT
#include "core/oids.hpp"

#include "core/der.hpp"
#include "util/openssl.hpp"
#include "util/strings.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <memory>

namespace ksign::core {

namespace {

constexpr std::size_t k_max_oid_text = 64;

} // namespace

std::string oid_text(ByteView oid, OidSpelling spelling)
{
  Bytes encoding;
  der::append_tlv(encoding, der::k_oid, oid);
  const unsigned char* cursor = encoding.data();
  const std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT_free>> object(
    d2i_ASN1_OBJECT(nullptr, &cursor, static_cast<long>(encoding.size())));
  char text[128] = {};
  const int length =
    object ? OBJ_obj2txt(text, sizeof text, object.get(), spelling == OidSpelling::dotted ? 1 : 0) : 0;
  if (length <= 0) {
    (void)drain_openssl_errors();
    return "(unreadable OID)";
  }
  // OBJ_obj2txt answers the whole length even when it wrote less.
  const auto written = std::min(static_cast<std::size_t>(length), sizeof text - 1);
  return util::shorten(std::string_view(text, written), k_max_oid_text);
}

} // namespace ksign::core
