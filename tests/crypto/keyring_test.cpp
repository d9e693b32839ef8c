#include "crypto/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::crypto {
namespace {

std::string KeyBytes(char fill) { return std::string(kAeadKeySize, fill); }

std::string KeyLine(std::uint32_t version, char fill) {
  return "arca-master-key v1 " + std::to_string(version) + " " + Base64Encode(KeyBytes(fill));
}

std::unique_ptr<Keyring> TestRing(std::uint32_t version, char fill) {
  return Keyring::ForTest(version, SecretBytes::CopyOf(KeyBytes(fill)));
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "arca-keyring-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(KeyringTest, SealOpenRoundTrip) {
  auto ring = TestRing(1, 'k');
  auto sealed = ring->Seal("s3cr3t value", "arn:aws:secretsmanager:us-east-1:1:secret:a|v1");
  ASSERT_TRUE(sealed.ok()) << sealed.error().ToLogString();
  EXPECT_EQ(sealed->key_version, 1u);
  EXPECT_EQ(sealed->ciphertext.size(), kAeadNonceSize + 12 + kAeadTagSize);
  EXPECT_EQ(sealed->wrapped_key.size(), kAeadNonceSize + kAeadKeySize + kAeadTagSize);
  EXPECT_EQ(sealed->ciphertext.find("s3cr3t"), std::string::npos);
  auto opened = ring->Open(*sealed, "arn:aws:secretsmanager:us-east-1:1:secret:a|v1");
  ASSERT_TRUE(opened.ok()) << opened.error().ToLogString();
  EXPECT_EQ(opened->view(), "s3cr3t value");

  // Each value gets its own data key.
  auto again = ring->Seal("s3cr3t value", "arn:aws:secretsmanager:us-east-1:1:secret:a|v1");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->wrapped_key, sealed->wrapped_key);
  EXPECT_NE(again->ciphertext, sealed->ciphertext);

  auto empty = ring->Seal("", "aad");
  ASSERT_TRUE(empty.ok());
  auto empty_opened = ring->Open(*empty, "aad");
  ASSERT_TRUE(empty_opened.ok());
  EXPECT_TRUE(empty_opened->empty());
}

