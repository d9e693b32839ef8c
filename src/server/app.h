#pragma once
// The composition root: `arca server` (RunServer) and `arca server rekey` (RunRekey). Both return the
// process exit code: 0 after a clean stop, 1 when start-up or the work fails, 2 for unusable settings.
//
// Thread-safety: each Run* function is called once, from the main thread, before any other thread
// exists (RunServer blocks SIGTERM/SIGINT for every thread it later starts).

#include <cstdint>
#include <string>

#include "core/result.h"
#include "crypto/keyring.h"
#include "server/config.h"
#include "store/store.h"

namespace arca::server {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The store setting that holds the check value of one master key version.
std::string MasterKeyCheckSetting(std::uint32_t version);

// For every version the keyring has: stores Keyring::MakeCheckValue when the store has none (first
// start), else verifies it. kPreconditionNotMet ("the master key does not match this data directory")
// when a check value does not verify, or when the store has a check value for a version newer than the
// keyring's current one (a key file older than the data).
Status CheckMasterKey(store::Store& store, const crypto::Keyring& keyring);

int RunServer(Config config);
int RunRekey(Config config);

}  // namespace arca::server
