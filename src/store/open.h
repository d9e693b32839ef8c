#pragma once
// Opens a store named by URL: "sqlite:PATH" (the embedded default) or a PostgreSQL URL
// ("postgres://..." / "postgresql://...", libpq's syntax).
//
// Thread-safety: free functions without shared state.

#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace arca::store {

struct OpenOptions {
  bool listen = true;  // PostgreSQL: follow other replicas' commits (LISTEN); off for one-shot tools
};

// kInvalidParameter for a URL of neither kind; otherwise what OpenSqliteStore or OpenPostgresStore
// return.
Result<std::unique_ptr<Store>> OpenStoreUrl(const std::string& url, const OpenOptions& options = {});

bool IsPostgresUrl(const std::string& url);
// The URL without a password, for logs and messages.
std::string DescribeStoreUrl(const std::string& url);

}  // namespace arca::store
