// `arca server rekey`: adds a master key version and re-wraps every data key with it.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "crypto/keyring.h"
#include "kms/service.h"
#include "secrets/service.h"
#include "server/app.h"
#include "server/rekey.h"
#include "store/open.h"

namespace arca::server {

namespace {

struct VersionRef {
  std::string secret_id;
  std::string version_id;
};

// Lists what is not yet wrapped with `target` (in one read transaction).
Status CollectWork(store::Store& store, std::uint32_t target, std::vector<VersionRef>* versions,
                   std::vector<std::string>* access_keys) {
  ARCA_ASSIGN_OR_RETURN(auto txn, store.Begin(store::TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(auto secrets, txn->ListAllSecrets());
  for (const auto& secret : secrets) {
    ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListVersions(secret.id));
    for (const auto& v : rows) {
      // A version sealed under a KMS key holds a KMS blob, not a master-key envelope: kms/ rewraps
      // the KMS key's materials instead.
      if (!v.kms_key_arn.empty()) continue;
      if (v.sealed.key_version != target) versions->push_back({v.secret_id, v.version_id});
    }
  }
  ARCA_ASSIGN_OR_RETURN(auto keys, txn->ListAccessKeys());
  for (const auto& k : keys) {
    if (k.secret.key_version != target) access_keys->push_back(k.access_key_id);
  }
  return OkStatus();
}

// Re-wraps one batch of versions in one write transaction. Each row is read again inside the
// transaction so a concurrent change by the server (labels, last access) is not lost.
Status RewrapVersions(store::Store& store, const crypto::Keyring& keyring,
                      const std::vector<VersionRef>& batch, RekeyCounts* counts) {
  ARCA_ASSIGN_OR_RETURN(auto txn, store.Begin(store::TxnMode::kWrite));
  for (const auto& ref : batch) {
    ARCA_ASSIGN_OR_RETURN(auto secret, txn->GetSecretById(ref.secret_id));
    if (!secret.has_value()) continue;  // purged meanwhile
    ARCA_ASSIGN_OR_RETURN(auto version, txn->GetVersion(ref.secret_id, ref.version_id));
    if (!version.has_value() || !version->kms_key_arn.empty() ||
        version->sealed.key_version == keyring.current_version()) {
      continue;
    }
    auto rewrapped = keyring.Rewrap(version->sealed, secrets::ValueAad(*secret, *version));
    if (!rewrapped.ok()) {
      ++counts->failed;
      log::Error("cannot re-wrap a secret version",
                 {{"arn", secret->arn}, {"version_id", version->version_id},
                  {"key_version", version->sealed.key_version}, {"error", rewrapped.error().ToLogString()}});
      continue;
    }
    version->sealed = std::move(rewrapped).value();
    ARCA_RETURN_IF_ERROR(txn->UpdateVersion(*version));
    ++counts->versions;
  }
  return txn->Commit();
}

Status RewrapAccessKeys(store::Store& store, const crypto::Keyring& keyring,
                        const std::vector<std::string>& batch, RekeyCounts* counts) {
  ARCA_ASSIGN_OR_RETURN(auto txn, store.Begin(store::TxnMode::kWrite));
  for (const auto& id : batch) {
    ARCA_ASSIGN_OR_RETURN(auto key, txn->GetAccessKey(id));
    if (!key.has_value() || key->secret.key_version == keyring.current_version()) continue;
    auto rewrapped = keyring.Rewrap(key->secret, key->access_key_id);
    if (!rewrapped.ok()) {
      ++counts->failed;
      log::Error("cannot re-wrap an access key",
                 {{"access_key_id", key->access_key_id}, {"key_version", key->secret.key_version},
                  {"error", rewrapped.error().ToLogString()}});
      continue;
    }
    key->secret = std::move(rewrapped).value();
    ARCA_RETURN_IF_ERROR(txn->PutAccessKey(*key));
    ++counts->access_keys;
  }
  return txn->Commit();
}

template <typename T, typename Fn>
Status InBatches(const std::vector<T>& items, std::size_t batch_size, Fn fn) {
  for (std::size_t i = 0; i < items.size(); i += batch_size) {
    const auto end = items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + batch_size));
    std::vector<T> batch(items.begin() + static_cast<std::ptrdiff_t>(i), end);
    ARCA_RETURN_IF_ERROR(fn(batch));
  }
  return OkStatus();
}

// Binds the data directory to the new version before any value depends on it.
Status StoreCheckValue(store::Store& store, const crypto::Keyring& keyring, std::uint32_t version) {
  ARCA_ASSIGN_OR_RETURN(auto txn, store.Begin(store::TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto existing, txn->GetSetting(MasterKeyCheckSetting(version)));
  if (existing.has_value()) return keyring.VerifyCheckValue(version, *existing);
  ARCA_ASSIGN_OR_RETURN(std::string check, keyring.MakeCheckValue(version));
  ARCA_RETURN_IF_ERROR(txn->PutSetting(MasterKeyCheckSetting(version), check));
  return txn->Commit();
}

int Fail(std::string_view msg, const Error& e) {
  log::Error(msg, {{"error", e.ToLogString()}});
  std::cerr << "arca server rekey: " << msg << ": " << e.message() << "\n";
  return kExitFailure;
}

}  // namespace

Result<RekeyCounts> RewrapAll(store::Store& store, const crypto::Keyring& keyring, std::size_t batch_size) {
  if (batch_size == 0) batch_size = 1;
  const std::uint32_t target = keyring.current_version();
  std::vector<VersionRef> versions;
  std::vector<std::string> access_keys;
  ARCA_RETURN_IF_ERROR(CollectWork(store, target, &versions, &access_keys));
  RekeyCounts counts;
  ARCA_RETURN_IF_ERROR(InBatches(versions, batch_size, [&](const std::vector<VersionRef>& batch) {
    return RewrapVersions(store, keyring, batch, &counts);
  }));
  ARCA_RETURN_IF_ERROR(InBatches(access_keys, batch_size, [&](const std::vector<std::string>& batch) {
    return RewrapAccessKeys(store, keyring, batch, &counts);
  }));
  kms::KmsService kms(store, keyring, SystemClock::Instance(), kms::ServiceOptions{});
  ARCA_ASSIGN_OR_RETURN(int materials, kms.RewrapMaterials());
  counts.kms_materials = materials;
  return counts;
}

int RunRekey(Config config) {
  log::Level level = log::Level::kInfo;
  if (log::ParseLevel(config.log_level, &level)) log::SetLevel(level);
  ::umask(077);
  if (config.master_key.has_value()) {
    config.master_key.reset();
    std::cerr << "arca server rekey: ARCA_MASTER_KEY is set; rekey works only with a master key file "
                 "(unset ARCA_MASTER_KEY and pass --master-key-file)\n";
    return kExitUsage;
  }
  const std::string store_url = StoreUrl(config);
  if (!store::IsPostgresUrl(store_url)) {
    const std::string db_path = store_url.substr(std::string_view("sqlite:").size());
    struct stat st {};
    if (::stat(db_path.c_str(), &st) != 0) {
      std::cerr << "arca server rekey: no Arca database at " << db_path << " (check --data-dir)\n";
      return kExitFailure;
    }
  }

  auto old_keyring = crypto::Keyring::FromFile(config.master_key_file, /*create_if_missing=*/false);
  if (!old_keyring.ok()) return Fail("cannot load the master key", old_keyring.error());
  auto store = store::OpenStoreUrl(store_url, store::OpenOptions{.listen = false});
  if (!store.ok()) return Fail("cannot open the store", store.error());
  if (auto s = CheckMasterKey(**store, **old_keyring); !s.ok()) {
    return Fail("cannot rekey", s.error());
  }

  {  // Before touching the key file: can this store list every secret?
    auto txn = (*store)->Begin(store::TxnMode::kRead);
    if (!txn.ok()) return Fail("cannot rekey", txn.error());
    if (auto all = (*txn)->ListAllSecrets(); !all.ok()) return Fail("cannot rekey", all.error());
  }
  auto added = crypto::Keyring::AddVersionToFile(config.master_key_file);
  if (!added.ok()) return Fail("cannot add a master key version", added.error());
  const std::uint32_t version = *added;
  log::Info("master key version added", {{"version", version}, {"path", config.master_key_file}});

  auto keyring = crypto::Keyring::FromFile(config.master_key_file, /*create_if_missing=*/false);
  if (!keyring.ok()) return Fail("cannot load the new master key", keyring.error());
  if ((*keyring)->current_version() != version) {
    return Fail("cannot rekey", Error(Code::kInternal, "the key file's current version is " +
                                                           std::to_string((*keyring)->current_version()) +
                                                           ", expected " + std::to_string(version)));
  }
  if (auto s = StoreCheckValue(**store, **keyring, version); !s.ok()) {
    return Fail("cannot store the new master key check value", s.error());
  }

  // A running server notices the new key file on its next seal; a value it sealed just before that
  // can land after the first pass went by, so sweep again until a pass finds nothing old.
  RekeyCounts counts;
  for (int pass = 0; pass < 3; ++pass) {
    auto rewrapped = RewrapAll(**store, **keyring);
    if (!rewrapped.ok()) return Fail("re-wrapping failed (run rekey again to finish)", rewrapped.error());
    counts.versions += rewrapped->versions;
    counts.access_keys += rewrapped->access_keys;
    counts.kms_materials += rewrapped->kms_materials;
    counts.failed += rewrapped->failed;
    if (rewrapped->failed > 0 || rewrapped->versions + rewrapped->access_keys + rewrapped->kms_materials == 0) break;
    if (pass == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  log::Info("rekey finished", {{"version", version},
                               {"secret_versions", counts.versions},
                               {"access_keys", counts.access_keys},
                               {"kms_materials", counts.kms_materials},
                               {"failed", counts.failed}});
  std::cout << "master key version " << version << " added to " << config.master_key_file << "; re-wrapped "
            << counts.versions << " secret version(s) and " << counts.access_keys << " access key(s) and " << counts.kms_materials
            << " KMS key material version(s)";
  if (counts.failed > 0) std::cout << "; " << counts.failed << " row(s) could not be re-wrapped (see log)";
  std::cout << "\n";
  return counts.failed > 0 ? kExitFailure : kExitOk;
}

}  // namespace arca::server
