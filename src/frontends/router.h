#pragma once
// Router: picks the protocol front-end for a request and returns its response. Every front-end
// authenticates (SigV4 for AWS), decodes, calls a domain service and encodes, in its own error shape.
//   - AWS JSON 1.1, by X-Amz-Target: "secretsmanager.<Operation>" (Secrets Manager),
//     "TrentService.<Operation>" (KMS), "AmazonSSM.<Operation>" (SSM Parameter Store) and
//     "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>" (CloudTrail);
//   - the AWS query protocol (form-encoded Action=...): IAM or STS, told apart by the SigV4
//     credential scope's service, or for unsigned requests by the action (AssumeRoleWithWebIdentity);
//   - GET /arca/v1/changes: the change stream (change_stream.h), SigV4-signed for secretsmanager.
//
// Thread-safety: Handle() may be called concurrently.

#include <memory>
#include <string>

#include "audit/query.h"
#include "core/clock.h"
#include "frontends/aws/request_path.h"
#include "http/message.h"
#include "iam/access_keys.h"
#include "iam/directory.h"
#include "iam/sessions.h"
#include "iam/sts.h"
#include "kms/service.h"
#include "params/service.h"
#include "secrets/service.h"

namespace arca::frontends {

struct Services {
  secrets::SecretsService* secrets = nullptr;
  iam::AccessKeys* access_keys = nullptr;
  const Clock* clock = nullptr;
  iam::SessionTokens* sessions = nullptr;        // temporary credentials (STS)
  iam::Directory* directory = nullptr;           // the IAM API
  iam::StsService* sts = nullptr;                // the STS API
  const audit::EventQuery* audit_query = nullptr;  // CloudTrail LookupEvents
  kms::KmsService* kms = nullptr;                // KMS (TrentService)
  params::ParamsService* params = nullptr;       // SSM Parameter Store (AmazonSSM)
  // The authorizer, audit log, metrics and alerts around every call (empty: allow-all, unrecorded).
  aws::RequestHooks hooks;
};

class Router {
 public:
  explicit Router(Services services);
  ~Router();
  http::Response Handle(const http::Request& request);
  // For a graceful stop: pending change-stream long-polls answer now, later ones do not wait.
  void Shutdown();
  // For errors found before the request was whole (too large, malformed): answers in the shape of
  // the protocol the headers point to.
  http::Response HandleError(const http::Request& partial, int status, const std::string& why);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::frontends