TEST(KeyringTest, WrongAadFails) {
  auto ring = TestRing(1, 'k');
  auto sealed = ring->Seal("value", "arn-a|v1");
  ASSERT_TRUE(sealed.ok());
  auto r = ring->Open(*sealed, "arn-b|v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
}

TEST(KeyringTest, TamperingFails) {
  auto ring = TestRing(1, 'k');
  auto sealed = ring->Seal("value", "aad");
  ASSERT_TRUE(sealed.ok());
  {
    Sealed bad = *sealed;
    bad.wrapped_key[kAeadNonceSize + 3] ^= 0x40;
    auto r = ring->Open(bad, "aad");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  }
  {
    Sealed bad = *sealed;
    bad.ciphertext.back() ^= 0x01;
    auto r = ring->Open(bad, "aad");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  }
  {
    // A data key from another value does not open this ciphertext.
    auto other = ring->Seal("other", "aad");
    ASSERT_TRUE(other.ok());
    Sealed bad = *sealed;
    bad.wrapped_key = other->wrapped_key;
    auto r = ring->Open(bad, "aad");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  }
  {
    Sealed bad = *sealed;
    bad.wrapped_key.clear();
    auto r = ring->Open(bad, "aad");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  }
  // Another master key of the same version number.
  auto other_ring = TestRing(1, 'x');
  auto r = other_ring->Open(*sealed, "aad");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
}

TEST(KeyringTest, UnknownVersionFailsNamingIt) {
  auto ring = TestRing(1, 'k');
  auto sealed = ring->Seal("value", "aad");
  ASSERT_TRUE(sealed.ok());
  sealed->key_version = 7;
  auto r = ring->Open(*sealed, "aad");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  EXPECT_NE(r.error().message().find("version 7"), std::string::npos) << r.error().message();
  auto rw = ring->Rewrap(*sealed, "aad");
  ASSERT_FALSE(rw.ok());
  EXPECT_EQ(rw.error().code(), Code::kDecryptionFailure);
}

TEST(KeyringTest, MultiVersionTextHighestIsCurrent) {
  std::string text = "# Arca master keys\n" + KeyLine(1, 'a') + "\n\n   \n" + KeyLine(3, 'c') +
                     "\r\n" + "  # another comment; with a semicolon\n" + KeyLine(2, 'b') + "\n";
  auto ring = Keyring::FromText(text);
  ASSERT_TRUE(ring.ok()) << ring.error().ToLogString();
  EXPECT_EQ((*ring)->current_version(), 3u);
  EXPECT_TRUE((*ring)->HasVersion(1));
  EXPECT_TRUE((*ring)->HasVersion(2));
  EXPECT_TRUE((*ring)->HasVersion(3));
  EXPECT_FALSE((*ring)->HasVersion(4));
  EXPECT_FALSE((*ring)->HasVersion(0));

  auto sealed = (*ring)->Seal("v", "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->key_version, 3u);
  // The same key material, loaded alone, opens it.
  auto only3 = TestRing(3, 'c');
  EXPECT_EQ(only3->Open(*sealed, "aad")->view(), "v");
  // Values sealed under older versions still open.
  auto old = TestRing(1, 'a')->Seal("old", "aad");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ((*ring)->Open(*old, "aad")->view(), "old");
}

TEST(KeyringTest, SemicolonSeparatedText) {
  std::string text = KeyLine(1, 'a') + ";" + KeyLine(2, 'b') + " ; ";
  auto ring = Keyring::FromText(text);
  ASSERT_TRUE(ring.ok()) << ring.error().ToLogString();
  EXPECT_EQ((*ring)->current_version(), 2u);
  EXPECT_TRUE((*ring)->HasVersion(1));
}

TEST(KeyringTest, RejectsMalformedText) {
  const std::string b64 = Base64Encode(KeyBytes('z'));
  const std::string cases[] = {
      "",
      "# only a comment\n\n",
      "arca-master-key v1 1",
      "arca-master-key v1 1 " + b64 + " extra",
      "other-key v1 1 " + b64,
      "arca-master-key v2 1 " + b64,
      "arca-master-key v1 0 " + b64,
      "arca-master-key v1 -1 " + b64,
      "arca-master-key v1 +1 " + b64,
      "arca-master-key v1 x1 " + b64,
      "arca-master-key v1 4294967296 " + b64,
      "arca-master-key v1 1 " + Base64Encode(std::string(16, 'z')),
      "arca-master-key v1 1 " + b64.substr(0, b64.size() - 1),
      "arca-master-key v1 1 " + b64 + "\narca-master-key v1 1 " + b64,
  };
  for (const std::string& text : cases) {
    auto ring = Keyring::FromText(text);
    ASSERT_FALSE(ring.ok()) << text;
    EXPECT_EQ(ring.error().code(), Code::kInvalidParameter) << text;
    EXPECT_FALSE(ring.error().message().empty());
    // Key material never appears in the error.
    EXPECT_EQ(ring.error().message().find(b64.substr(0, 20)), std::string::npos);
    EXPECT_EQ(ring.error().detail().find(b64.substr(0, 20)), std::string::npos);
  }
  auto ring = Keyring::FromText(KeyLine(1, 'a') + "\n" + KeyLine(2, 'b') + "\nbroken line\n");
  ASSERT_FALSE(ring.ok());
  EXPECT_NE(ring.error().message().find("line 3"), std::string::npos) << ring.error().message();
}

TEST(KeyringTest, RewrapKeepsCiphertextAndMovesToCurrentVersion) {
  auto v1 = TestRing(1, 'a');
  auto sealed = v1->Seal("payload", "aad");
  ASSERT_TRUE(sealed.ok());

  auto both = Keyring::FromText(KeyLine(1, 'a') + "\n" + KeyLine(2, 'b'));
  ASSERT_TRUE(both.ok());
  auto rewrapped = (*both)->Rewrap(*sealed, "aad");
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.error().ToLogString();
  EXPECT_EQ(rewrapped->key_version, 2u);
  EXPECT_EQ(rewrapped->ciphertext, sealed->ciphertext);
  EXPECT_NE(rewrapped->wrapped_key, sealed->wrapped_key);
  EXPECT_EQ((*both)->Open(*rewrapped, "aad")->view(), "payload");
  // Only version 2 is needed now.
  EXPECT_EQ(TestRing(2, 'b')->Open(*rewrapped, "aad")->view(), "payload");
  // The old keyring does not know version 2.
  auto r = v1->Open(*rewrapped, "aad");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  // Rewrap checks the AAD too.
  auto bad = (*both)->Rewrap(*sealed, "other");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kDecryptionFailure);
}

TEST(KeyringTest, CheckValue) {
  auto ring = TestRing(1, 'a');
  auto check = ring->MakeCheckValue(1);
  ASSERT_TRUE(check.ok()) << check.error().ToLogString();
  EXPECT_TRUE(ring->VerifyCheckValue(1, *check).ok());

  auto wrong = TestRing(1, 'b');
  Status s = wrong->VerifyCheckValue(1, *check);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kPreconditionNotMet);
  EXPECT_EQ(s.error().message(),
            "the master key does not match this data directory (key version 1)");

  // A check value made for one version does not verify as another.
  auto two = Keyring::FromText(KeyLine(1, 'a') + "\n" + KeyLine(2, 'a'));
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE((*two)->VerifyCheckValue(1, *check).ok());
  s = (*two)->VerifyCheckValue(2, *check);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kPreconditionNotMet);

  s = ring->VerifyCheckValue(5, *check);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kPreconditionNotMet);
  s = ring->VerifyCheckValue(1, "garbage");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kPreconditionNotMet);
  EXPECT_FALSE(ring->MakeCheckValue(9).ok());
}

