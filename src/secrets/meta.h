#pragma once
// SecretMeta: the domain's view of a secret's metadata, stored in store::SecretRow::meta as JSON.
// Metadata is not secret (ARCHITECTURE.md: "stored in clear"); values never go here.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "secrets/types.h"

namespace arca::secrets {

struct ReplicaMeta {
  std::string region;
  std::optional<std::string> kms_key_id;
  std::string status = "InSync";
  std::string status_message = "Replication succeeded";
};

// The rotation being run now (persisted so a restarted server resumes it). Never holds a value.
struct RotationInProgress {
  std::string token;                 // ClientRequestToken: the new version's id
  std::string step = "createSecret";  // the next step to run: createSecret|setSecret|testSecret|finishSecret
  std::int64_t started_ms = 0;
  std::int64_t attempts = 0;         // failures of the current step so far
  std::int64_t next_attempt_ms = 0;  // not retried before this instant
  std::optional<std::string> last_error;  // the last failure's message (never a value)
  std::optional<std::string> lease_owner;  // the engine running it, until lease_expires_ms
  std::int64_t lease_expires_ms = 0;
};

struct RotationMeta {
  bool enabled = false;
  std::optional<std::string> lambda_arn;
  std::optional<RotationRules> rules;
  std::vector<ExternalRotationMetadataItem> external_metadata;
  std::optional<std::string> role_arn;
  std::optional<std::int64_t> last_rotated_ms;
  std::optional<RotationInProgress> in_progress;
};

struct SecretMeta {
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;
  std::optional<std::string> type;
  std::optional<std::string> owning_service;
  std::vector<Tag> tags;
  std::int64_t last_changed_ms = 0;
  std::optional<std::int64_t> last_accessed_ms;  // midnight UTC of the last read day
  RotationMeta rotation;
  std::optional<std::string> resource_policy;
  // Set on a replica: the region of its primary. A replica is read-only.
  std::optional<std::string> primary_region;
  // Set on a primary: its replicas.
  std::vector<ReplicaMeta> replicas;

  std::string ToJson() const;
  // kInternal if the stored document is corrupt.
  static Result<SecretMeta> FromJson(const std::string& text);
};

}  // namespace arca::secrets
