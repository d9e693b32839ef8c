#pragma once
// `arca server rekey`: re-wrapping every data key with the current master key version.
//
// Thread-safety: RewrapAll may run while a server uses the same store; each batch is one short write
// transaction and every row is read again inside it, so concurrent changes are not lost.

#include <cstddef>
#include <cstdint>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/store.h"

namespace arca::server {

struct RekeyCounts {
  std::int64_t versions = 0;     // secret versions re-wrapped
  std::int64_t access_keys = 0;  // access keys re-wrapped
  std::int64_t kms_materials = 0;  // KMS key material versions re-wrapped
  std::int64_t failed = 0;       // rows whose data key could not be unwrapped (logged, left as they were)
};

// Re-wraps every secret version (aad: secrets::ValueAad), every access key (aad: its id) and every KMS
// key's material (kms::KmsService::RewrapMaterials) not yet wrapped with keyring.current_version().
// Versions under a KMS key are left alone: their data keys are wrapped by that key's material.
// Secret versions and access keys go `batch_size` rows per write transaction. A
// store error stops the walk (what was committed stays; running it again finishes the job).
Result<RekeyCounts> RewrapAll(store::Store& store, const crypto::Keyring& keyring,
                              std::size_t batch_size = 100);

}  // namespace arca::server
