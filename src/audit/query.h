#pragma once
// CloudTrail's LookupEvents over the audit log's files: newest first (in log order, which is the
// order the records were made durable), filtered by one lookup attribute and a time range, in pages
// of at most 50. Digest and recovery lines are not events.
//
// Lookup attributes (botocore's LookupAttributeKey): EventId, EventName, ReadOnly ("true"/"false"),
// Username (userIdentity.userName for IAM users, the session name for role sessions, "root" for the
// account root), ResourceType and ResourceName (a resources[] entry: its type; its ARN, or the
// resource id inside the ARN, or for a secret its name without the random suffix), EventSource and
// AccessKeyId. Values compare exactly.
//
// CloudTrailEvent holds the CloudTrail record as written, WITHOUT the log's chain members
// (arcaSequence, arcaPreviousHash): it is CloudTrail's record shape, nothing more.
//
// With StartTime the scan stops at the first record more than 5 minutes older than StartTime: the
// log is in eventTime order up to the few milliseconds a record waits for its batch (a wall clock
// stepped back by more than that can hide older-looking records from such a lookup).
//
// Several chains (PostgreSQL: one per server replica) are merged by eventTime, newest first; each
// chain keeps its own log order.
//
// NextToken is opaque and stable: it names, for every chain, the position in the log where the
// next page starts (files are append-only, so new records never shift it; a chain begun after the
// first page is not part of the lookup) and a hash of the request's filters; a token used with
// other filters, or that does not point at line boundaries, is kInvalidNextToken.
//
// Thread-safety: LookupEvents may be called concurrently and while the Log appends (a line still
// being written is not yet seen).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/result.h"

namespace arca::audit {

class Storage;

inline constexpr int kLookupMaxResults = 50;

struct LookupAttribute {
  std::string key;  // one of the keys above
  std::string value;
};

struct LookupRequest {
  std::vector<LookupAttribute> attributes;  // at most one, as in CloudTrail
  std::optional<TimePoint> start_time;      // events at or after
  std::optional<TimePoint> end_time;        // events at or before
  std::optional<int> max_results;           // 1..50, default 50
  std::string next_token;
};

struct LookupResource {
  std::string type;  // ResourceType
  std::string name;  // ResourceName (the ARN)
};

struct LookupEvent {
  std::string event_id;
  std::string event_name;
  std::string read_only;  // "true" / "false"
  std::string access_key_id;
  TimePoint event_time;
  std::string event_source;
  std::string username;
  std::vector<LookupResource> resources;
  std::string cloudtrail_event;  // the record's JSON
};

struct LookupResult {
  std::vector<LookupEvent> events;
  std::string next_token;  // empty: no more pages
};

class EventQuery {
 public:
  // The files of DATA_DIR/audit.
  explicit EventQuery(std::string dir);
  // Every chain of `storage`.
  explicit EventQuery(std::shared_ptr<const Storage> storage);

  // Asks `gate` for cloudtrail:LookupEvents on "*", validates and runs the request. Errors:
  // kAccessDenied; kInvalidParameter (more than one attribute, an unknown key, StartTime after
  // EndTime), kValidation (an empty or over-long value, MaxResults outside 1..50),
  // kInvalidNextToken; kUnavailable when a file cannot be read.
  Result<LookupResult> LookupEvents(access::Gate& gate, const LookupRequest& request) const;

 private:
  std::shared_ptr<const Storage> storage_;  // null only for an empty directory name
};

}  // namespace arca::audit
