#pragma once
// ExternalSecret + SecretSource -> the Secret it asks for, by ESO's rules
// (pkg/controllers/externalsecret in external-secrets; the references below are to that code):
//
//   1. dataFrom, in order, each merged over the previous (later keys win):
//        extract: the remote value (at `property`, when set) must be a JSON object; each member
//                 becomes a key, strings unquoted, other JSON as its raw text, null as "".
//        find:    every matching secret, keyed by its name ("shop/prod/db").
//      then `rewrite` (regexp with Go's $1 expansion, or a transform template over .value), in
//      order; only when there is no rewrite, conversionStrategy (Default: each character outside
//      letters, digits, '-', '.', '_' becomes '_', so "shop/prod/db" -> "shop_prod_db"; Unicode:
//      "_U002f_"); a collision after conversion is an error; empty keys are dropped; then
//      decodingStrategy on every value.
//   2. data, in order, each setting spec.data[i].secretKey (over dataFrom's keys): the remote value,
//      at `property` (a gjson path, with dotted keys tried first as one key), or the secret's tags
//      as a JSON object with metadataPolicy Fetch; then decodingStrategy.
//      A remote secret that does not exist fails the sync, unless deletionPolicy is Delete or Merge:
//      then that entry is skipped.
//   3. the template (engine v2): without one the Secret is the data above, with the
//      ExternalSecret's labels and annotations. With one: template.type; the data above only when
//      mergePolicy is Merge or template.data is empty; then each template.data value executed over
//      the data above (missing keys are errors); template.metadata labels and annotations executed
//      too.
//
// creationPolicy (Merge keeps the existing Secret's other keys) and deletionPolicy's removal of the
// Secret are the writer's job (sync.h); this only computes.
//
// Thread-safety: free functions; the sources are used from the calling thread only.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/secret_bytes.h"
#include "operator/external_secret.h"
#include "operator/source.h"

namespace arca::op {

struct DesiredSecret {
  std::map<std::string, SecretBytes> data;
  std::string type;  // template.type; empty: the Secret keeps its type (Opaque when created)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // Every data / dataFrom entry was skipped because its remote secret is gone (deletionPolicy
  // Delete or Merge): with Delete the writer removes the Secret.
  bool all_sources_gone = false;
  // Entries skipped that way, for the log: "spec.data[1]: secret shop/db not found".
  std::vector<std::string> skipped;
};

// The SecretSource that serves an entry: its sourceRef.storeRef when set, else (nullopt) the
// ExternalSecret's secretStoreRef.
using SourceResolver = std::function<Result<SecretSource*>(const std::optional<StoreRef>& store)>;

// Computes the Secret. Errors name the entry ("spec.data[2] (key shop/db): ..."); their codes:
// kNotFound for a missing secret, version or property, kInvalidParameter for data that cannot be
// mapped (bad JSON for extract, bad base64, invalid or colliding keys, a failing template), else the
// provider's (kAccessDenied, kUnavailable, ...).
Result<DesiredSecret> ComputeSecret(const ExternalSecret& es, const SourceResolver& sources);

// The pieces, exposed for tests and for the controller.

// decodingStrategy on one value ("illegal base64 data at input byte N" on failure).
Result<SecretBytes> DecodeValue(DecodingStrategy strategy, const SecretBytes& in);
// conversionStrategy on one key.
std::string ConvertKey(ConversionStrategy strategy, std::string_view key);
// The rewrite operations in order over a key -> value map (values untouched).
Result<std::map<std::string, SecretBytes>> RewriteKeys(const std::vector<Rewrite>& ops,
                                                       std::map<std::string, SecretBytes> in);

}  // namespace arca::op
