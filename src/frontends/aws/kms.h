#pragma once
// The KMS front-end (AWS JSON 1.1, X-Amz-Target "TrentService.<Operation>", SigV4 service "kms"):
// decodes the operations of the 2014-11-01 API into kms/types.h, calls kms::KmsService, and encodes
// the outputs with the API's member names. Translation only: every rule lives in the domain.
//
// Blobs (CiphertextBlob, Plaintext) are base64 on the wire. A request's Plaintext is taken out of
// the parsed request into SecretBytes and the parsed copy wiped and removed, so the audit record's
// requestParameters never hold it; ciphertext blobs are removed too (CloudTrail does not show them).
// Plaintexts in responses are encoded straight into the response buffer and the base64 text wiped.
// Operations without output answer 200 with an empty body, as KMS does.
//
// Thread-safety: Invoke may be called concurrently (the service is thread-safe; nothing here mutates).

#include <string_view>

#include "frontends/aws/json_protocol.h"
#include "kms/service.h"

namespace arca::frontends::aws {

class KmsFrontend final : public JsonService {
 public:
  explicit KmsFrontend(kms::KmsService& service);

  std::string_view target_prefix() const override { return "TrentService"; }
  std::string_view signing_name() const override { return "kms"; }
  std::string_view coral_namespace() const override { return "com.amazonaws.kms"; }
  bool HasOperation(std::string_view operation) const override;
  Result<std::string> Invoke(const OperationContext& ctx, boost::json::object& input) override;

 private:
  kms::KmsService& service_;
};

}  // namespace arca::frontends::aws
