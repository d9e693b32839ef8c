#pragma once
// Which Store a URL names (stand-in on the audit branch for main's store/open.h: keep main's).

#include <string_view>

namespace arca::store {

// postgres:// and postgresql:// URLs name the PostgreSQL store.
inline bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

}  // namespace arca::store
