#pragma once
// Router: picks the protocol front-end for a request and returns its response. Every front-end
// authenticates (SigV4 for AWS), decodes, calls a domain service and encodes, in its own error shape.
// Today: AWS JSON 1.1 with X-Amz-Target "secretsmanager.<Operation>".
//
// Thread-safety: Handle() may be called concurrently.

#include <memory>
#include <string>

#include "core/clock.h"
#include "http/message.h"
#include "iam/access_keys.h"
#include "secrets/service.h"

namespace arca::frontends {

struct Services {
  secrets::SecretsService* secrets = nullptr;
  iam::AccessKeys* access_keys = nullptr;
  const Clock* clock = nullptr;
};

class Router {
 public:
  explicit Router(Services services);
  ~Router();
  http::Response Handle(const http::Request& request);
  // For errors found before the request was whole (too large, malformed): answers in the shape of
  // the protocol the headers point to.
  http::Response HandleError(const http::Request& partial, int status, const std::string& why);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::frontends
