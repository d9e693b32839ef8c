#include "store/postgres/postgres_store.h"

namespace arca::store {

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& /*options*/) {
  return Error(Code::kUnavailable, "the PostgreSQL store is not built yet");
}

std::string RedactPostgresUrl(const std::string& url) { return url; }

}  // namespace arca::store
