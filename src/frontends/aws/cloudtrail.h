#pragma once
// The CloudTrail front-end (AWS JSON 1.1, X-Amz-Target
// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>", SigV4 service
// "cloudtrail"): LookupEvents over Arca's audit log, so `aws cloudtrail lookup-events` works
// against the server. Translation only: audit::EventQuery authorizes (cloudtrail:LookupEvents) and
// runs the lookup.
//
// Input (botocore's cloudtrail model): LookupAttributes [{AttributeKey, AttributeValue}] (at most
// one), StartTime/EndTime (epoch seconds as AWS JSON sends them; an ISO 8601 string is accepted
// too), EventCategory ("insight": Arca has no Insights events, so the answer is empty), MaxResults,
// NextToken. Output: Events [{EventId, EventName, ReadOnly, AccessKeyId, EventTime, EventSource,
// Username, Resources [{ResourceType, ResourceName}], CloudTrailEvent}] and NextToken.
//
// Thread-safety: Invoke may be called concurrently (EventQuery is thread-safe).

#include <string_view>

#include "audit/query.h"
#include "frontends/aws/json_protocol.h"

namespace arca::frontends::aws {

class CloudTrailFrontend final : public JsonService {
 public:
  explicit CloudTrailFrontend(const audit::EventQuery& query);

  std::string_view target_prefix() const override {
    return "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
  }
  std::string_view signing_name() const override { return "cloudtrail"; }
  std::string_view coral_namespace() const override { return "com.amazonaws.cloudtrail.v20131101"; }
  bool HasOperation(std::string_view operation) const override;
  Result<std::string> Invoke(const OperationContext& ctx, boost::json::object& input) override;

 private:
  const audit::EventQuery& query_;
};

}  // namespace arca::frontends::aws
