#pragma once
// The ciphertext blob: what Encrypt, GenerateDataKey and ReEncrypt return as CiphertextBlob and
// what Decrypt accepts. Opaque to clients; this is its layout (all integers big-endian):
//
//   offset  size  field
//   0       2     magic "ak"
//   2       1     format version (1)
//   3       16    key id (the UUID's 16 bytes)
//   19      4     material version (1 = the key's first material, +1 per rotation)
//   23      1     R = length of the region name (1..63)
//   24      R     region name (ASCII), e.g. "us-east-1"
//   24+R    12    AES-GCM nonce (random)
//   36+R    N     ciphertext (N = plaintext length)
//   end     16    AES-GCM tag
//
// The ciphertext is AES-256-GCM under the 32-byte material of (key, version) with
//   AAD = "arca-kms-blob-v1" 0x00 || header bytes [0, 24+R) || u32 len(key ARN) || key ARN ||
//         canonical encryption context
// where the canonical encryption context is u32 count, then each pair sorted by (key, value)
// byte-wise as u32 len(key) || key || u32 len(value) || value. So a blob opens only with the key
// and material it names, in the region and account of the ARN, and with exactly the same encryption
// context (as a map: order does not matter, every pair counts). Overhead: 52 bytes + the region.
//
// The header names the key and material version without decrypting: Decrypt needs no KeyId, and
// KeyArnOfBlob answers from the header alone.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "kms/types.h"

namespace arca::kms {

struct BlobHeader {
  std::string key_id;  // UUID text, lower case
  std::uint32_t material_version = 0;
  std::string region;
};

// A parsed blob: its header, the header's bytes (for the AAD) and the sealed part (nonce || ct ||
// tag). The views point into the blob given to ParseBlob.
struct ParsedBlob {
  BlobHeader header;
  std::string_view header_bytes;
  std::string_view sealed;
};

// The header's bytes; kInternal when the key id is not a UUID or the region is unusable.
Result<std::string> EncodeBlobHeader(const BlobHeader& header);
// InvalidCiphertextException (kDecryptionFailure) when `blob` is not in this format.
Result<ParsedBlob> ParseBlob(std::string_view blob);
// The canonical encoding of an encryption context (see above).
std::string CanonicalEncryptionContext(const EncryptionContext& ec);
// The AAD of a blob.
std::string BlobAad(std::string_view header_bytes, std::string_view key_arn,
                    const EncryptionContext& ec);

}  // namespace arca::kms
