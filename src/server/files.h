#pragma once
// File-system steps of server start-up: the data directory and the admin credentials file.
//
// Thread-safety: free functions; callers must not write the same path concurrently.

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::server {

// Creates `dir` (and missing parents) if absent; the directory itself gets mode 0700. An existing
// directory is kept as it is. kInvalidParameter if the path exists and is not a directory,
// kUnavailable (with strerror) when it cannot be created.
Status EnsureDataDir(const std::string& dir);

// The AWS shared-credentials text for profile [arca]. The result holds the secret.
SecretBytes CredentialsFileText(std::string_view access_key_id, const SecretBytes& secret_access_key);

// Writes CredentialsFileText() to `path` with mode 0600: a new temporary file (O_CREAT|O_EXCL) in the
// same directory, fsync, rename over `path`, fsync of the directory. kUnavailable with strerror on
// failure; the temporary file is removed.
Status WriteCredentialsFile(const std::string& path, std::string_view access_key_id,
                            const SecretBytes& secret_access_key);

}  // namespace arca::server
