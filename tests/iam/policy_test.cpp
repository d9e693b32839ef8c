#include "iam/policy.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace arca::iam {

std::ostream& operator<<(std::ostream& os, Decision d) {
  switch (d) {
    case Decision::kAllow:
      return os << "Allow";
    case Decision::kImplicitDeny:
      return os << "ImplicitDeny";
    case Decision::kImplicitDenyResource:
      return os << "ImplicitDenyResource";
    case Decision::kExplicitDenyIdentity:
      return os << "ExplicitDenyIdentity";
    case Decision::kExplicitDenyResource:
      return os << "ExplicitDenyResource";
  }
  return os << "?";
}

namespace {

constexpr const char* kAccount = "111122223333";
constexpr const char* kOtherAccount = "444455556666";
constexpr const char* kSecret =
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf";
constexpr const char* kOtherSecret =
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:other/x-123456";
constexpr const char* kGet = "secretsmanager:GetSecretValue";
constexpr const char* kAliceArn = "arn:aws:iam::111122223333:user/alice";
constexpr const char* kBobArn = "arn:aws:iam::111122223333:user/bob";
constexpr const char* kRole = "arn:aws:iam::111122223333:role/app";
constexpr const char* kSessionArn = "arn:aws:sts::111122223333:assumed-role/app/s1";
constexpr const char* kRootArn = "arn:aws:iam::111122223333:root";
constexpr const char* kCarolArn = "arn:aws:iam::444455556666:user/carol";
constexpr const char* kOtherRootArn = "arn:aws:iam::444455556666:root";
constexpr const char* kProvider = "arn:aws:iam::111122223333:oidc-provider/oidc.example.com";

enum class Who { kAlice, kBob, kSession, kRoot, kCarol, kOtherRoot, kWeb };

Principal MakePrincipal(Who who) {
  Principal p;
  switch (who) {
    case Who::kAlice:
      p = {kAliceArn, kAccount, false, {{"AWS", kAliceArn}}};
      break;
    case Who::kBob:
      p = {kBobArn, kAccount, false, {{"AWS", kBobArn}}};
      break;
    case Who::kSession:
      p = {kSessionArn, kAccount, false, {{"AWS", kSessionArn}, {"AWS", kRole}}};
      break;
    case Who::kRoot:
      p = {kRootArn, kAccount, true, {{"AWS", kRootArn}}};
      break;
    case Who::kCarol:
      p = {kCarolArn, kOtherAccount, false, {{"AWS", kCarolArn}}};
      break;
    case Who::kOtherRoot:
      p = {kOtherRootArn, kOtherAccount, true, {{"AWS", kOtherRootArn}}};
      break;
    case Who::kWeb:
      p = {"", "", false, {{"Federated", kProvider}}};
      break;
  }
  return p;
}

using Keys = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct Case {
  std::string name;
  std::vector<std::string> identity;  // identity policy documents
  std::string resource_policy;        // empty: the resource has none
  PolicyKind resource_kind = PolicyKind::kResource;
  Who who = Who::kAlice;
  std::string action = kGet;
  std::string resource = kSecret;
  Keys keys;
  Decision want = Decision::kImplicitDeny;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// A JSON string, unless the text is already a JSON list.
std::string J(std::string_view s) {
  if (s.starts_with('[')) return std::string(s);
  return "\"" + std::string(s) + "\"";
}

std::string Pol(const std::string& statements, std::string_view version = "2012-10-17") {
  std::string v = version.empty() ? "" : "\"Version\":\"" + std::string(version) + "\",";
  return "{" + v + "\"Statement\":[" + statements + "]}";
}

std::string Stmt(std::string_view effect, std::string_view action, std::string_view resource,
                 std::string_view condition = "", std::string_view principal = "") {
  std::string out = "{\"Effect\":\"" + std::string(effect) + "\"";
  if (!principal.empty()) out += ",\"Principal\":" + std::string(principal);
  out += ",\"Action\":" + J(action) + ",\"Resource\":" + J(resource);
  if (!condition.empty()) out += ",\"Condition\":{" + std::string(condition) + "}";
  return out + "}";
}

std::string Allow(std::string_view action, std::string_view resource,
                  std::string_view condition = "") {
  return Pol(Stmt("Allow", action, resource, condition));
}

// A resource policy statement.
std::string RStmt(std::string_view effect, std::string_view principal,
                  std::string_view action = kGet, std::string_view resource = "*",
                  std::string_view condition = "") {
  return Stmt(effect, action, resource, condition, principal);
}

Case Id(std::string name, std::vector<std::string> identity, Decision want, Keys keys = {}) {
  Case c;
  c.name = std::move(name);
  c.identity = std::move(identity);
  c.keys = std::move(keys);
  c.want = want;
  return c;
}

Case IdOn(std::string name, std::vector<std::string> identity, std::string action,
          std::string resource, Decision want, Keys keys = {}) {
  Case c = Id(std::move(name), std::move(identity), want, std::move(keys));
  c.action = std::move(action);
  c.resource = std::move(resource);
  return c;
}

// An identity policy allowing everything under one condition block.
Case Cond(std::string name, std::string condition, Keys keys, bool allowed) {
  return Id(std::move(name), {Allow("*", "*", condition)},
            allowed ? Decision::kAllow : Decision::kImplicitDeny, std::move(keys));
}

Case Res(std::string name, Who who, std::vector<std::string> identity, std::string resource_policy,
         Decision want, Keys keys = {}) {
  Case c;
  c.name = std::move(name);
  c.who = who;
  c.identity = std::move(identity);
  c.resource_policy = std::move(resource_policy);
  c.keys = std::move(keys);
  c.want = want;
  return c;
}

Case Trust(std::string name, Who who, std::vector<std::string> identity, std::string trust_policy,
           Decision want, Keys keys = {}) {
  Case c = Res(std::move(name), who, std::move(identity), std::move(trust_policy), want,
               std::move(keys));
  c.resource_kind = PolicyKind::kTrust;
  c.action = "sts:AssumeRoleWithWebIdentity";
  c.resource = kRole;
  if (who != Who::kWeb) c.action = "sts:AssumeRole";
  return c;
}

constexpr Decision kAllowed = Decision::kAllow;
constexpr Decision kImplicit = Decision::kImplicitDeny;
constexpr Decision kImplicitRes = Decision::kImplicitDenyResource;
constexpr Decision kDenyId = Decision::kExplicitDenyIdentity;
constexpr Decision kDenyRes = Decision::kExplicitDenyResource;

const Keys kAliceKeys = {{"aws:username", {"alice"}}};

std::vector<Case> Cases() {
  std::vector<Case> t;
  const std::string allow_all = Allow("*", "*");
  const std::string allow_get = Allow(kGet, "*");

  // --- identity policies: allow, default deny, explicit deny -----------------------------------
  t.push_back(Id("IdentityAllowExact", {Allow(kGet, kSecret)}, kAllowed));
  t.push_back(Id("DefaultDenyNoPolicies", {}, kImplicit));
  t.push_back(
      Id("DefaultDenyOtherAction", {Allow("secretsmanager:DescribeSecret", "*")}, kImplicit));
  t.push_back(Id("DefaultDenyOtherResource", {Allow(kGet, kOtherSecret)}, kImplicit));
  t.push_back(Id("DenyOverridesAllowSamePolicy",
                 {Pol(Stmt("Allow", "*", "*") + "," + Stmt("Deny", kGet, kSecret))}, kDenyId));
  t.push_back(Id("DenyOverridesAllowOtherPolicy",
                 {allow_all, Pol(Stmt("Deny", "secretsmanager:*", "*"))}, kDenyId));
  t.push_back(Id("DenyOfOtherActionIrrelevant",
                 {allow_all, Pol(Stmt("Deny", "secretsmanager:DeleteSecret", "*"))}, kAllowed));
  t.push_back(Id("DenyOfOtherResourceIrrelevant", {allow_all, Pol(Stmt("Deny", "*", kOtherSecret))},
                 kAllowed));
  t.push_back(
      Id("DenyWithFailingConditionIrrelevant",
         {allow_all, Pol(Stmt("Deny", "*", "*", R"("StringEquals":{"aws:username":"bob"})"))},
         kAllowed, kAliceKeys));
  t.push_back(
      Id("DenyWithHoldingCondition",
         {allow_all, Pol(Stmt("Deny", "*", "*", R"("StringEquals":{"aws:username":"alice"})"))},
         kDenyId, kAliceKeys));

  // --- actions: case, wildcards ----------------------------------------------------------------
  t.push_back(Id("ActionCaseInsensitive", {Allow("SecretsManager:getsecretVALUE", "*")}, kAllowed));
  t.push_back(Id("ActionServiceWildcard", {Allow("secretsmanager:*", "*")}, kAllowed));
  t.push_back(Id("ActionPrefixWildcard", {Allow("secretsmanager:Get*", "*")}, kAllowed));
  t.push_back(Id("ActionPrefixWildcardMiss", {Allow("secretsmanager:Describe*", "*")}, kImplicit));
  t.push_back(Id("ActionMiddleWildcard", {Allow("secretsmanager:*Value", "*")}, kAllowed));
  t.push_back(Id("ActionQuestionMark", {Allow("secretsmanager:GetSecretValu?", "*")}, kAllowed));
  t.push_back(
      Id("ActionQuestionMarkIsOneChar", {Allow("secretsmanager:GetSecret?", "*")}, kImplicit));
  t.push_back(Id("ActionStar", {Allow("*", kSecret)}, kAllowed));
  t.push_back(Id("ActionOtherService", {Allow("ssm:*", "*")}, kImplicit));
  t.push_back(Id("ActionList",
                 {Allow(R"(["ssm:GetParameter","secretsmanager:GetSecretValue"])", "*")},
                 kAllowed));
  t.push_back(
      Id("NotActionAllowsOthers",
         {Pol(R"({"Effect":"Allow","NotAction":"secretsmanager:DeleteSecret","Resource":"*"})")},
         kAllowed));
  t.push_back(
      Id("NotActionExcludesListed",
         {Pol(R"({"Effect":"Allow","NotAction":["ssm:*","secretsmanager:Get*"],"Resource":"*"})")},
         kImplicit));
  t.push_back(
      Id("DenyNotActionDeniesOthers",
         {allow_all,
          Pol(R"({"Effect":"Deny","NotAction":"secretsmanager:Describe*","Resource":"*"})")},
         kDenyId));
  t.push_back(
      Id("DenyNotActionSparesListed",
         {allow_all, Pol(R"({"Effect":"Deny","NotAction":"secretsmanager:Get*","Resource":"*"})")},
         kAllowed));

  // --- resources: wildcards, case, NotResource --------------------------------------------------
  t.push_back(Id("ResourceStar", {allow_get}, kAllowed));
  t.push_back(Id("ResourcePrefixWildcard",
                 {Allow(kGet, "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/*")},
                 kAllowed));
  t.push_back(
      Id("ResourceStarSpansColonAndSlash", {Allow(kGet, "arn:aws:secretsmanager:*")}, kAllowed));
  t.push_back(Id("ResourceStarInMiddle",
                 {Allow(kGet, "arn:aws:secretsmanager:*:111122223333:secret:app/*")}, kAllowed));
  t.push_back(
      Id("ResourceQuestionMarks",
         {Allow(kGet, "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-??????")},
         kAllowed));
  t.push_back(Id("ResourceQuestionMarksCount",
                 {Allow(kGet, "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-?????")},
                 kImplicit));
  t.push_back(Id("ResourceCaseSensitive",
                 {Allow(kGet, "arn:aws:secretsmanager:us-east-1:111122223333:secret:APP/*")},
                 kImplicit));
  t.push_back(Id("ResourceOtherAccount",
                 {Allow(kGet, "arn:aws:secretsmanager:*:444455556666:secret:*")}, kImplicit));
  t.push_back(Id("ResourceListOneMatches",
                 {Allow(kGet, std::string("[\"") + kOtherSecret + "\",\"" + kSecret + "\"]")},
                 kAllowed));
  t.push_back(IdOn("ResourceArnNeedsStarForNoResourceAction",
                   {Allow("secretsmanager:ListSecrets", "arn:aws:secretsmanager:*")},
                   "secretsmanager:ListSecrets", "*", kImplicit));
  t.push_back(IdOn("ResourceStarForNoResourceAction", {Allow("secretsmanager:ListSecrets", "*")},
                   "secretsmanager:ListSecrets", "*", kAllowed));
  t.push_back(Id("NotResourceAllowsOthers",
                 {Pol(std::string(R"({"Effect":"Allow","Action":"*","NotResource":")") +
                      kOtherSecret + "\"}")},
                 kAllowed));
  t.push_back(Id(
      "NotResourceExcludesListed",
      {Pol(
          R"({"Effect":"Allow","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:app/*"})")},
      kImplicit));
  t.push_back(Id(
      "DenyNotResourceDeniesOthers",
      {allow_all,
       Pol(R"({"Effect":"Deny","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:other/*"})")},
      kDenyId));
  t.push_back(Id(
      "DenyNotResourceSparesListed",
      {allow_all,
       Pol(R"({"Effect":"Deny","Action":"*","NotResource":"arn:aws:secretsmanager:*:*:secret:app/*"})")},
      kAllowed));

  // --- String operators -------------------------------------------------------------------------
  t.push_back(
      Cond("StringEqualsMatch", R"("StringEquals":{"aws:username":"alice"})", kAliceKeys, true));
  t.push_back(
      Cond("StringEqualsMiss", R"("StringEquals":{"aws:username":"bob"})", kAliceKeys, false));
  t.push_back(Cond("StringEqualsCaseSensitive", R"("StringEquals":{"aws:username":"Alice"})",
                   kAliceKeys, false));
  t.push_back(Cond("StringEqualsValuesOr", R"("StringEquals":{"aws:username":["bob","alice"]})",
                   kAliceKeys, true));
  t.push_back(Cond("StringEqualsKeyNameCaseInsensitive",
                   R"("StringEquals":{"AWS:UserName":"alice"})", kAliceKeys, true));
  t.push_back(
      Cond("StringEqualsMissingKey", R"("StringEquals":{"aws:username":"alice"})", {}, false));
  t.push_back(Cond("StringNotEqualsMatch", R"("StringNotEquals":{"aws:username":"bob"})",
                   kAliceKeys, true));
  t.push_back(Cond("StringNotEqualsMiss", R"("StringNotEquals":{"aws:username":"alice"})",
                   kAliceKeys, false));
  t.push_back(Cond("StringNotEqualsValuesNone",
                   R"("StringNotEquals":{"aws:username":["bob","alice"]})", kAliceKeys, false));
  t.push_back(
      Cond("StringNotEqualsMissingKey", R"("StringNotEquals":{"aws:username":"alice"})", {}, true));
  t.push_back(Cond("StringEqualsIgnoreCaseMatch",
                   R"("StringEqualsIgnoreCase":{"aws:username":"ALICE"})", kAliceKeys, true));
  t.push_back(Cond("StringEqualsIgnoreCaseMiss",
                   R"("StringEqualsIgnoreCase":{"aws:username":"carol"})", kAliceKeys, false));
  t.push_back(Cond("StringNotEqualsIgnoreCaseMatch",
                   R"("StringNotEqualsIgnoreCase":{"aws:username":"BOB"})", kAliceKeys, true));
  t.push_back(Cond("StringNotEqualsIgnoreCaseMiss",
                   R"("StringNotEqualsIgnoreCase":{"aws:username":"ALICE"})", kAliceKeys, false));
  t.push_back(Cond("StringLikeStar", R"("StringLike":{"aws:username":"al*"})", kAliceKeys, true));
  t.push_back(
      Cond("StringLikeQuestion", R"("StringLike":{"aws:username":"a?ice"})", kAliceKeys, true));
  t.push_back(Cond("StringLikeMiss", R"("StringLike":{"aws:username":"b*"})", kAliceKeys, false));
  t.push_back(Cond("StringLikeNeedsWildcardForPartial", R"("StringLike":{"aws:username":"alic"})",
                   kAliceKeys, false));
  t.push_back(
      Cond("StringNotLikeMatch", R"("StringNotLike":{"aws:username":"b*"})", kAliceKeys, true));
  t.push_back(
      Cond("StringNotLikeMiss", R"("StringNotLike":{"aws:username":"a*"})", kAliceKeys, false));

  // --- Numeric operators ------------------------------------------------------------------------
  const auto n = [](const char* v) { return Keys{{"test:n", {v}}}; };
  t.push_back(Cond("NumericEqualsMatch", R"("NumericEquals":{"test:n":7})", n("7"), true));
  t.push_back(
      Cond("NumericEqualsDecimalRequest", R"("NumericEquals":{"test:n":"7"})", n("7.0"), true));
  t.push_back(Cond("NumericEqualsMiss", R"("NumericEquals":{"test:n":7})", n("8"), false));
  t.push_back(Cond("NumericNotEqualsMatch", R"("NumericNotEquals":{"test:n":7})", n("8"), true));
  t.push_back(Cond("NumericNotEqualsMiss", R"("NumericNotEquals":{"test:n":7})", n("7"), false));
  t.push_back(Cond("NumericLessThanMatch", R"("NumericLessThan":{"test:n":"10"})", n("9"), true));
  t.push_back(Cond("NumericLessThanMiss", R"("NumericLessThan":{"test:n":"10"})", n("10"), false));
  t.push_back(Cond("NumericLessThanEqualsMatch", R"("NumericLessThanEquals":{"test:n":10})",
                   n("10"), true));
  t.push_back(Cond("NumericLessThanEqualsMiss", R"("NumericLessThanEquals":{"test:n":10})",
                   n("10.5"), false));
  t.push_back(
      Cond("NumericGreaterThanMatch", R"("NumericGreaterThan":{"test:n":10})", n("11"), true));
  t.push_back(
      Cond("NumericGreaterThanMiss", R"("NumericGreaterThan":{"test:n":10})", n("10"), false));
  t.push_back(Cond("NumericGreaterThanEqualsMatch", R"("NumericGreaterThanEquals":{"test:n":10})",
                   n("10"), true));
  t.push_back(Cond("NumericGreaterThanEqualsMiss", R"("NumericGreaterThanEquals":{"test:n":10})",
                   n("-3"), false));
  t.push_back(
      Cond("NumericRequestNotANumber", R"("NumericLessThan":{"test:n":10})", n("abc"), false));

  // --- Date operators ---------------------------------------------------------------------------
  const auto now = [](const char* v) { return Keys{{"aws:CurrentTime", {v}}}; };
  const char* jan1 = "2024-01-01T00:00:00Z";
  t.push_back(Cond("DateEqualsMatch", R"("DateEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"})",
                   now(jan1), true));
  t.push_back(Cond("DateEqualsEpochPolicyValue", R"("DateEquals":{"aws:CurrentTime":"1704067200"})",
                   now(jan1), true));
  t.push_back(Cond("DateEqualsOffset",
                   R"("DateEquals":{"aws:CurrentTime":"2024-01-01T01:00:00+01:00"})", now(jan1),
                   true));
  t.push_back(Cond("DateEqualsMiss", R"("DateEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"})",
                   now("2024-01-01T00:00:01Z"), false));
  t.push_back(Cond("DateNotEqualsMatch", R"("DateNotEquals":{"aws:CurrentTime":"2024-01-02"})",
                   now(jan1), true));
  t.push_back(Cond("DateNotEqualsMiss", R"("DateNotEquals":{"aws:CurrentTime":"2024-01-01"})",
                   now(jan1), false));
  t.push_back(Cond("DateLessThanMatch",
                   R"("DateLessThan":{"aws:CurrentTime":"2024-06-01T00:00:00Z"})", now(jan1),
                   true));
  t.push_back(Cond("DateLessThanMiss",
                   R"("DateLessThan":{"aws:CurrentTime":"2024-06-01T00:00:00Z"})",
                   now("2024-07-01T00:00:00Z"), false));
  t.push_back(Cond("DateLessThanEqualsMatch",
                   R"("DateLessThanEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"})", now(jan1),
                   true));
  t.push_back(Cond("DateLessThanEqualsMiss",
                   R"("DateLessThanEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"})",
                   now("2024-01-01T00:00:00.001Z"), false));
  t.push_back(Cond("DateGreaterThanMatch", R"("DateGreaterThan":{"aws:CurrentTime":"2023-12-31"})",
                   now(jan1), true));
  t.push_back(Cond("DateGreaterThanMiss", R"("DateGreaterThan":{"aws:CurrentTime":"2024-01-01"})",
                   now(jan1), false));
  t.push_back(Cond("DateGreaterThanEqualsMatch",
                   R"("DateGreaterThanEquals":{"aws:CurrentTime":"2024-01-01"})", now(jan1), true));
  t.push_back(Cond("DateGreaterThanEqualsMiss",
                   R"("DateGreaterThanEquals":{"aws:CurrentTime":"2024-01-01"})",
                   now("2023-12-31T23:59:59Z"), false));
  t.push_back(Cond("DateEpochRequestValue",
                   R"("DateGreaterThan":{"aws:EpochTime":"2023-01-01T00:00:00Z"})",
                   Keys{{"aws:EpochTime", {"1704067200"}}}, true));

  // --- Bool, Binary -----------------------------------------------------------------------------
  const auto tls = [](const char* v) { return Keys{{"aws:SecureTransport", {v}}}; };
  t.push_back(Cond("BoolMatch", R"("Bool":{"aws:SecureTransport":"true"})", tls("true"), true));
  t.push_back(Cond("BoolMiss", R"("Bool":{"aws:SecureTransport":"true"})", tls("false"), false));
  t.push_back(
      Cond("BoolJsonBoolean", R"("Bool":{"aws:SecureTransport":false})", tls("false"), true));
  t.push_back(Cond("BoolRequestCaseInsensitive", R"("Bool":{"aws:SecureTransport":"true"})",
                   tls("TRUE"), true));
  t.push_back(Cond("BinaryEqualsMatch", R"("BinaryEquals":{"test:bin":"aGVsbG8="})",
                   Keys{{"test:bin", {"aGVsbG8="}}}, true));
  t.push_back(Cond("BinaryEqualsMiss", R"("BinaryEquals":{"test:bin":"aGVsbG8="})",
                   Keys{{"test:bin", {"d29ybGQ="}}}, false));

  // --- IP address -------------------------------------------------------------------------------
  const auto ip = [](const char* v) { return Keys{{"aws:SourceIp", {v}}}; };
  t.push_back(Cond("IpAddressInRange", R"("IpAddress":{"aws:SourceIp":"203.0.113.0/24"})",
                   ip("203.0.113.7"), true));
  t.push_back(Cond("IpAddressOutOfRange", R"("IpAddress":{"aws:SourceIp":"203.0.113.0/24"})",
                   ip("198.51.100.1"), false));
  t.push_back(Cond("IpAddressSingleHost", R"("IpAddress":{"aws:SourceIp":"203.0.113.7"})",
                   ip("203.0.113.7"), true));
  t.push_back(Cond("IpAddressSingleHostOther", R"("IpAddress":{"aws:SourceIp":"203.0.113.7"})",
                   ip("203.0.113.8"), false));
  t.push_back(Cond("IpAddressV6InRange", R"("IpAddress":{"aws:SourceIp":"2001:DB8::/32"})",
                   ip("2001:db8:1::5"), true));
  t.push_back(Cond("IpAddressV6OutOfRange", R"("IpAddress":{"aws:SourceIp":"2001:db8::/32"})",
                   ip("2001:db9::1"), false));
  t.push_back(Cond("IpAddressV4MappedRequest", R"("IpAddress":{"aws:SourceIp":"203.0.113.0/24"})",
                   ip("::ffff:203.0.113.9"), true));
  t.push_back(Cond("IpAddressHostBitsIgnored", R"("IpAddress":{"aws:SourceIp":"192.168.0.1/16"})",
                   ip("192.168.7.7"), true));
  t.push_back(Cond("IpAddressListOr",
                   R"("IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]})",
                   ip("203.0.113.7"), true));
  t.push_back(Cond("NotIpAddressMatch", R"("NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"})",
                   ip("203.0.113.7"), true));
  t.push_back(Cond("NotIpAddressMiss", R"("NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"})",
                   ip("10.1.2.3"), false));

  // --- ARN operators ----------------------------------------------------------------------------
  const auto src = [](const char* v) { return Keys{{"aws:SourceArn", {v}}}; };
  t.push_back(Cond("ArnEqualsMatch",
                   R"("ArnEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/app"})",
                   src(kRole), true));
  t.push_back(Cond("ArnEqualsMiss",
                   R"("ArnEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/web"})",
                   src(kRole), false));
  t.push_back(Cond("ArnLikeResourceWildcard",
                   R"("ArnLike":{"aws:SourceArn":"arn:aws:iam::111122223333:role/*"})", src(kRole),
                   true));
  t.push_back(Cond("ArnLikeAccountWildcard",
                   R"("ArnLike":{"aws:SourceArn":"arn:aws:iam::*:role/app"})", src(kRole), true));
  t.push_back(Cond(
      "ArnLikeStarStaysInItsPart",
      R"("ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"})",
      src("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"),
      false));
  t.push_back(Cond(
      "StringLikeStarSpansParts",
      R"("StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"})",
      src("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"),
      true));
  t.push_back(Cond("ArnLikeAnyArn", R"("ArnLike":{"aws:SourceArn":"*"})", src(kRole), true));
  t.push_back(Cond("ArnLikeRequestNotAnArn",
                   R"("ArnLike":{"aws:SourceArn":"arn:aws:iam::*:role/*"})", src("role/app"),
                   false));
  t.push_back(Cond("ArnNotEqualsMatch",
                   R"("ArnNotEquals":{"aws:SourceArn":"arn:aws:iam::111122223333:role/web"})",
                   src(kRole), true));
  t.push_back(Cond("ArnNotLikeMiss",
                   R"("ArnNotLike":{"aws:SourceArn":"arn:aws:iam::111122223333:role/*"})",
                   src(kRole), false));

  // --- IfExists, Null ---------------------------------------------------------------------------
  t.push_back(Cond("IfExistsKeyAbsent", R"("StringEqualsIfExists":{"test:team":"red"})", {}, true));
  t.push_back(Cond("IfExistsKeyPresentMatch", R"("StringEqualsIfExists":{"test:team":"red"})",
                   Keys{{"test:team", {"red"}}}, true));
  t.push_back(Cond("IfExistsKeyPresentMiss", R"("StringEqualsIfExists":{"test:team":"red"})",
                   Keys{{"test:team", {"blue"}}}, false));
  t.push_back(
      Cond("NumericIfExistsKeyAbsent", R"("NumericLessThanIfExists":{"test:n":3})", {}, true));
  t.push_back(Cond("BoolIfExistsKeyPresentMiss",
                   R"("BoolIfExists":{"aws:MultiFactorAuthPresent":"true"})",
                   Keys{{"aws:MultiFactorAuthPresent", {"false"}}}, false));
  t.push_back(Cond("NullTrueKeyAbsent", R"("Null":{"aws:TokenIssueTime":"true"})", {}, true));
  t.push_back(Cond("NullTrueKeyPresent", R"("Null":{"aws:TokenIssueTime":"true"})",
                   Keys{{"aws:TokenIssueTime", {jan1}}}, false));
  t.push_back(Cond("NullFalseKeyPresent", R"("Null":{"aws:TokenIssueTime":false})",
                   Keys{{"aws:TokenIssueTime", {jan1}}}, true));
  t.push_back(Cond("NullFalseKeyAbsent", R"("Null":{"aws:TokenIssueTime":"false"})", {}, false));

  // --- ForAnyValue / ForAllValues ---------------------------------------------------------------
  const auto tags = [](std::vector<std::string> v) { return Keys{{"aws:TagKeys", std::move(v)}}; };
  t.push_back(Cond("ForAnyValueOneMatches",
                   R"("ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]})",
                   tags({"owner", "env"}), true));
  t.push_back(Cond("ForAnyValueNoneMatch",
                   R"("ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]})",
                   tags({"owner", "cost"}), false));
  t.push_back(Cond("ForAnyValueMissingKey", R"("ForAnyValue:StringEquals":{"aws:TagKeys":["env"]})",
                   {}, false));
  t.push_back(Cond("ForAnyValueEmptySet", R"("ForAnyValue:StringEquals":{"aws:TagKeys":["env"]})",
                   tags({}), false));
  t.push_back(Cond("ForAllValuesAllMatch",
                   R"("ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]})",
                   tags({"team", "env"}), true));
  t.push_back(Cond("ForAllValuesOneOutside",
                   R"("ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]})",
                   tags({"team", "owner"}), false));
  t.push_back(Cond("ForAllValuesMissingKey",
                   R"("ForAllValues:StringEquals":{"aws:TagKeys":["env"]})", {}, true));
  t.push_back(Cond("ForAllValuesEmptySet", R"("ForAllValues:StringEquals":{"aws:TagKeys":["env"]})",
                   tags({}), true));
  t.push_back(Cond("ForAllValuesNegatedNoneListed",
                   R"("ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]})", tags({"c", "d"}),
                   true));
  t.push_back(Cond("ForAllValuesNegatedOneListed",
                   R"("ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]})", tags({"c", "a"}),
                   false));
  t.push_back(Cond("ForAnyValueNegatedOneUnlisted",
                   R"("ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]})", tags({"a", "c"}),
                   true));
  t.push_back(Cond("ForAnyValueNegatedAllListed",
                   R"("ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]})", tags({"a"}),
                   false));
  t.push_back(Cond("ForAnyValueStringLike", R"("ForAnyValue:StringLike":{"aws:TagKeys":"env*"})",
                   tags({"team", "environment"}), true));
  t.push_back(Cond("ForAnyValueIfExistsMissingKey",
                   R"("ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"})", {}, true));

  // --- several operators, keys and values -------------------------------------------------------
  t.push_back(
      Cond("OperatorsAndBothHold",
           R"("StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"})",
           Keys{{"aws:username", {"alice"}}, {"aws:SecureTransport", {"true"}}}, true));
  t.push_back(
      Cond("OperatorsAndOneFails",
           R"("StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"})",
           Keys{{"aws:username", {"alice"}}, {"aws:SecureTransport", {"false"}}}, false));
  t.push_back(Cond("KeysAndOneFails",
                   R"("StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"red"})",
                   Keys{{"aws:username", {"alice"}}, {"aws:PrincipalTag/team", {"blue"}}}, false));

  // --- policy variables -------------------------------------------------------------------------
  const std::string home = "arn:aws:secretsmanager:us-east-1:111122223333:secret:";
  t.push_back(IdOn("VarUsernameOwnPath", {Allow(kGet, home + "${aws:username}/*")}, kGet,
                   home + "alice/key-abc", kAllowed, kAliceKeys));
  t.push_back(IdOn("VarUsernameOtherPath", {Allow(kGet, home + "${aws:username}/*")}, kGet,
                   home + "bob/key-abc", kImplicit, kAliceKeys));
  t.push_back(IdOn("VarMissingKeyMatchesNothing", {Allow(kGet, home + "${aws:username}*")}, kGet,
                   home + "x", kImplicit));
  t.push_back(IdOn("VarUserId", {Allow(kGet, home + "${aws:userid}/*")}, kGet,
                   home + "AIDAEXAMPLE/k", kAllowed, Keys{{"aws:userid", {"AIDAEXAMPLE"}}}));
  t.push_back(IdOn("VarPrincipalTag", {Allow(kGet, home + "${aws:PrincipalTag/team}/*")}, kGet,
                   home + "red/db", kAllowed, Keys{{"aws:PrincipalTag/team", {"red"}}}));
  t.push_back(IdOn("VarDefaultWhenMissing",
                   {Allow(kGet, home + "${aws:PrincipalTag/team, 'shared'}/*")}, kGet,
                   home + "shared/db", kAllowed));
  t.push_back(IdOn("VarDefaultIgnoredWhenPresent",
                   {Allow(kGet, home + "${aws:PrincipalTag/team, 'shared'}/*")}, kGet,
                   home + "shared/db", kImplicit, Keys{{"aws:PrincipalTag/team", {"red"}}}));
  t.push_back(IdOn("VarVersion2008IsLiteral",
                   {Pol(Stmt("Allow", kGet, home + "${aws:username}/*"), "2008-10-17")}, kGet,
                   home + "alice/db", kImplicit, kAliceKeys));
  t.push_back(IdOn("VarVersion2008LiteralText",
                   {Pol(Stmt("Allow", kGet, home + "${aws:username}/*"), "2008-10-17")}, kGet,
                   home + "${aws:username}/db", kAllowed, kAliceKeys));
  t.push_back(IdOn("VarNoVersionIsLiteral",
                   {Pol(Stmt("Allow", kGet, home + "${aws:username}/*"), "")}, kGet,
                   home + "alice/db", kImplicit, kAliceKeys));
  t.push_back(
      IdOn("VarStarIsLiteral", {Allow(kGet, home + "app/${*}")}, kGet, home + "app/db", kImplicit));
  t.push_back(
      IdOn("VarStarMatchesStar", {Allow(kGet, home + "app/${*}")}, kGet, home + "app/*", kAllowed));
  t.push_back(IdOn("VarValueIsNotAWildcard", {Allow(kGet, home + "${aws:PrincipalTag/team}")}, kGet,
                   home + "abc", kImplicit, Keys{{"aws:PrincipalTag/team", {"a*"}}}));
  t.push_back(Cond("VarInConditionValue",
                   R"("StringEquals":{"secretsmanager:Name":"${aws:username}-db"})",
                   Keys{{"secretsmanager:Name", {"alice-db"}}, {"aws:username", {"alice"}}}, true));
  t.push_back(Cond("VarInConditionMissing",
                   R"("StringEquals":{"secretsmanager:Name":"${aws:username}-db"})",
                   Keys{{"secretsmanager:Name", {"alice-db"}}}, false));
  t.push_back(Cond("VarInNegatedConditionMissing",
                   R"("StringNotEquals":{"secretsmanager:Name":"${aws:username}"})",
                   Keys{{"secretsmanager:Name", {"alice"}}}, true));
  t.push_back(Cond("VarInArnLike",
                   R"("ArnLike":{"aws:SourceArn":"arn:aws:iam::*:user/${aws:username}"})",
                   Keys{{"aws:SourceArn", {kAliceArn}}, {"aws:username", {"alice"}}}, true));

  // --- resource policies and principals (same account) -----------------------------------------
  const auto aws = [](const std::string& v) { return "{\"AWS\":" + J(v) + "}"; };
  t.push_back(Res("RpUserArnGrantsDirectly", Who::kAlice, {}, Pol(RStmt("Allow", aws(kAliceArn))),
                  kAllowed));
  t.push_back(Res("RpOtherUserArn", Who::kBob, {}, Pol(RStmt("Allow", aws(kAliceArn))), kImplicit));
  t.push_back(
      Res("RpRoleArnMatchesSession", Who::kSession, {}, Pol(RStmt("Allow", aws(kRole))), kAllowed));
  t.push_back(
      Res("RpSessionArn", Who::kSession, {}, Pol(RStmt("Allow", aws(kSessionArn))), kAllowed));
  t.push_back(Res("RpStar", Who::kAlice, {}, Pol(RStmt("Allow", "\"*\"")), kAllowed));
  t.push_back(Res("RpAwsStar", Who::kBob, {}, Pol(RStmt("Allow", aws("*"))), kAllowed));
  t.push_back(
      Res("RpPrincipalList", Who::kBob, {},
          Pol(RStmt("Allow", aws(std::string("[\"") + kAliceArn + "\",\"" + kBobArn + "\"]"))),
          kAllowed));
  t.push_back(Res("RpAccountIdDelegatesOnly", Who::kAlice, {}, Pol(RStmt("Allow", aws(kAccount))),
                  kImplicit));
  t.push_back(Res("RpAccountIdWithIdentityAllow", Who::kAlice, {allow_get},
                  Pol(RStmt("Allow", aws(kAccount))), kAllowed));
  t.push_back(Res("RpRootArnDelegatesOnly", Who::kSession, {}, Pol(RStmt("Allow", aws(kRootArn))),
                  kImplicit));
  t.push_back(Res("RpIdentityAllowSuffices", Who::kAlice, {allow_get},
                  Pol(RStmt("Allow", aws(kBobArn))), kAllowed));
  t.push_back(Res("RpDenyOverridesIdentityAllow", Who::kAlice, {allow_all},
                  Pol(RStmt("Deny", aws(kAliceArn))), kDenyRes));
  t.push_back(Res("RpDenyAccountCoversUsers", Who::kAlice, {allow_all},
                  Pol(RStmt("Deny", aws(kAccount))), kDenyRes));
  t.push_back(Res("RpDenyRoleCoversSession", Who::kSession, {allow_all},
                  Pol(RStmt("Deny", aws(kRole))), kDenyRes));
  t.push_back(Res("RpDenyOtherUserIrrelevant", Who::kAlice, {allow_all},
                  Pol(RStmt("Deny", aws(kBobArn))), kAllowed));
  t.push_back(
      Res("RpDenyOverridesRpAllow", Who::kAlice, {},
          Pol(RStmt("Allow", "\"*\"") + "," + RStmt("Deny", aws(kAliceArn), "secretsmanager:Get*")),
          kDenyRes));
  t.push_back(Res("RpIdentityDenyReportedFirst", Who::kAlice, {Pol(Stmt("Deny", "*", "*"))},
                  Pol(RStmt("Deny", "\"*\"")), kDenyId));
  t.push_back(Res(
      "RpAllowConditionFails", Who::kAlice, {},
      Pol(RStmt("Allow", aws(kAliceArn), kGet, "*", R"("Bool":{"aws:SecureTransport":"true"})")),
      kImplicit, Keys{{"aws:SecureTransport", {"false"}}}));
  t.push_back(Res("RpAllowOtherAction", Who::kAlice, {},
                  Pol(RStmt("Allow", aws(kAliceArn), "secretsmanager:Describe*")), kImplicit));
  {
    Case c =
        Res("RpAllowResourceVariable", Who::kAlice, {},
            Pol(RStmt("Allow", "\"*\"", kGet, home + "${aws:username}/*")), kAllowed, kAliceKeys);
    c.resource = home + "alice/db";
    t.push_back(c);
    c.name = "RpAllowResourceVariableOtherUser";
    c.resource = home + "bob/db";
    c.want = kImplicit;
    t.push_back(c);
  }

  // --- another account ---------------------------------------------------------------------------
  t.push_back(Res("CrossIdentityOnly", Who::kCarol, {allow_get}, "", kImplicitRes));
  t.push_back(
      Res("CrossResourceOnly", Who::kCarol, {}, Pol(RStmt("Allow", aws(kCarolArn))), kImplicit));
  t.push_back(
      Res("CrossBoth", Who::kCarol, {allow_get}, Pol(RStmt("Allow", aws(kCarolArn))), kAllowed));
  t.push_back(Res("CrossAccountPrincipalAndIdentity", Who::kCarol, {allow_get},
                  Pol(RStmt("Allow", aws(kOtherAccount))), kAllowed));
  t.push_back(Res("CrossRootArnPrincipalAndIdentity", Who::kCarol, {allow_get},
                  Pol(RStmt("Allow", aws(kOtherRootArn))), kAllowed));
  t.push_back(
      Res("CrossStarStillNeedsIdentity", Who::kCarol, {}, Pol(RStmt("Allow", "\"*\"")), kImplicit));
  t.push_back(Res("CrossOtherAccountNamed", Who::kCarol, {allow_get},
                  Pol(RStmt("Allow", aws("999999999999"))), kImplicitRes));
  t.push_back(Res("CrossOwnAccountNamedNotTheirs", Who::kCarol, {allow_get},
                  Pol(RStmt("Allow", aws(kAccount))), kImplicitRes));
  t.push_back(Res("CrossDeny", Who::kCarol, {allow_get},
                  Pol(RStmt("Allow", aws(kOtherAccount)) + "," + RStmt("Deny", aws(kCarolArn))),
                  kDenyRes));

  // --- the account root
  // ---------------------------------------------------------------------------
  t.push_back(Res("RootNoPolicies", Who::kRoot, {}, "", kAllowed));
  t.push_back(Res("RootResourcePolicyForOthers", Who::kRoot, {}, Pol(RStmt("Allow", aws(kBobArn))),
                  kAllowed));
  t.push_back(Res("RootDeniedByRpStar", Who::kRoot, {}, Pol(RStmt("Deny", "\"*\"")), kDenyRes));
  t.push_back(
      Res("RootDeniedByRpAccount", Who::kRoot, {}, Pol(RStmt("Deny", aws(kAccount))), kDenyRes));
  t.push_back(Res("RootNotDeniedForOtherUser", Who::kRoot, {}, Pol(RStmt("Deny", aws(kAliceArn))),
                  kAllowed));
  t.push_back(Res("OtherRootWithoutRp", Who::kOtherRoot, {}, "", kImplicitRes));
  t.push_back(Res("OtherRootWithRpAccount", Who::kOtherRoot, {},
                  Pol(RStmt("Allow", aws(kOtherAccount))), kAllowed));

  // --- NotPrincipal
  // ---------------------------------------------------------------------------------
  const std::string np_alice = std::string(R"({"Effect":"Deny","NotPrincipal":{"AWS":[")") +
                               kAliceArn + "\",\"" + kRootArn +
                               R"("]},"Action":"*","Resource":"*"})";
  t.push_back(Res("NotPrincipalSparesListed", Who::kAlice, {allow_all}, Pol(np_alice), kAllowed));
  t.push_back(Res("NotPrincipalDeniesOthers", Who::kBob, {allow_all}, Pol(np_alice), kDenyRes));
  t.push_back(Res("NotPrincipalNeedsAccountListed", Who::kAlice, {allow_all},
                  Pol(std::string(R"({"Effect":"Deny","NotPrincipal":{"AWS":")") + kAliceArn +
                      R"("},"Action":"*","Resource":"*"})"),
                  kDenyRes));
  t.push_back(Res("NotPrincipalSessionAllListed", Who::kSession, {allow_all},
                  Pol(std::string(R"({"Effect":"Deny","NotPrincipal":{"AWS":[")") + kSessionArn +
                      "\",\"" + kRole + "\",\"" + kAccount + R"("]},"Action":"*","Resource":"*"})"),
                  kAllowed));
  t.push_back(Res("NotPrincipalSessionRoleMissing", Who::kSession, {allow_all},
                  Pol(std::string(R"({"Effect":"Deny","NotPrincipal":{"AWS":[")") + kSessionArn +
                      "\",\"" + kAccount + R"("]},"Action":"*","Resource":"*"})"),
                  kDenyRes));
  t.push_back(Res("NotPrincipalAllow", Who::kAlice, {},
                  Pol(std::string(R"({"Effect":"Allow","NotPrincipal":{"AWS":")") + kBobArn +
                      R"("},"Action":"*","Resource":"*"})"),
                  kAllowed));

  // --- trust policies and federated principals
  // -----------------------------------------------------
  const std::string fed = std::string("{\"Federated\":\"") + kProvider + "\"}";
  const std::string web_action = "sts:AssumeRoleWithWebIdentity";
  const auto trust_stmt = [](std::string_view principal, std::string_view action,
                             std::string_view condition = "") {
    std::string out = "{\"Effect\":\"Allow\",\"Principal\":" + std::string(principal) +
                      ",\"Action\":\"" + std::string(action) + "\"";
    if (!condition.empty()) out += ",\"Condition\":{" + std::string(condition) + "}";
    return out + "}";
  };
  t.push_back(
      Trust("TrustFederatedMatches", Who::kWeb, {}, Pol(trust_stmt(fed, web_action)), kAllowed));
  t.push_back(Trust(
      "TrustFederatedOtherProvider", Who::kWeb, {},
      Pol(trust_stmt(R"({"Federated":"arn:aws:iam::111122223333:oidc-provider/other.example.com"})",
                     web_action)),
      kImplicitRes));
  t.push_back(Trust(
      "TrustFederatedConditionHolds", Who::kWeb, {},
      Pol(trust_stmt(fed, web_action,
                     R"("StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:app"})")),
      kAllowed, Keys{{"oidc.example.com:sub", {"system:serviceaccount:ns:app"}}}));
  t.push_back(Trust(
      "TrustFederatedConditionFails", Who::kWeb, {},
      Pol(trust_stmt(fed, web_action,
                     R"("StringEquals":{"oidc.example.com:sub":"system:serviceaccount:ns:app"})")),
      kImplicitRes, Keys{{"oidc.example.com:sub", {"system:serviceaccount:ns:other"}}}));
  t.push_back(Trust("TrustFederatedWrongAction", Who::kWeb, {},
                    Pol(trust_stmt(fed, "sts:AssumeRole")), kImplicitRes));
  t.push_back(Trust("TrustUserDirect", Who::kAlice, {},
                    Pol(trust_stmt(aws(kAliceArn), "sts:AssumeRole")), kAllowed));
  t.push_back(Trust("TrustAccountNeedsIdentity", Who::kAlice, {},
                    Pol(trust_stmt(aws(kAccount), "sts:AssumeRole")), kImplicit));
  t.push_back(Trust("TrustAccountWithIdentity", Who::kAlice, {Allow("sts:AssumeRole", kRole)},
                    Pol(trust_stmt(aws(kAccount), "sts:AssumeRole")), kAllowed));
  t.push_back(Trust("TrustIdentityAloneIsNotEnough", Who::kAlice, {Allow("sts:AssumeRole", "*")},
                    Pol(trust_stmt(aws(kBobArn), "sts:AssumeRole")), kImplicitRes));
  t.push_back(Trust("TrustCrossAccount", Who::kCarol, {Allow("sts:AssumeRole", kRole)},
                    Pol(trust_stmt(aws(kOtherAccount), "sts:AssumeRole")), kAllowed));
  t.push_back(Trust("TrustCrossAccountWithoutIdentity", Who::kCarol, {},
                    Pol(trust_stmt(aws(kOtherAccount), "sts:AssumeRole")), kImplicit));
  return t;
}

class PolicyEvalTest : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyEvalTest, Decides) {
  const Case& c = GetParam();
  std::vector<std::shared_ptr<const CompiledPolicy>> owned;
  EvalRequest request;
  for (const std::string& doc : c.identity) {
    auto compiled = CompilePolicy(doc, PolicyKind::kIdentity);
    ASSERT_TRUE(compiled.ok()) << compiled.error().ToLogString() << "\n" << doc;
    owned.push_back(*compiled);
    request.identity_policies.push_back(owned.back().get());
  }
  if (!c.resource_policy.empty()) {
    auto compiled = CompilePolicy(c.resource_policy, c.resource_kind);
    ASSERT_TRUE(compiled.ok()) << compiled.error().ToLogString() << "\n" << c.resource_policy;
    owned.push_back(*compiled);
    request.resource_policy = owned.back().get();
  }
  access::ContextKeys keys;
  for (const auto& [k, v] : c.keys) keys.Set(k, v);
  Principal principal = MakePrincipal(c.who);
  request.action = c.action;
  request.resource = c.resource;
  request.resource_account = kAccount;
  request.principal = &principal;
  request.keys = &keys;
  EXPECT_EQ(Evaluate(request).decision, c.want);
}

INSTANTIATE_TEST_SUITE_P(Table, PolicyEvalTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return param_info.param.name;
                         });

TEST(PolicyEvalTableTest, HasAtLeastAHundredCases) { EXPECT_GE(Cases().size(), 100u); }

// --- grammar ------------------------------------------------------------------------------------

struct BadDoc {
  const char* name;
  PolicyKind kind;
  std::string document;
  std::string message;  // the client-facing message
  std::string detail;   // a substring of the log detail, when IAM's message is generic
};

std::vector<BadDoc> BadDocs() {
  const std::string syntax = "Syntax errors in policy.";
  const std::string legacy = "The policy failed legacy parsing";
  const std::string vendor =
      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
  const auto cond = [](std::string_view c) { return Pol(Stmt("Allow", "*", "*", c)); };
  return {
      {"NotJson", PolicyKind::kIdentity, "{\"Version\":", syntax, ""},
      {"NotAnObject", PolicyKind::kIdentity, "[]", syntax, ""},
      {"UnknownTopLevelField", PolicyKind::kIdentity,
       R"({"Version":"2012-10-17","Foo":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
       syntax, "Unknown field Foo"},
      {"InvalidVersion", PolicyKind::kIdentity,
       R"({"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
       syntax, "Invalid Version"},
      {"VersionNotString", PolicyKind::kIdentity,
       R"({"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})", syntax,
       ""},
      {"MissingStatement", PolicyKind::kIdentity, R"({"Version":"2012-10-17"})", syntax,
       "Statement"},
      {"EmptyStatementList", PolicyKind::kIdentity, R"({"Version":"2012-10-17","Statement":[]})",
       syntax, ""},
      {"StatementString", PolicyKind::kIdentity, R"({"Version":"2012-10-17","Statement":"x"})",
       syntax, ""},
      {"StatementItemNotObject", PolicyKind::kIdentity,
       R"({"Version":"2012-10-17","Statement":[1]})", syntax, ""},
      {"UnknownStatementField", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Actions":"*","Resource":"*"})"), syntax, "Unknown field Actions"},
      {"MissingEffect", PolicyKind::kIdentity, Pol(R"({"Action":"*","Resource":"*"})"), syntax,
       "Effect"},
      {"EffectWrongCase", PolicyKind::kIdentity,
       Pol(R"({"Effect":"allow","Action":"*","Resource":"*"})"), legacy, ""},
      {"EffectUnknown", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Permit","Action":"*","Resource":"*"})"), syntax, ""},
      {"ActionAndNotAction", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"})"), syntax, ""},
      {"MissingAction", PolicyKind::kIdentity, Pol(R"({"Effect":"Allow","Resource":"*"})"),
       "Policy statement must contain actions.", ""},
      {"EmptyActionList", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":[],"Resource":"*"})"),
       "Policy statement must contain actions.", ""},
      {"ActionNotString", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":[1],"Resource":"*"})"), syntax, ""},
      {"ActionWithoutVendor", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"GetSecretValue","Resource":"*"})"), vendor, ""},
      {"ActionTwoColons", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"a:b:c","Resource":"*"})"),
       "Actions/Condition can contain only one colon.", ""},
      {"ActionBadVendor", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"s 3:Get","Resource":"*"})"), "Vendor s 3 is not valid",
       ""},
      {"MissingResource", PolicyKind::kIdentity, Pol(R"({"Effect":"Allow","Action":"*"})"),
       "Policy statement must contain resources.", ""},
      {"MissingResourceInResourcePolicy", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":"*","Action":"*"})"),
       "Policy statement must contain resources.", ""},
      {"ResourceAndNotResource", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"})"), syntax, ""},
      {"ResourceNotArn", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"*","Resource":"mysecret"})"),
       "Resource mysecret must be in ARN format or \"*\".", ""},
      {"PrincipalInIdentityPolicy", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"})"),
       "Policy document should not specify a principal.", ""},
      {"NotPrincipalInIdentityPolicy", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"})"),
       "Policy document should not specify a principal.", ""},
      {"ResourcePolicyWithoutPrincipal", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Action":"*","Resource":"*"})"), "Missing required field Principal",
       ""},
      {"TrustPolicyWithoutPrincipal", PolicyKind::kTrust,
       Pol(R"({"Effect":"Allow","Action":"sts:AssumeRole"})"), "Missing required field Principal",
       ""},
      {"TrustPolicyWithNotPrincipal", PolicyKind::kTrust,
       Pol(R"({"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"})"),
       syntax, "NotPrincipal"},
      {"PrincipalAndNotPrincipal", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"*","Resource":"*"})"),
       syntax, ""},
      {"PrincipalStringNotStar", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":"arn:aws:iam::111122223333:user/x","Action":"*","Resource":"*"})"),
       "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:user/x\"", ""},
      {"PrincipalNotAnArn", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"*","Resource":"*"})"),
       "Invalid principal in policy: \"AWS\":\"alice\"", ""},
      {"PrincipalPartialWildcard", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"*","Resource":"*"})"),
       "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:user/*\"", ""},
      {"PrincipalUnknownType", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":{"Group":"x"},"Action":"*","Resource":"*"})"),
       "Invalid principal in policy: \"Group\":\"x\"", ""},
      {"PrincipalEmptyObject", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"})"), syntax, ""},
      {"DuplicateSid", PolicyKind::kIdentity,
       Pol(R"({"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"})"),
       "Statement IDs (SID) in a single policy must be unique.", ""},
      {"UnknownConditionOperator", PolicyKind::kIdentity,
       cond(R"("StringEqualz":{"aws:username":"a"})"), syntax, "StringEqualz"},
      {"NullIfExists", PolicyKind::kIdentity, cond(R"("NullIfExists":{"aws:username":"true"})"),
       syntax, ""},
      {"BadSetQualifier", PolicyKind::kIdentity,
       cond(R"("ForSomeValues:StringEquals":{"aws:TagKeys":"a"})"), syntax, ""},
      {"ConditionNotObject", PolicyKind::kIdentity,
       Pol(R"({"Effect":"Allow","Action":"*","Resource":"*","Condition":[]})"), syntax, ""},
      {"ConditionBodyNotObject", PolicyKind::kIdentity, cond(R"("StringEquals":"x")"), syntax, ""},
      {"ConditionValueObject", PolicyKind::kIdentity,
       cond(R"("StringEquals":{"aws:username":{"a":1}})"), syntax, ""},
      {"ConditionValueEmptyList", PolicyKind::kIdentity,
       cond(R"("StringEquals":{"aws:username":[]})"), syntax, ""},
      {"ConditionKeyWithoutVendor", PolicyKind::kIdentity,
       cond(R"("StringEquals":{"username":"a"})"), vendor, ""},
      {"NumericValueNotANumber", PolicyKind::kIdentity, cond(R"("NumericEquals":{"test:n":"abc"})"),
       legacy, ""},
      {"DateValueNotADate", PolicyKind::kIdentity,
       cond(R"("DateLessThan":{"aws:CurrentTime":"yesterday"})"), legacy, ""},
      {"DateValueBadMonth", PolicyKind::kIdentity,
       cond(R"("DateLessThan":{"aws:CurrentTime":"2024-13-01"})"), legacy, ""},
      {"BoolValueNotABool", PolicyKind::kIdentity, cond(R"("Bool":{"aws:SecureTransport":"yes"})"),
       legacy, ""},
      {"NullValueNotABool", PolicyKind::kIdentity,
       cond(R"("Null":{"aws:SecureTransport":"maybe"})"), legacy, ""},
      {"IpValueBadAddress", PolicyKind::kIdentity,
       cond(R"("IpAddress":{"aws:SourceIp":"300.1.1.1/8"})"), legacy, ""},
      {"IpValueBadPrefix", PolicyKind::kIdentity,
       cond(R"("IpAddress":{"aws:SourceIp":"10.0.0.0/33"})"), legacy, ""},
      {"IpValueHugePrefix", PolicyKind::kIdentity,
       cond(R"("IpAddress":{"aws:SourceIp":"10.0.0.0/99999999999"})"), legacy, ""},
      {"BinaryValueNotBase64", PolicyKind::kIdentity, cond(R"("BinaryEquals":{"test:bin":"!!"})"),
       legacy, ""},
  };
}

TEST(PolicyGrammarTest, RejectsMalformedDocuments) {
  for (const BadDoc& bad : BadDocs()) {
    SCOPED_TRACE(bad.name);
    auto compiled = CompilePolicy(bad.document, bad.kind);
    ASSERT_FALSE(compiled.ok()) << bad.document;
    EXPECT_EQ(compiled.error().code(), Code::kMalformedPolicy);
    EXPECT_EQ(compiled.error().message(), bad.message) << compiled.error().ToLogString();
    if (!bad.detail.empty()) {
      EXPECT_NE(compiled.error().detail().find(bad.detail), std::string::npos)
          << compiled.error().ToLogString();
    }
  }
}

TEST(PolicyGrammarTest, AcceptsWellFormedDocuments) {
  struct Good {
    const char* name;
    PolicyKind kind;
    std::string document;
  };
  const std::vector<Good> good = {
      {"StatementObject", PolicyKind::kIdentity,
       R"({"Version":"2012-10-17","Id":"x","Statement":{"Sid":"1","Effect":"Allow","Action":"*","Resource":"*"}})"},
      {"Version2008", PolicyKind::kIdentity,
       R"({"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})"},
      {"NoVersion", PolicyKind::kIdentity,
       R"({"Statement":{"Effect":"Deny","NotAction":"s3:*","NotResource":"*"}})"},
      {"EmptySidsMayRepeat", PolicyKind::kIdentity,
       Pol(R"({"Sid":"","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"})")},
      {"ConditionValuesOfEveryJsonType", PolicyKind::kIdentity,
       Pol(Stmt(
           "Allow", "*", "*",
           R"("NumericLessThan":{"test:n":[1,2.5,"3"]},"Bool":{"aws:SecureTransport":true},)"
           R"("ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",7]},"DateLessThan":{"aws:CurrentTime":)"
           R"(["2024-01-01","2024-01-01T10:00Z","2024-01-01T10:00:00.5+0130","1704067200"]},)"
           R"("IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1","2001:db8::/128"]},"BinaryEquals":{"t:b":"AA=="})"))},
      {"PrincipalForms", PolicyKind::kResource,
       Pol(R"({"Effect":"Allow","Principal":{"AWS":["*","111122223333","arn:aws:iam::111122223333:root",)"
           R"("arn:aws:iam::111122223333:role/r","arn:aws:sts::111122223333:assumed-role/r/s"],)"
           R"("Federated":"arn:aws:iam::111122223333:oidc-provider/x","Service":"secretsmanager.amazonaws.com",)"
           R"("CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},)"
           R"("Action":"secretsmanager:*","Resource":"*"})")},
      {"NotPrincipalInResourcePolicy", PolicyKind::kResource,
       Pol(R"({"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"*","Resource":"*"})")},
      {"TrustWithoutResource", PolicyKind::kTrust,
       Pol(R"({"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/x"},)"
           R"("Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]})")},
  };
  for (const Good& g : good) {
    SCOPED_TRACE(g.name);
    auto compiled = CompilePolicy(g.document, g.kind);
    EXPECT_TRUE(compiled.ok()) << compiled.error().ToLogString() << "\n" << g.document;
  }
}

// --- messages, key sets, cache
// --------------------------------------------------------------------

TEST(DenialMessageTest, UsesAwsWording) {
  EXPECT_EQ(DenialMessage(kAliceArn, kGet, "app/db", Decision::kImplicitDeny),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: app/db because no identity-based policy "
            "allows the "
            "secretsmanager:GetSecretValue action");
  EXPECT_EQ(
      DenialMessage(kCarolArn, kGet, kSecret, Decision::kImplicitDenyResource),
      std::string("User: arn:aws:iam::444455556666:user/carol is not authorized to perform: "
                  "secretsmanager:GetSecretValue on resource: ") +
          kSecret +
          " because no resource-based policy allows the secretsmanager:GetSecretValue action");
  EXPECT_EQ(DenialMessage(kAliceArn, kGet, "app/db", Decision::kExplicitDenyIdentity),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: app/db with an explicit deny in an "
            "identity-based policy");
  EXPECT_EQ(DenialMessage(kAliceArn, kGet, "app/db", Decision::kExplicitDenyResource),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: app/db with an explicit deny in a "
            "resource-based policy");
  EXPECT_EQ(DenialMessage(kAliceArn, "secretsmanager:ListSecrets", "*", Decision::kImplicitDeny),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "secretsmanager:ListSecrets "
            "because no identity-based policy allows the secretsmanager:ListSecrets action");
  EXPECT_EQ(DenialMessage(kAliceArn, kGet, "app/db", Decision::kAllow), "");
}

TEST(PolicyKeySetsTest, LooksUpKeysInEverySet) {
  auto policy = CompilePolicy(
      Allow(kGet, "*",
            R"("StringEquals":{"aws:username":"alice","secretsmanager:ResourceTag/env":"prod"},)"
            R"("StringEqualsIfExists":{"secretsmanager:VersionStage":"AWSCURRENT"})"),
      PolicyKind::kIdentity);
  ASSERT_TRUE(policy.ok()) << policy.error().ToLogString();
  access::ContextKeys request_keys;
  request_keys.Set("aws:username", "alice");
  access::ContextKeys resource_keys;
  resource_keys.Set("secretsmanager:ResourceTag/env", "prod");
  access::ContextKeys action_keys;
  action_keys.Set("secretsmanager:VersionStage", "AWSPREVIOUS");
  Principal alice = MakePrincipal(Who::kAlice);
  EvalRequest request;
  request.action = kGet;
  request.resource = kSecret;
  request.resource_account = kAccount;
  request.principal = &alice;
  request.keys = &request_keys;
  request.more_keys = {&resource_keys, nullptr};
  request.identity_policies = {policy->get()};
  EXPECT_EQ(Evaluate(request).decision, Decision::kAllow);
  request.more_keys = {&resource_keys, &action_keys};
  EXPECT_EQ(Evaluate(request).decision, Decision::kImplicitDeny);
  request.more_keys = {nullptr, nullptr};
  EXPECT_EQ(Evaluate(request).decision, Decision::kImplicitDeny);
  request.principal = nullptr;
  EXPECT_EQ(Evaluate(request).decision, Decision::kImplicitDeny);
}

TEST(PolicyCacheTest, ReturnsTheSameCompiledObjectForTheSameText) {
  PolicyCache cache(8);
  const std::string doc = Allow(kGet, "*");
  auto a = cache.Get(doc, PolicyKind::kIdentity);
  auto b = cache.Get(std::string(doc), PolicyKind::kIdentity);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(cache.size(), 1u);

  const std::string resource_doc = Pol(RStmt("Allow", "\"*\""));
  auto r1 = cache.Get(resource_doc, PolicyKind::kResource);
  auto r2 = cache.Get(resource_doc, PolicyKind::kTrust);  // same text, other kind: its own entry
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r1->get(), r2->get());
  EXPECT_EQ(cache.size(), 3u);

  auto bad = cache.Get("{", PolicyKind::kIdentity);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kMalformedPolicy);
  EXPECT_EQ(cache.size(), 3u);  // failures are not cached
}

TEST(PolicyCacheTest, StaysBoundedAndKeepsEvictedPoliciesAlive) {
  PolicyCache cache(4);
  auto first = cache.Get(Allow("s3:Get0", "*"), PolicyKind::kIdentity);
  ASSERT_TRUE(first.ok());
  for (int i = 1; i < 20; ++i) {
    ASSERT_TRUE(cache.Get(Allow("s3:Get" + std::to_string(i), "*"), PolicyKind::kIdentity).ok());
    EXPECT_LE(cache.size(), 4u);
  }
  // The evicted policy still evaluates: the caller holds its own reference.
  Principal alice = MakePrincipal(Who::kAlice);
  EvalRequest request;
  request.action = "s3:Get0";
  request.resource = "*";
  request.principal = &alice;
  request.identity_policies = {first->get()};
  EXPECT_EQ(Evaluate(request).decision, Decision::kAllow);
}

}  // namespace
}  // namespace arca::iam
