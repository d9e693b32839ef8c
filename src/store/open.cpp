#include "store/open.h"

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::store {

bool IsPostgresUrl(const std::string& url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

std::string DescribeStoreUrl(const std::string& url) {
  return IsPostgresUrl(url) ? RedactPostgresUrl(url) : url;
}

Result<std::unique_ptr<Store>> OpenStoreUrl(const std::string& url, const OpenOptions& options) {
  if (url.starts_with("sqlite:")) {
    const std::string path = url.substr(7);
    if (path.empty()) return Error(Code::kInvalidParameter, "sqlite: needs a file path");
    return OpenSqliteStore(path);
  }
  if (IsPostgresUrl(url)) {
    PostgresOptions pg;
    pg.url = url;
    pg.listen = options.listen;
    return OpenPostgresStore(pg);
  }
  return Error(Code::kInvalidParameter,
               "unknown store URL: expected sqlite:PATH, postgres://... or postgresql://...");
}

}  // namespace arca::store