TEST(KeyringFileTest, CreatesMissingFileWithMode0600) {
  TempDir dir;
  std::string path = dir.File("master.key");
  auto ring = Keyring::FromFile(path, /*create_if_missing=*/true);
  ASSERT_TRUE(ring.ok()) << ring.error().ToLogString();
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ((*ring)->current_version(), 1u);
  std::string text = ReadAll(path);
  EXPECT_NE(text.find("arca-master-key v1 1 "), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
  // No temporary files are left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.File(""))) ++files;
  EXPECT_EQ(files, 1);

  // Loading it again gives the same key.
  auto sealed = (*ring)->Seal("v", "aad");
  ASSERT_TRUE(sealed.ok());
  auto again = Keyring::FromFile(path, /*create_if_missing=*/true);
  ASSERT_TRUE(again.ok()) << again.error().ToLogString();
  EXPECT_EQ((*again)->Open(*sealed, "aad")->view(), "v");
  EXPECT_EQ(ReadAll(path), text);
}

TEST(KeyringFileTest, MissingFileWithoutCreateFails) {
  TempDir dir;
  auto ring = Keyring::FromFile(dir.File("absent.key"), /*create_if_missing=*/false);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().code(), Code::kPreconditionNotMet);
  EXPECT_NE(ring.error().message().find("absent.key"), std::string::npos);
}

TEST(KeyringFileTest, RefusesFilesOthersCanRead) {
  TempDir dir;
  std::string path = dir.File("master.key");
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    WriteFile(path, KeyLine(1, 'a') + "\n", mode);
    auto ring = Keyring::FromFile(path, /*create_if_missing=*/true);
    ASSERT_FALSE(ring.ok()) << std::oct << mode;
    EXPECT_EQ(ring.error().code(), Code::kPreconditionNotMet);
    EXPECT_NE(ring.error().message().find(path), std::string::npos) << ring.error().message();
    EXPECT_NE(ring.error().message().find("chmod 600"), std::string::npos)
        << ring.error().message();
    EXPECT_EQ(ring.error().message().find(Base64Encode(KeyBytes('a'))), std::string::npos);
    // AddVersionToFile refuses it too.
    auto added = Keyring::AddVersionToFile(path);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error().code(), Code::kPreconditionNotMet);
  }
  for (mode_t mode : {0600, 0400}) {
    WriteFile(path, KeyLine(1, 'a') + "\n", mode);
    auto ring = Keyring::FromFile(path, /*create_if_missing=*/false);
    EXPECT_TRUE(ring.ok()) << std::oct << mode << " " << ring.error().ToLogString();
  }
}

TEST(KeyringFileTest, RejectsMalformedFile) {
  TempDir dir;
  std::string path = dir.File("master.key");
  WriteFile(path, "not a key\n", 0600);
  auto ring = Keyring::FromFile(path, /*create_if_missing=*/true);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().code(), Code::kInvalidParameter);
  EXPECT_NE(ring.error().message().find(path), std::string::npos);
}

