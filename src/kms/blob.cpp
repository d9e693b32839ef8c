#include "kms/blob.h"

#include <algorithm>
#include <optional>

#include "core/ids.h"
#include "crypto/aead.h"
#include "crypto/hash.h"

namespace arca::kms {

namespace {

constexpr char kMagic0 = 'a';
constexpr char kMagic1 = 'k';
constexpr std::uint8_t kFormat = 1;
constexpr std::size_t kFixedHeader = 24;  // magic, format, key id, version, region length
constexpr std::size_t kMaxRegion = 63;

Error NotOurs(std::string detail) {
  return Error(Code::kDecryptionFailure, "", std::move(detail))
      .WithWireType("InvalidCiphertextException");
}

void AppendU32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

std::uint32_t ReadU32(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

void AppendLengthPrefixed(std::string& out, std::string_view s) {
  AppendU32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

bool ValidRegion(std::string_view r) {
  if (r.empty() || r.size() > kMaxRegion) return false;
  return std::all_of(r.begin(), r.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string FormatUuid(std::string_view bytes16) {
  std::string hex = crypto::HexEncode(bytes16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

Result<std::string> EncodeBlobHeader(const BlobHeader& header) {
  if (!LooksLikeUuid(header.key_id)) {
    return Error(Code::kInternal, "internal", "KMS key id is not a UUID: " + header.key_id);
  }
  if (!ValidRegion(header.region)) {
    return Error(Code::kInternal, "internal", "region cannot be put in a KMS blob: " + header.region);
  }
  std::string hex;
  for (char c : header.key_id) {
    if (c != '-') hex.push_back(c);
  }
  std::optional<std::string> id = crypto::HexDecode(hex);
  if (!id || id->size() != 16) {
    return Error(Code::kInternal, "internal", "KMS key id is not a UUID: " + header.key_id);
  }
  std::string out;
  out.reserve(kFixedHeader + header.region.size());
  out.push_back(kMagic0);
  out.push_back(kMagic1);
  out.push_back(static_cast<char>(kFormat));
  out.append(*id);
  AppendU32(out, header.material_version);
  out.push_back(static_cast<char>(header.region.size()));
  out.append(header.region);
  return out;
}

Result<ParsedBlob> ParseBlob(std::string_view blob) {
  if (blob.size() < kFixedHeader) return NotOurs("blob shorter than the header");
  if (blob[0] != kMagic0 || blob[1] != kMagic1 || static_cast<std::uint8_t>(blob[2]) != kFormat) {
    return NotOurs("blob has no Arca KMS header");
  }
  ParsedBlob out;
  out.header.key_id = FormatUuid(blob.substr(3, 16));
  out.header.material_version = ReadU32(blob.substr(19, 4));
  const std::size_t region_len = static_cast<unsigned char>(blob[23]);
  if (region_len == 0 || region_len > kMaxRegion || blob.size() < kFixedHeader + region_len) {
    return NotOurs("blob header has a bad region");
  }
  out.header.region = std::string(blob.substr(kFixedHeader, region_len));
  if (!ValidRegion(out.header.region) || out.header.material_version == 0) {
    return NotOurs("blob header is malformed");
  }
  out.header_bytes = blob.substr(0, kFixedHeader + region_len);
  out.sealed = blob.substr(kFixedHeader + region_len);
  if (out.sealed.size() < crypto::kAeadNonceSize + crypto::kAeadTagSize) {
    return NotOurs("blob is truncated");
  }
  return out;
}

std::string CanonicalEncryptionContext(const EncryptionContext& ec) {
  EncryptionContext sorted = ec;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  AppendU32(out, static_cast<std::uint32_t>(sorted.size()));
  for (const auto& [k, v] : sorted) {
    AppendLengthPrefixed(out, k);
    AppendLengthPrefixed(out, v);
  }
  return out;
}

std::string BlobAad(std::string_view header_bytes, std::string_view key_arn,
                    const EncryptionContext& ec) {
  std::string aad("arca-kms-blob-v1");
  aad.push_back('\0');
  aad.append(header_bytes);
  AppendLengthPrefixed(aad, key_arn);
  aad.append(CanonicalEncryptionContext(ec));
  return aad;
}

}  // namespace arca::kms
