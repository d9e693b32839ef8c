#pragma once
// KeyMeta: what the KMS domain keeps about a key in store::KmsKeyRow::meta (a JSON document):
// state, description, manager, policy, tags, rotation schedule and history, deletion schedule.
//
// Thread-safety: a value type.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "kms/types.h"

namespace arca::kms {

inline constexpr std::string_view kStateEnabled = "Enabled";
inline constexpr std::string_view kStateDisabled = "Disabled";
inline constexpr std::string_view kStatePendingDeletion = "PendingDeletion";

// One rotation: the material version it made, how and when.
struct RotationRecord {
  std::int64_t version = 0;
  std::string type;  // AUTOMATIC | ON_DEMAND
  std::int64_t at_ms = 0;
};

struct KeyMeta {
  std::string state = std::string(kStateEnabled);
  std::string description;
  bool aws_managed = false;  // KeyManager AWS
  std::string policy;
  std::vector<Tag> tags;  // in the order they were first set
  // Automatic rotation. `rotation_anchor_ms` is when the schedule was enabled or last rotated;
  // the next automatic rotation is anchor + period.
  bool rotation_enabled = false;
  std::int64_t rotation_period_days = 365;
  std::int64_t rotation_anchor_ms = 0;
  std::int64_t current_version = 1;
  std::vector<RotationRecord> rotations;
  // Scheduled deletion (state PendingDeletion).
  std::optional<std::int64_t> deletion_ms;
  std::optional<std::int64_t> pending_window_days;

  std::string ToJson() const;
  // kInternal when the stored document is not one this version wrote.
  static Result<KeyMeta> FromJson(std::string_view json);

  std::int64_t NextRotationMs() const;
  int OnDemandRotations() const;
};

}  // namespace arca::kms