TEST(KeyringFileTest, AddVersionThenReload) {
  TempDir dir;
  std::string path = dir.File("master.key");
  auto ring = Keyring::FromFile(path, /*create_if_missing=*/true);
  ASSERT_TRUE(ring.ok()) << ring.error().ToLogString();
  auto old = (*ring)->Seal("old value", "aad");
  ASSERT_TRUE(old.ok());
  std::string before = ReadAll(path);

  auto added = Keyring::AddVersionToFile(path);
  ASSERT_TRUE(added.ok()) << added.error().ToLogString();
  EXPECT_EQ(*added, 2u);
  EXPECT_EQ(ModeOf(path), 0600u);
  std::string after = ReadAll(path);
  EXPECT_EQ(after.substr(0, before.size()), before);  // existing versions kept verbatim
  EXPECT_NE(after.find("arca-master-key v1 2 "), std::string::npos);

  // The running keyring keeps using version 1 until it reloads.
  EXPECT_EQ((*ring)->current_version(), 1u);
  ASSERT_TRUE((*ring)->Reload().ok());
  EXPECT_EQ((*ring)->current_version(), 2u);
  auto fresh = (*ring)->Seal("new value", "aad");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->key_version, 2u);
  EXPECT_EQ((*ring)->Open(*old, "aad")->view(), "old value");
  EXPECT_EQ((*ring)->Open(*fresh, "aad")->view(), "new value");

  // Without an explicit Reload, the next Seal notices the changed file and uses the new version:
  // a running server starts sealing with the version `arca server rekey` added.
  auto third = Keyring::AddVersionToFile(path);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 3u);
  auto sealed_after_rekey = (*ring)->Seal("newest", "aad");
  ASSERT_TRUE(sealed_after_rekey.ok());
  EXPECT_EQ(sealed_after_rekey->key_version, 3u);
  auto rewrapped = (*ring)->Rewrap(*old, "aad");
  ASSERT_TRUE(rewrapped.ok());
  EXPECT_EQ(rewrapped->key_version, 3u);
  auto reloaded = Keyring::FromFile(path, false);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->current_version(), 3u);

  // Text keyrings have nothing to reload.
  EXPECT_TRUE(TestRing(1, 'a')->Reload().ok());
}

TEST(KeyringFileTest, AddVersionToFileWithoutTrailingNewline) {
  TempDir dir;
  std::string path = dir.File("master.key");
  WriteFile(path, KeyLine(4, 'a'), 0600);
  auto added = Keyring::AddVersionToFile(path);
  ASSERT_TRUE(added.ok()) << added.error().ToLogString();
  EXPECT_EQ(*added, 5u);
  auto ring = Keyring::FromFile(path, false);
  ASSERT_TRUE(ring.ok()) << ring.error().ToLogString();
  EXPECT_TRUE((*ring)->HasVersion(4));
  EXPECT_EQ((*ring)->current_version(), 5u);
}

TEST(KeyringFileTest, OpenReloadsWhenAnotherProcessAddedAVersion) {
  TempDir dir;
  std::string path = dir.File("master.key");
  auto server = Keyring::FromFile(path, /*create_if_missing=*/true);
  ASSERT_TRUE(server.ok());
  // `arca server rekey` adds version 2; another replica picks it up and seals with it.
  ASSERT_TRUE(Keyring::AddVersionToFile(path).ok());
  auto replica = Keyring::FromFile(path, false);
  ASSERT_TRUE(replica.ok());
  auto sealed = (*replica)->Seal("from the replica", "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->key_version, 2u);

  EXPECT_FALSE((*server)->HasVersion(2));
  auto opened = (*server)->Open(*sealed, "aad");
  ASSERT_TRUE(opened.ok()) << opened.error().ToLogString();
  EXPECT_EQ(opened->view(), "from the replica");
  EXPECT_EQ((*server)->current_version(), 2u);

  // A version nobody has still fails, naming the version.
  sealed->key_version = 9;
  auto r = (*server)->Open(*sealed, "aad");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  EXPECT_NE(r.error().message().find("version 9"), std::string::npos);
}

TEST(KeyringFileTest, ConcurrentUseWhileReloading) {
  TempDir dir;
  std::string path = dir.File("master.key");
  auto ring = Keyring::FromFile(path, /*create_if_missing=*/true);
  ASSERT_TRUE(ring.ok());
  Keyring& k = **ring;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&k, &failures, t] {
      for (int i = 0; i < 200; ++i) {
        std::string aad = "t" + std::to_string(t) + "/" + std::to_string(i);
        auto sealed = k.Seal("value", aad);
        if (!sealed.ok()) {
          ++failures;
          continue;
        }
        auto opened = k.Open(*sealed, aad);
        if (!opened.ok() || opened->view() != "value") ++failures;
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Keyring::AddVersionToFile(path).ok());
    ASSERT_TRUE(k.Reload().ok());
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(k.current_version(), 4u);
}

}  // namespace
}  // namespace arca::crypto
