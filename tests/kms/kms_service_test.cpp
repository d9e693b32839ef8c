#include "kms/service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/ids.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "kms/blob.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::kms {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kDay = 24h;

// Records every question and denies the actions listed in `deny`.
class RecordingGate final : public access::Gate {
 public:
  struct Ask {
    std::string action;
    std::string arn;
    std::string policy;
    access::ContextKeys resource_keys;
    access::ContextKeys action_keys;
  };
  using access::Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* action_keys) override {
    asks.push_back(Ask{std::string(action), resource.arn, resource.policy, resource.keys,
                       action_keys != nullptr ? *action_keys : access::ContextKeys{}});
    if (deny.contains(std::string(action))) {
      return Error(Code::kAccessDenied, "User: test is not authorized to perform: " + std::string(action) +
                                            " on resource: " + resource.arn);
    }
    return OkStatus();
  }
  const Ask* Find(std::string_view action) const {
    for (const Ask& a : asks) {
      if (a.action == action) return &a;
    }
    return nullptr;
  }
  std::vector<Ask> asks;
  std::set<std::string> deny;
};

std::string One(const access::ContextKeys& keys, std::string_view name) {
  const std::vector<std::string>* v = keys.Find(name);
  return v == nullptr || v->size() != 1 ? std::string("<none>") : (*v)[0];
}

// The error's KMS name, or "OK".
template <typename T>
std::string WireOf(const Result<T>& r) {
  if (r.ok()) return "OK";
  return r.error().wire_type().empty() ? std::string(CodeName(r.error().code())) : r.error().wire_type();
}

class KmsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-kms-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    master_ = crypto::RandomSecret(32);
    keyring_ = crypto::Keyring::ForTest(1, master_.Clone());
    service_ = std::make_unique<KmsService>(*store_, *keyring_, clock_, ServiceOptions{});
    ctx_.region = "us-east-1";
    ctx_.principal_arn = "arn:aws:iam::000000000000:user/alice";
    ctx_.gate = &gate_;
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  KeyMetadata Create(std::string description = "") {
    CreateKeyInput in;
    in.description = std::move(description);
    auto out = service_->CreateKey(ctx_, in);
    EXPECT_TRUE(out.ok()) << out.error().ToLogString();
    return out.ok() ? std::move(out).value() : KeyMetadata{};
  }

  Result<EncryptOutput> Enc(const std::string& key, std::string_view plaintext, EncryptionContext ec = {}) {
    EncryptInput in;
    in.key_id = key;
    in.plaintext = SecretBytes::CopyOf(plaintext);
    in.encryption_context = std::move(ec);
    return service_->Encrypt(ctx_, in);
  }
  std::string Blob(const std::string& key, std::string_view plaintext, EncryptionContext ec = {}) {
    auto out = Enc(key, plaintext, std::move(ec));
    EXPECT_TRUE(out.ok()) << out.error().ToLogString();
    return out.ok() ? out->ciphertext_blob : std::string();
  }
  Result<DecryptOutput> Dec(const std::string& blob, EncryptionContext ec = {},
                            std::optional<std::string> key_id = std::nullopt) {
    DecryptInput in;
    in.ciphertext_blob = blob;
    in.encryption_context = std::move(ec);
    in.key_id = std::move(key_id);
    return service_->Decrypt(ctx_, in);
  }
  std::string Plain(const std::string& blob, EncryptionContext ec = {}) {
    auto out = Dec(blob, std::move(ec));
    if (!out.ok()) return "ERR:" + WireOf(out);
    return std::string(out->plaintext.view());
  }
  std::string State(const std::string& key) {
    auto d = service_->DescribeKey(ctx_, {key});
    return d.ok() ? d->key_state : "ERR:" + WireOf(d);
  }

  fs::path dir_;
  FakeClock clock_;
  SecretBytes master_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<KmsService> service_;
  RecordingGate gate_;
  Context ctx_;
};

// ---- keys ----

TEST_F(KmsServiceTest, CreateKeyHasAwsShape) {
  KeyMetadata k = Create("my key");
  EXPECT_TRUE(LooksLikeUuid(k.key_id)) << k.key_id;
  EXPECT_EQ(k.arn, "arn:aws:kms:us-east-1:000000000000:key/" + k.key_id);
  EXPECT_EQ(k.aws_account_id, "000000000000");
  EXPECT_EQ(k.description, "my key");
  EXPECT_TRUE(k.enabled);
  EXPECT_EQ(k.key_state, "Enabled");
  EXPECT_EQ(k.key_usage, "ENCRYPT_DECRYPT");
  EXPECT_EQ(k.key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(k.origin, "AWS_KMS");
  EXPECT_EQ(k.key_manager, "CUSTOMER");
  EXPECT_EQ(k.encryption_algorithms, std::vector<std::string>{"SYMMETRIC_DEFAULT"});
  EXPECT_FALSE(k.multi_region);
  EXPECT_FALSE(k.deletion_date.has_value());
  EXPECT_EQ(k.current_key_material_id.size(), 64u);
  EXPECT_EQ(ToUnixMillis(k.creation_date), ToUnixMillis(clock_.Now()));
  const RecordingGate::Ask* ask = gate_.Find("kms:CreateKey");
  ASSERT_NE(ask, nullptr);
  EXPECT_EQ(ask->arn, "*");
  EXPECT_EQ(One(ask->action_keys, "kms:KeySpec"), "SYMMETRIC_DEFAULT");

  // No description: AWS shows an empty one.
  EXPECT_EQ(Create().description, "");
}

TEST_F(KmsServiceTest, DefaultKeyPolicyIsAwsDefault) {
  KeyMetadata k = Create();
  auto p = service_->GetKeyPolicy(ctx_, {k.key_id, std::nullopt});
  ASSERT_TRUE(p.ok()) << p.error().ToLogString();
  EXPECT_EQ(p->policy_name, "default");
  EXPECT_NE(p->policy.find("\"Id\" : \"key-default-1\""), std::string::npos) << p->policy;
  EXPECT_NE(p->policy.find("\"Sid\" : \"Enable IAM User Permissions\""), std::string::npos);
  EXPECT_NE(p->policy.find("\"AWS\" : \"arn:aws:iam::000000000000:root\""), std::string::npos);
  EXPECT_NE(p->policy.find("\"Action\" : \"kms:*\""), std::string::npos);
  EXPECT_EQ(WireOf(service_->GetKeyPolicy(ctx_, {k.key_id, "other"})), "NotFoundException");
  auto names = service_->ListKeyPolicies(ctx_, {k.key_id, {}});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->policy_names, std::vector<std::string>{"default"});

  // The policy travels to the gate with the key.
  gate_.asks.clear();
  ASSERT_TRUE(service_->DescribeKey(ctx_, {k.key_id}).ok());
  ASSERT_NE(gate_.Find("kms:DescribeKey"), nullptr);
  EXPECT_EQ(gate_.Find("kms:DescribeKey")->policy, p->policy);
  EXPECT_EQ(gate_.Find("kms:DescribeKey")->arn, k.arn);

  const std::string mine = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]})";
  ASSERT_TRUE(service_->PutKeyPolicy(ctx_, {k.key_id, std::nullopt, mine, false}).ok());
  EXPECT_EQ(service_->GetKeyPolicy(ctx_, {k.key_id, "default"})->policy, mine);
  EXPECT_EQ(WireOf(service_->PutKeyPolicy(ctx_, {k.key_id, std::nullopt, "not json", false})),
            "MalformedPolicyDocumentException");
  EXPECT_EQ(WireOf(service_->PutKeyPolicy(ctx_, {k.key_id, std::nullopt, "", false})), "ValidationException");

  CreateKeyInput with_policy;
  with_policy.policy = mine;
  auto created = service_->CreateKey(ctx_, with_policy);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(service_->GetKeyPolicy(ctx_, {created->key_id, std::nullopt})->policy, mine);
}

TEST_F(KmsServiceTest, CreateKeyRejectsWhatAwsRejects) {
  auto with = [&](auto mutate) {
    CreateKeyInput in;
    mutate(in);
    return WireOf(service_->CreateKey(ctx_, in));
  };
  EXPECT_EQ(with([](CreateKeyInput& in) { in.key_spec = "RSA_2048"; }), "UnsupportedOperationException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.key_spec = "NOPE"; }), "ValidationException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.key_usage = "SIGN_VERIFY"; }), "ValidationException");
  EXPECT_EQ(with([](CreateKeyInput& in) {
              in.key_spec = "SYMMETRIC_DEFAULT";
              in.customer_master_key_spec = "SYMMETRIC_DEFAULT";
            }),
            "ValidationException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.origin = "EXTERNAL"; }), "UnsupportedOperationException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.multi_region = true; }), "UnsupportedOperationException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.custom_key_store_id = "cks-1"; }), "CustomKeyStoreNotFoundException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.description = std::string(8193, 'd'); }), "ValidationException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.tags = {{"aws:x", "v"}}; }), "TagException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.tags = {{"a", "1"}, {"a", "2"}}; }), "TagException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.tags = {{std::string(129, 'k'), "v"}}; }), "ValidationException");
  EXPECT_EQ(with([](CreateKeyInput& in) {
              for (int i = 0; i < 51; ++i) in.tags.push_back({"k" + std::to_string(i), "v"});
            }),
            "TagException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.policy = "{"; }), "MalformedPolicyDocumentException");
  EXPECT_EQ(with([](CreateKeyInput& in) { in.key_spec = "SYMMETRIC_DEFAULT"; in.key_usage = "ENCRYPT_DECRYPT"; }),
            "OK");
  // What the message says for a bad enum value.
  CreateKeyInput bad;
  bad.key_usage = "RANDOM";
  auto r = service_->CreateKey(ctx_, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: Member "
            "must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC, KEY_AGREEMENT]");
}

TEST_F(KmsServiceTest, KeysAreNamedByIdArnAliasAndAliasArn) {
  KeyMetadata k = Create();
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/app", k.key_id}).ok());
  for (const std::string& ref : {k.key_id, k.arn, std::string("alias/app"),
                                 std::string("arn:aws:kms:us-east-1:000000000000:alias/app")}) {
    auto d = service_->DescribeKey(ctx_, {ref});
    ASSERT_TRUE(d.ok()) << ref << ": " << d.error().ToLogString();
    EXPECT_EQ(d->key_id, k.key_id);
  }
  // Upper-case key ids name the same key.
  std::string upper = k.key_id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(service_->DescribeKey(ctx_, {upper})->key_id, k.key_id);
}

TEST_F(KmsServiceTest, NotFoundMessagesAreAws) {
  auto msg = [&](const std::string& ref) {
    auto d = service_->DescribeKey(ctx_, {ref});
    EXPECT_EQ(WireOf(d), "NotFoundException") << ref;
    return d.ok() ? std::string() : d.error().message();
  };
  EXPECT_EQ(msg("not-a-key"), "Invalid keyId 'not-a-key'");
  const std::string id = "11111111-2222-4333-8444-555555555555";
  EXPECT_EQ(msg(id), "Key 'arn:aws:kms:us-east-1:000000000000:key/" + id + "' does not exist");
  EXPECT_EQ(msg("alias/none"), "Alias arn:aws:kms:us-east-1:000000000000:alias/none is not found.");
  EXPECT_EQ(msg("arn:aws:kms:eu-west-1:000000000000:key/" + id), "Invalid arn eu-west-1");

  // A key of another region is not found by its id either.
  KeyMetadata k = Create();
  ctx_.region = "eu-west-1";
  EXPECT_EQ(msg(k.key_id), "Key 'arn:aws:kms:eu-west-1:000000000000:key/" + k.key_id + "' does not exist");
  EXPECT_EQ(WireOf(service_->DescribeKey(ctx_, {""})), "ValidationException");
  // Operations that take only key ids refuse aliases.
  ctx_.region = "us-east-1";
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/x", k.key_id}).ok());
  EXPECT_EQ(WireOf(service_->EnableKey(ctx_, {"alias/x"})), "NotFoundException");
}

TEST_F(KmsServiceTest, MissingKeyIsDeniedBeforeNotFound) {
  gate_.deny.insert("kms:DescribeKey");
  auto d = service_->DescribeKey(ctx_, {"11111111-2222-4333-8444-555555555555"});
  EXPECT_EQ(d.ok() ? Code::kOk : d.error().code(), Code::kAccessDenied);
}

TEST_F(KmsServiceTest, ListKeysPagesWithMarkers) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Create().key_id);
    clock_.Advance(1s);
  }
  ctx_.region = "eu-west-1";
  Create();  // another region's key is not listed
  ctx_.region = "us-east-1";

  auto first = service_->ListKeys(ctx_, Page{2, std::nullopt});
  ASSERT_TRUE(first.ok()) << first.error().ToLogString();
  ASSERT_EQ(first->keys.size(), 2u);
  EXPECT_TRUE(first->truncated);
  ASSERT_TRUE(first->next_marker.has_value());
  EXPECT_EQ(first->keys[0].key_id, ids[0]);
  EXPECT_EQ(first->keys[0].key_arn, "arn:aws:kms:us-east-1:000000000000:key/" + ids[0]);
  auto second = service_->ListKeys(ctx_, Page{2, first->next_marker});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->keys.size(), 1u);
  EXPECT_EQ(second->keys[0].key_id, ids[2]);
  EXPECT_FALSE(second->truncated);
  EXPECT_FALSE(second->next_marker.has_value());
  EXPECT_EQ(service_->ListKeys(ctx_, Page{})->keys.size(), 3u);
  EXPECT_EQ(WireOf(service_->ListKeys(ctx_, Page{std::nullopt, "garbage"})), "InvalidMarkerException");
  EXPECT_EQ(WireOf(service_->ListKeys(ctx_, Page{0, std::nullopt})), "ValidationException");
  EXPECT_EQ(WireOf(service_->ListKeys(ctx_, Page{1001, std::nullopt})), "ValidationException");
  ASSERT_NE(gate_.Find("kms:ListKeys"), nullptr);
  EXPECT_EQ(gate_.Find("kms:ListKeys")->arn, "*");
}

TEST_F(KmsServiceTest, UpdateKeyDescription) {
  KeyMetadata k = Create("old");
  ASSERT_TRUE(service_->UpdateKeyDescription(ctx_, {k.key_id, "new"}).ok());
  EXPECT_EQ(service_->DescribeKey(ctx_, {k.key_id})->description, "new");
  EXPECT_EQ(WireOf(service_->UpdateKeyDescription(ctx_, {k.key_id, std::string(8193, 'x')})),
            "ValidationException");
}

// ---- aliases ----

TEST_F(KmsServiceTest, AliasLifecycle) {
  KeyMetadata a = Create();
  KeyMetadata b = Create();
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/app", a.key_id}).ok());
  const RecordingGate::Ask* on_alias = nullptr;
  for (const auto& ask : gate_.asks) {
    if (ask.action == "kms:CreateAlias" && ask.arn == "arn:aws:kms:us-east-1:000000000000:alias/app") on_alias = &ask;
  }
  EXPECT_NE(on_alias, nullptr);
  bool on_key = false;
  for (const auto& ask : gate_.asks) on_key |= ask.action == "kms:CreateAlias" && ask.arn == a.arn;
  EXPECT_TRUE(on_key);

  auto dup = service_->CreateAlias(ctx_, {"alias/app", b.key_id});
  EXPECT_EQ(WireOf(dup), "AlreadyExistsException");
  EXPECT_EQ(dup.error().message(),
            "An alias with the name arn:aws:kms:us-east-1:000000000000:alias/app already exists");

  auto listed = service_->ListAliases(ctx_, {});
  ASSERT_TRUE(listed.ok()) << listed.error().ToLogString();
  std::vector<std::string> names;
  for (const auto& e : listed->aliases) names.push_back(e.alias_name);
  // The predefined AWS aliases are listed without a key until first use, as AWS lists them.
  EXPECT_EQ(names, (std::vector<std::string>{"alias/app", "alias/aws/secretsmanager", "alias/aws/ssm"}));
  EXPECT_EQ(listed->aliases[0].target_key_id, a.key_id);
  EXPECT_EQ(listed->aliases[0].alias_arn, "arn:aws:kms:us-east-1:000000000000:alias/app");
  EXPECT_TRUE(listed->aliases[0].creation_date.has_value());
  EXPECT_FALSE(listed->aliases[1].target_key_id.has_value());

  // KeyId filter.
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/other", b.key_id}).ok());
  auto of_b = service_->ListAliases(ctx_, {b.arn, {}});
  ASSERT_TRUE(of_b.ok());
  ASSERT_EQ(of_b->aliases.size(), 1u);
  EXPECT_EQ(of_b->aliases[0].alias_name, "alias/other");

  // Update moves it; the key is now b.
  clock_.Advance(5s);
  ASSERT_TRUE(service_->UpdateAlias(ctx_, {"alias/app", b.key_id}).ok());
  EXPECT_EQ(service_->DescribeKey(ctx_, {"alias/app"})->key_id, b.key_id);
  auto after = service_->ListAliases(ctx_, {b.key_id, {}});
  ASSERT_EQ(after->aliases.size(), 2u);
  EXPECT_EQ(ToUnixMillis(*after->aliases[0].last_updated_date) - ToUnixMillis(*after->aliases[0].creation_date),
            5000);

  ASSERT_TRUE(service_->DeleteAlias(ctx_, {"alias/app"}).ok());
  EXPECT_EQ(WireOf(service_->DescribeKey(ctx_, {"alias/app"})), "NotFoundException");
  auto gone = service_->DeleteAlias(ctx_, {"alias/app"});
  EXPECT_EQ(WireOf(gone), "NotFoundException");
  EXPECT_EQ(gone.error().message(), "Alias arn:aws:kms:us-east-1:000000000000:alias/app is not found.");
  EXPECT_EQ(WireOf(service_->UpdateAlias(ctx_, {"alias/app", a.key_id})), "NotFoundException");
}

TEST_F(KmsServiceTest, AliasNameRules) {
  KeyMetadata k = Create();
  auto no_prefix = service_->CreateAlias(ctx_, {"app", k.key_id});
  EXPECT_EQ(WireOf(no_prefix), "ValidationException");
  EXPECT_EQ(no_prefix.error().message(),
            "Alias must start with the prefix \"alias/\". Please see "
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/aws/mine", k.key_id})), "NotAuthorizedException");
  EXPECT_EQ(WireOf(service_->DeleteAlias(ctx_, {"alias/aws/secretsmanager"})), "NotAuthorizedException");
  EXPECT_EQ(WireOf(service_->UpdateAlias(ctx_, {"alias/aws/ssm", k.key_id})), "NotAuthorizedException");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/a b", k.key_id})), "ValidationException");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/a:b", k.key_id})), "ValidationException");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/" + std::string(251, 'a'), k.key_id})), "ValidationException");
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/first", k.key_id}).ok());
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/second", "alias/first"})), "ValidationException");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/second", "11111111-2222-4333-8444-555555555555"})),
            "NotFoundException");
  // Same name in another region is another alias.
  ctx_.region = "eu-west-1";
  KeyMetadata west = Create();
  EXPECT_TRUE(service_->CreateAlias(ctx_, {"alias/first", west.key_id}).ok());
  // A key pending deletion takes no new alias.
  ASSERT_TRUE(service_->ScheduleKeyDeletion(ctx_, {west.key_id, 7}).ok());
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/late", west.key_id})), "KMSInvalidStateException");
}

// ---- cryptography ----

TEST_F(KmsServiceTest, EncryptDecryptWithEncryptionContext) {
  KeyMetadata k = Create();
  EncryptionContext ec = {{"purpose", "test"}, {"app", "x"}};
  auto enc = Enc(k.key_id, "hello world", ec);
  ASSERT_TRUE(enc.ok()) << enc.error().ToLogString();
  EXPECT_EQ(enc->key_id, k.arn);
  EXPECT_EQ(enc->encryption_algorithm, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(enc->ciphertext_blob.find("hello world"), std::string::npos);

  // Order of the context does not matter; every pair does.
  auto dec = Dec(enc->ciphertext_blob, {{"app", "x"}, {"purpose", "test"}});
  ASSERT_TRUE(dec.ok()) << dec.error().ToLogString();
  EXPECT_EQ(dec->plaintext.view(), "hello world");
  EXPECT_EQ(dec->key_id, k.arn);
  EXPECT_EQ(dec->key_material_id, k.current_key_material_id);
  EXPECT_EQ(Plain(enc->ciphertext_blob), "ERR:InvalidCiphertextException");
  EXPECT_EQ(Plain(enc->ciphertext_blob, {{"purpose", "test"}}), "ERR:InvalidCiphertextException");
  EXPECT_EQ(Plain(enc->ciphertext_blob, {{"purpose", "test"}, {"app", "y"}}), "ERR:InvalidCiphertextException");
  EXPECT_EQ(Plain(enc->ciphertext_blob, {{"purpose", "test"}, {"app", "x"}, {"extra", "1"}}),
            "ERR:InvalidCiphertextException");

  // Each encryption is fresh.
  EXPECT_NE(Blob(k.key_id, "hello world", ec), enc->ciphertext_blob);

  // The gate saw kms:Encrypt with the context keys, kms:Decrypt the same.
  const RecordingGate::Ask* e = gate_.Find("kms:Encrypt");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->arn, k.arn);
  EXPECT_EQ(One(e->action_keys, "kms:EncryptionContext:purpose"), "test");
  EXPECT_EQ(One(e->action_keys, "kms:CallerAccount"), "000000000000");
  EXPECT_EQ(One(e->action_keys, "kms:EncryptionAlgorithm"), "SYMMETRIC_DEFAULT");
  EXPECT_EQ(One(e->action_keys, "kms:ViaService"), "<none>");
  ASSERT_NE(gate_.Find("kms:Decrypt"), nullptr);
  EXPECT_EQ(gate_.Find("kms:Decrypt")->arn, k.arn);
}

TEST_F(KmsServiceTest, DecryptRejectsForeignAndTamperedBlobs) {
  KeyMetadata k = Create();
  std::string blob = Blob(k.key_id, "data");
  EXPECT_EQ(Plain("not a blob at all, clearly"), "ERR:InvalidCiphertextException");
  std::string tampered = blob;
  tampered.back() = static_cast<char>(tampered.back() ^ 1);
  EXPECT_EQ(Plain(tampered), "ERR:InvalidCiphertextException");
  std::string truncated = blob.substr(0, 30);
  EXPECT_EQ(Plain(truncated), "ERR:InvalidCiphertextException");
  EXPECT_EQ(WireOf(Dec(std::string(6145, 'x'))), "ValidationException");
  EXPECT_EQ(WireOf(Dec("")), "ValidationException");
  // A blob that names a material version the key never had.
  auto parsed = ParseBlob(blob);
  ASSERT_TRUE(parsed.ok());
  std::string wrong_version = blob;
  wrong_version[22] = 9;
  EXPECT_EQ(Plain(wrong_version), "ERR:InvalidCiphertextException");
  // The blob is bound to its region.
  ctx_.region = "eu-west-1";
  EXPECT_EQ(Plain(blob), "ERR:InvalidCiphertextException");
}

TEST_F(KmsServiceTest, DecryptWithKeyIdMustNameTheBlobsKey) {
  KeyMetadata a = Create();
  KeyMetadata b = Create();
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/a", a.key_id}).ok());
  std::string blob = Blob(a.key_id, "data");
  auto wrong = Dec(blob, {}, b.key_id);
  EXPECT_EQ(WireOf(wrong), "IncorrectKeyException");
  EXPECT_EQ(wrong.error().message(),
            "The key ID in the request does not identify a CMK that can perform this operation.");
  EXPECT_TRUE(Dec(blob, {}, a.arn).ok());
  EXPECT_TRUE(Dec(blob, {}, "alias/a").ok());
  EXPECT_EQ(WireOf(Dec(blob, {}, "alias/missing")), "NotFoundException");
}

TEST_F(KmsServiceTest, EncryptLimitsAndAlgorithms) {
  KeyMetadata k = Create();
  auto empty = Enc(k.key_id, "");
  EXPECT_EQ(WireOf(empty), "ValidationException");
  auto big = Enc(k.key_id, std::string(4097, 'x'));
  EXPECT_EQ(WireOf(big), "ValidationException");
  EXPECT_EQ(big.error().message(),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have "
            "length less than or equal to 4096");
  EXPECT_TRUE(Enc(k.key_id, std::string(4096, 'x')).ok());
  EncryptInput in;
  in.key_id = k.key_id;
  in.plaintext = SecretBytes::CopyOf("x");
  in.encryption_algorithm = "RSAES_OAEP_SHA_256";
  EXPECT_EQ(WireOf(service_->Encrypt(ctx_, in)), "InvalidKeyUsageException");
  in.encryption_algorithm = "BOGUS";
  EXPECT_EQ(WireOf(service_->Encrypt(ctx_, in)), "ValidationException");
  in.encryption_algorithm = "SYMMETRIC_DEFAULT";
  in.dry_run = true;
  EXPECT_EQ(WireOf(service_->Encrypt(ctx_, in)), "DryRunOperationException");
  EXPECT_EQ(WireOf(Enc("alias/nope", "x")), "NotFoundException");
}

TEST_F(KmsServiceTest, GenerateDataKeyAndWithoutPlaintext) {
  KeyMetadata k = Create();
  GenerateDataKeyInput in;
  in.key_id = k.key_id;
  in.key_spec = "AES_256";
  in.encryption_context = {{"k", "v"}};
  auto dk = service_->GenerateDataKey(ctx_, in);
  ASSERT_TRUE(dk.ok()) << dk.error().ToLogString();
  EXPECT_EQ(dk->plaintext.size(), 32u);
  EXPECT_EQ(dk->key_id, k.arn);
  EXPECT_EQ(dk->key_material_id, k.current_key_material_id);
  auto back = Dec(dk->ciphertext_blob, {{"k", "v"}});
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(crypto::ConstantTimeEquals(back->plaintext.view(), dk->plaintext.view()));
  ASSERT_NE(gate_.Find("kms:GenerateDataKey"), nullptr);

  in.key_spec = "AES_128";
  EXPECT_EQ(service_->GenerateDataKey(ctx_, in)->plaintext.size(), 16u);
  in.key_spec.reset();
  in.number_of_bytes = 64;
  EXPECT_EQ(service_->GenerateDataKey(ctx_, in)->plaintext.size(), 64u);
  in.key_spec = "AES_256";
  auto both = service_->GenerateDataKey(ctx_, in);
  EXPECT_EQ(WireOf(both), "ValidationException");
  EXPECT_EQ(both.error().message(), "Please specify either number of bytes or key spec.");
  in.key_spec.reset();
  in.number_of_bytes.reset();
  EXPECT_EQ(WireOf(service_->GenerateDataKey(ctx_, in)), "ValidationException");
  in.number_of_bytes = 1025;
  EXPECT_EQ(WireOf(service_->GenerateDataKey(ctx_, in)), "ValidationException");
  in.number_of_bytes.reset();
  in.key_spec = "AES_512";
  EXPECT_EQ(WireOf(service_->GenerateDataKey(ctx_, in)), "ValidationException");

  in.key_spec = "AES_256";
  auto without = service_->GenerateDataKeyWithoutPlaintext(ctx_, in);
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->plaintext.empty());
  auto opened = Dec(without->ciphertext_blob, {{"k", "v"}});
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->plaintext.size(), 32u);
  ASSERT_NE(gate_.Find("kms:GenerateDataKeyWithoutPlaintext"), nullptr);
}

TEST_F(KmsServiceTest, GenerateRandom) {
  auto r = service_->GenerateRandom(ctx_, {1024, std::nullopt});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1024u);
  auto none = service_->GenerateRandom(ctx_, {std::nullopt, std::nullopt});
  EXPECT_EQ(WireOf(none), "ValidationException");
  EXPECT_EQ(none.error().message(), "NumberOfBytes is required.");
  auto zero = service_->GenerateRandom(ctx_, {0, std::nullopt});
  EXPECT_EQ(zero.error().message(),
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must "
            "have value greater than or equal to 1");
  auto over = service_->GenerateRandom(ctx_, {1025, std::nullopt});
  EXPECT_EQ(over.error().message(),
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member "
            "must have value less than or equal to 1024");
  EXPECT_EQ(gate_.Find("kms:GenerateRandom")->arn, "*");
}

TEST_F(KmsServiceTest, ReEncryptMovesBetweenKeysAndContexts) {
  KeyMetadata a = Create();
  KeyMetadata b = Create();
  std::string blob = Blob(a.key_id, "secret", {{"from", "a"}});
  ReEncryptInput in;
  in.ciphertext_blob = blob;
  in.source_encryption_context = {{"from", "a"}};
  in.destination_key_id = b.arn;
  in.destination_encryption_context = {{"to", "b"}};
  auto out = service_->ReEncrypt(ctx_, in);
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(out->source_key_id, a.arn);
  EXPECT_EQ(out->key_id, b.arn);
  EXPECT_EQ(Plain(out->ciphertext_blob, {{"to", "b"}}), "secret");
  EXPECT_EQ(Plain(out->ciphertext_blob, {{"from", "a"}}), "ERR:InvalidCiphertextException");
  const RecordingGate::Ask* from = gate_.Find("kms:ReEncryptFrom");
  const RecordingGate::Ask* to = gate_.Find("kms:ReEncryptTo");
  ASSERT_NE(from, nullptr);
  ASSERT_NE(to, nullptr);
  EXPECT_EQ(from->arn, a.arn);
  EXPECT_EQ(to->arn, b.arn);
  EXPECT_EQ(One(to->action_keys, "kms:ReEncryptOnSameKey"), "false");

  in.source_key_id = b.key_id;
  EXPECT_EQ(WireOf(service_->ReEncrypt(ctx_, in)), "IncorrectKeyException");
  in.source_key_id = a.key_id;
  in.source_encryption_context = {{"from", "x"}};
  EXPECT_EQ(WireOf(service_->ReEncrypt(ctx_, in)), "InvalidCiphertextException");
  in.source_encryption_context = {{"from", "a"}};
  ASSERT_TRUE(service_->DisableKey(ctx_, {b.key_id}).ok());
  EXPECT_EQ(WireOf(service_->ReEncrypt(ctx_, in)), "DisabledException");
}

// ---- key state ----

TEST_F(KmsServiceTest, DisabledKeyMakesItsDataUnreadableUntilEnabled) {
  KeyMetadata k = Create();
  std::string blob = Blob(k.key_id, "data");
  ASSERT_TRUE(service_->DisableKey(ctx_, {k.key_id}).ok());
  EXPECT_EQ(State(k.key_id), "Disabled");
  EXPECT_FALSE(service_->DescribeKey(ctx_, {k.key_id})->enabled);
  auto dec = Dec(blob);
  EXPECT_EQ(WireOf(dec), "DisabledException");
  EXPECT_EQ(dec.error().message(), k.arn + " is disabled.");
  EXPECT_EQ(WireOf(Enc(k.key_id, "more")), "DisabledException");
  // Disabling twice is fine, as in AWS.
  EXPECT_TRUE(service_->DisableKey(ctx_, {k.key_id}).ok());
  ASSERT_TRUE(service_->EnableKey(ctx_, {k.key_id}).ok());
  EXPECT_EQ(Plain(blob), "data");
}

TEST_F(KmsServiceTest, ScheduledDeletionWindowCancelAndPurge) {
  KeyMetadata k = Create();
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/doomed", k.key_id}).ok());
  std::string blob = Blob(k.key_id, "data");
  auto bad = service_->ScheduleKeyDeletion(ctx_, {k.key_id, 6});
  EXPECT_EQ(WireOf(bad), "ValidationException");
  EXPECT_EQ(bad.error().message(), "PendingWindowInDays should be between 7 and 30, but it is 6");
  EXPECT_EQ(WireOf(service_->ScheduleKeyDeletion(ctx_, {k.key_id, 31})), "ValidationException");
  EXPECT_EQ(WireOf(service_->ScheduleKeyDeletion(ctx_, {k.key_id, 0})), "ValidationException");

  auto s = service_->ScheduleKeyDeletion(ctx_, {k.key_id, std::nullopt});
  ASSERT_TRUE(s.ok()) << s.error().ToLogString();
  EXPECT_EQ(s->key_id, k.arn);
  EXPECT_EQ(s->key_state, "PendingDeletion");
  EXPECT_EQ(s->pending_window_in_days, 30);
  EXPECT_EQ(ToUnixMillis(s->deletion_date), ToUnixMillis(clock_.Now() + 30 * kDay));
  auto d = service_->DescribeKey(ctx_, {k.key_id});
  EXPECT_EQ(d->key_state, "PendingDeletion");
  EXPECT_FALSE(d->enabled);
  EXPECT_EQ(d->pending_deletion_window_in_days, 30);
  ASSERT_TRUE(d->deletion_date.has_value());

  auto dec = Dec(blob);
  EXPECT_EQ(WireOf(dec), "KMSInvalidStateException");
  EXPECT_EQ(dec.error().message(), k.arn + " is pending deletion.");
  EXPECT_EQ(WireOf(service_->EnableKey(ctx_, {k.key_id})), "KMSInvalidStateException");
  EXPECT_EQ(WireOf(service_->DisableKey(ctx_, {k.key_id})), "KMSInvalidStateException");
  EXPECT_EQ(WireOf(service_->ScheduleKeyDeletion(ctx_, {k.key_id, 7})), "KMSInvalidStateException");
  EXPECT_EQ(WireOf(service_->TagResource(ctx_, {k.key_id, {{"a", "b"}}})), "KMSInvalidStateException");

  // Cancel: the key comes back Disabled, then enabling restores access.
  auto cancelled = service_->CancelKeyDeletion(ctx_, {k.key_id});
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(*cancelled, k.arn);
  EXPECT_EQ(State(k.key_id), "Disabled");
  EXPECT_FALSE(service_->DescribeKey(ctx_, {k.key_id})->deletion_date.has_value());
  EXPECT_EQ(WireOf(service_->CancelKeyDeletion(ctx_, {k.key_id})), "KMSInvalidStateException");
  ASSERT_TRUE(service_->EnableKey(ctx_, {k.key_id}).ok());
  EXPECT_EQ(Plain(blob), "data");

  // Schedule again with 7 days and let the purger run.
  ASSERT_TRUE(service_->ScheduleKeyDeletion(ctx_, {k.key_id, 7}).ok());
  KeyMetadata survivor = Create();
  clock_.Advance(6 * kDay);
  EXPECT_EQ(*service_->PurgeDeletedKeys(), 0);
  EXPECT_EQ(State(k.key_id), "PendingDeletion");
  clock_.Advance(kDay + 1ms);
  EXPECT_EQ(*service_->PurgeDeletedKeys(), 1);
  EXPECT_EQ(State(k.key_id), "ERR:NotFoundException");
  EXPECT_EQ(State("alias/doomed"), "ERR:NotFoundException");
  EXPECT_EQ(State(survivor.key_id), "Enabled");
  auto after = Dec(blob);
  EXPECT_EQ(WireOf(after), "NotFoundException");
  EXPECT_EQ(after.error().message(), "Key '" + k.arn + "' does not exist");
  EXPECT_EQ(*service_->PurgeDeletedKeys(), 0);
}

// ---- rotation ----

TEST_F(KmsServiceTest, RotationStatusAndPeriod) {
  KeyMetadata k = Create();
  auto st = service_->GetKeyRotationStatus(ctx_, {k.key_id});
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->key_rotation_enabled);
  EXPECT_EQ(st->key_id, k.arn);
  EXPECT_FALSE(st->rotation_period_in_days.has_value());
  EXPECT_FALSE(st->next_rotation_date.has_value());

  ASSERT_TRUE(service_->EnableKeyRotation(ctx_, {k.key_id, std::nullopt}).ok());
  st = service_->GetKeyRotationStatus(ctx_, {k.key_id});
  EXPECT_TRUE(st->key_rotation_enabled);
  EXPECT_EQ(st->rotation_period_in_days, 365);
  EXPECT_EQ(ToUnixMillis(*st->next_rotation_date), ToUnixMillis(clock_.Now() + 365 * kDay));

  ASSERT_TRUE(service_->EnableKeyRotation(ctx_, {k.key_id, 90}).ok());
  EXPECT_EQ(service_->GetKeyRotationStatus(ctx_, {k.key_id})->rotation_period_in_days, 90);
  auto low = service_->EnableKeyRotation(ctx_, {k.key_id, 89});
  EXPECT_EQ(WireOf(low), "ValidationException");
  EXPECT_EQ(low.error().message(),
            "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: "
            "Member must have value greater than or equal to 90");
  EXPECT_EQ(WireOf(service_->EnableKeyRotation(ctx_, {k.key_id, 2561})), "ValidationException");

  ASSERT_TRUE(service_->DisableKeyRotation(ctx_, {k.key_id}).ok());
  EXPECT_FALSE(service_->GetKeyRotationStatus(ctx_, {k.key_id})->key_rotation_enabled);

  ASSERT_TRUE(service_->DisableKey(ctx_, {k.key_id}).ok());
  EXPECT_EQ(WireOf(service_->EnableKeyRotation(ctx_, {k.key_id, std::nullopt})), "DisabledException");
  EXPECT_EQ(WireOf(service_->DisableKeyRotation(ctx_, {k.key_id})), "DisabledException");
  EXPECT_TRUE(service_->GetKeyRotationStatus(ctx_, {k.key_id}).ok());
}

TEST_F(KmsServiceTest, OnDemandRotationKeepsOldMaterialForDecryption) {
  KeyMetadata k = Create();
  std::string old_blob = Blob(k.key_id, "before", {{"a", "1"}});
  auto rotated = service_->RotateKeyOnDemand(ctx_, {k.key_id});
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToLogString();
  EXPECT_EQ(*rotated, k.arn);
  KeyMetadata now = *service_->DescribeKey(ctx_, {k.key_id});
  EXPECT_NE(now.current_key_material_id, k.current_key_material_id);

  std::string new_blob = Blob(k.key_id, "after", {{"a", "1"}});
  EXPECT_EQ(ParseBlob(old_blob)->header.material_version, 1u);
  EXPECT_EQ(ParseBlob(new_blob)->header.material_version, 2u);
  EXPECT_EQ(Plain(old_blob, {{"a", "1"}}), "before");
  EXPECT_EQ(Plain(new_blob, {{"a", "1"}}), "after");
  EXPECT_EQ(Dec(old_blob, {{"a", "1"}})->key_material_id, k.current_key_material_id);
  EXPECT_EQ(Dec(new_blob, {{"a", "1"}})->key_material_id, now.current_key_material_id);

  auto list = service_->ListKeyRotations(ctx_, {k.key_id, std::nullopt, {}});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->rotations.size(), 1u);
  EXPECT_EQ(list->rotations[0].key_id, k.key_id);
  EXPECT_EQ(list->rotations[0].rotation_type, "ON_DEMAND");
  EXPECT_EQ(list->rotations[0].key_material_state, "CURRENT");
  EXPECT_EQ(list->rotations[0].key_material_id, now.current_key_material_id);
  auto all = service_->ListKeyRotations(ctx_, {k.key_id, "ALL_KEY_MATERIAL", {}});
  ASSERT_EQ(all->rotations.size(), 2u);
  EXPECT_EQ(all->rotations[0].key_material_state, "NON_CURRENT");
  EXPECT_FALSE(all->rotations[0].rotation_type.has_value());
  EXPECT_EQ(WireOf(service_->ListKeyRotations(ctx_, {k.key_id, "SOME", {}})), "ValidationException");

  // On-demand rotation does not need automatic rotation and is limited to 10.
  for (int i = 1; i < 10; ++i) ASSERT_TRUE(service_->RotateKeyOnDemand(ctx_, {k.key_id}).ok()) << i;
  auto limit = service_->RotateKeyOnDemand(ctx_, {k.key_id});
  EXPECT_EQ(WireOf(limit), "LimitExceededException");
  EXPECT_EQ(limit.error().message(),
            "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations "
            "can be performed for this key: " + k.arn);
  EXPECT_EQ(Plain(old_blob, {{"a", "1"}}), "before");
  auto paged = service_->ListKeyRotations(ctx_, {k.key_id, std::nullopt, Page{4, std::nullopt}});
  EXPECT_EQ(paged->rotations.size(), 4u);
  EXPECT_TRUE(paged->truncated);

  ASSERT_TRUE(service_->DisableKey(ctx_, {k.key_id}).ok());
  EXPECT_EQ(WireOf(service_->RotateKeyOnDemand(ctx_, {k.key_id})), "DisabledException");
}

TEST_F(KmsServiceTest, AutomaticRotationWhenDue) {
  KeyMetadata k = Create();
  KeyMetadata off = Create();
  KeyMetadata disabled = Create();
  ASSERT_TRUE(service_->EnableKeyRotation(ctx_, {k.key_id, 90}).ok());
  ASSERT_TRUE(service_->EnableKeyRotation(ctx_, {disabled.key_id, 90}).ok());
  ASSERT_TRUE(service_->DisableKey(ctx_, {disabled.key_id}).ok());
  std::string blob = Blob(k.key_id, "v1");

  clock_.Advance(89 * kDay);
  EXPECT_EQ(*service_->RotateDueKeys(), 0);
  clock_.Advance(kDay);
  EXPECT_EQ(*service_->RotateDueKeys(), 1);
  EXPECT_EQ(*service_->RotateDueKeys(), 0);  // not again until the next period
  KeyMetadata after = *service_->DescribeKey(ctx_, {k.key_id});
  EXPECT_NE(after.current_key_material_id, k.current_key_material_id);
  EXPECT_EQ(service_->DescribeKey(ctx_, {off.key_id})->current_key_material_id, off.current_key_material_id);
  EXPECT_EQ(service_->DescribeKey(ctx_, {disabled.key_id})->current_key_material_id,
            disabled.current_key_material_id);
  auto st = service_->GetKeyRotationStatus(ctx_, {k.key_id});
  EXPECT_EQ(ToUnixMillis(*st->next_rotation_date), ToUnixMillis(clock_.Now() + 90 * kDay));
  auto rotations = service_->ListKeyRotations(ctx_, {k.key_id, std::nullopt, {}});
  ASSERT_EQ(rotations->rotations.size(), 1u);
  EXPECT_EQ(rotations->rotations[0].rotation_type, "AUTOMATIC");
  EXPECT_EQ(ToUnixMillis(*rotations->rotations[0].rotation_date), ToUnixMillis(clock_.Now()));
  EXPECT_EQ(Plain(blob), "v1");
  EXPECT_EQ(ParseBlob(Blob(k.key_id, "v2"))->header.material_version, 2u);

  // A disabled key rotates once it is enabled again.
  ASSERT_TRUE(service_->EnableKey(ctx_, {disabled.key_id}).ok());
  EXPECT_EQ(*service_->RotateDueKeys(), 1);
}

// ---- tags ----

TEST_F(KmsServiceTest, Tags) {
  CreateKeyInput in;
  in.tags = {{"env", "prod"}, {"team", "a"}};
  auto k = service_->CreateKey(ctx_, in);
  ASSERT_TRUE(k.ok());
  ASSERT_EQ(One(gate_.Find("kms:CreateKey")->action_keys, "aws:RequestTag/env"), "prod");
  auto tags = service_->ListResourceTags(ctx_, {k->key_id, {}});
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->tags.size(), 2u);
  EXPECT_FALSE(tags->truncated);

  ASSERT_TRUE(service_->TagResource(ctx_, {k->key_id, {{"env", "dev"}, {"new", ""}}}).ok());
  tags = service_->ListResourceTags(ctx_, {k->arn, {}});
  ASSERT_EQ(tags->tags.size(), 3u);
  EXPECT_EQ(tags->tags[0].key, "env");
  EXPECT_EQ(tags->tags[0].value, "dev");
  EXPECT_EQ(tags->tags[2].key, "new");
  gate_.asks.clear();
  ASSERT_TRUE(service_->DescribeKey(ctx_, {k->key_id}).ok());
  EXPECT_EQ(One(gate_.Find("kms:DescribeKey")->resource_keys, "aws:ResourceTag/env"), "dev");

  ASSERT_TRUE(service_->UntagResource(ctx_, {k->key_id, {"env", "absent"}}).ok());
  tags = service_->ListResourceTags(ctx_, {k->key_id, {}});
  ASSERT_EQ(tags->tags.size(), 2u);
  EXPECT_EQ(tags->tags[0].key, "team");
  EXPECT_EQ(WireOf(service_->TagResource(ctx_, {k->key_id, {{"AWS:x", "v"}}})), "TagException");
  auto limited = service_->ListResourceTags(ctx_, {k->key_id, Page{1, std::nullopt}});
  EXPECT_EQ(limited->tags.size(), 1u);
  EXPECT_TRUE(limited->truncated);
  EXPECT_EQ(service_->ListResourceTags(ctx_, {k->key_id, Page{1, limited->next_marker}})->tags[0].key, "new");
}

// ---- AWS managed keys ----

TEST_F(KmsServiceTest, AwsManagedKeysAreMadeOnFirstUseAndLockedDown) {
  EXPECT_EQ(service_->ListKeys(ctx_, {})->keys.size(), 0u);
  auto arn = service_->ResolveKeyArn(ctx_, "", "alias/aws/secretsmanager");
  ASSERT_TRUE(arn.ok()) << arn.error().ToLogString();
  EXPECT_EQ(arn->rfind("arn:aws:kms:us-east-1:000000000000:key/", 0), 0u);
  EXPECT_EQ(*service_->ResolveKeyArn(ctx_, "alias/aws/secretsmanager", "alias/aws/ssm"), *arn);
  EXPECT_TRUE(*service_->IsAwsManaged(*arn));
  EXPECT_EQ(service_->ListKeys(ctx_, {})->keys.size(), 1u);

  // DescribeKey on a predefined alias creates its key, as in AWS.
  auto ssm = service_->DescribeKey(ctx_, {"alias/aws/ssm"});
  ASSERT_TRUE(ssm.ok()) << ssm.error().ToLogString();
  EXPECT_EQ(ssm->key_manager, "AWS");
  EXPECT_EQ(ssm->description, "Default key that protects my SSM parameters when no other key is defined");
  EXPECT_EQ(service_->DescribeKey(ctx_, {"alias/aws/ssm"})->key_id, ssm->key_id);
  EXPECT_EQ(WireOf(service_->DescribeKey(ctx_, {"alias/aws/s3"})), "NotFoundException");

  auto listed = service_->ListAliases(ctx_, {});
  ASSERT_EQ(listed->aliases.size(), 2u);
  EXPECT_TRUE(listed->aliases[0].target_key_id.has_value());
  EXPECT_TRUE(listed->aliases[1].target_key_id.has_value());

  // Each region has its own.
  ctx_.region = "eu-west-1";
  auto west = service_->ResolveKeyArn(ctx_, "", "alias/aws/secretsmanager");
  ASSERT_TRUE(west.ok());
  EXPECT_NE(*west, *arn);
  ctx_.region = "us-east-1";

  // Rotated yearly; nothing a client can change.
  auto st = service_->GetKeyRotationStatus(ctx_, {ssm->key_id});
  EXPECT_TRUE(st->key_rotation_enabled);
  EXPECT_EQ(st->rotation_period_in_days, 365);
  EXPECT_EQ(WireOf(service_->DisableKey(ctx_, {ssm->key_id})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->ScheduleKeyDeletion(ctx_, {ssm->key_id, 7})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->EnableKeyRotation(ctx_, {ssm->key_id, std::nullopt})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->RotateKeyOnDemand(ctx_, {ssm->key_id})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->PutKeyPolicy(ctx_, {ssm->key_id, std::nullopt, "{}", false})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->TagResource(ctx_, {ssm->key_id, {{"a", "b"}}})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/mine", ssm->key_id})), "AccessDenied");
  auto direct = Enc("alias/aws/ssm", "x");
  EXPECT_EQ(WireOf(direct), "AccessDenied");
  EXPECT_EQ(direct.error().message(),
            "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: kms:Encrypt on resource: " +
                ssm->arn + " because no resource-based policy allows the kms:Encrypt action");
  auto policy = service_->GetKeyPolicy(ctx_, {ssm->key_id, std::nullopt});
  ASSERT_TRUE(policy.ok());
  EXPECT_NE(policy->policy.find("\"kms:ViaService\" : \"ssm.us-east-1.amazonaws.com\""), std::string::npos);

  // Through the service, the managed key works and the gate is not asked.
  gate_.asks.clear();
  auto dk = service_->GenerateDataKeyFor(ctx_, *arn, {{"SecretARN", "s"}}, "secretsmanager");
  ASSERT_TRUE(dk.ok()) << dk.error().ToLogString();
  EXPECT_TRUE(gate_.asks.empty());
  auto back = service_->DecryptFor(ctx_, dk->blob, {{"SecretARN", "s"}}, "secretsmanager");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(crypto::ConstantTimeEquals(back->view(), dk->plaintext.view()));
  EXPECT_TRUE(gate_.asks.empty());
}

TEST_F(KmsServiceTest, ResolveKeyArnInCallersTransaction) {
  auto txn = store_->Begin(store::TxnMode::kWrite);
  ASSERT_TRUE(txn.ok());
  auto arn = service_->ResolveKeyArn(ctx_, "", "alias/aws/ssm", txn->get());
  ASSERT_TRUE(arn.ok()) << arn.error().ToLogString();
  auto dk = service_->GenerateDataKeyFor(ctx_, *arn, {}, "ssm", txn->get());
  ASSERT_TRUE(dk.ok()) << dk.error().ToLogString();
  auto back = service_->DecryptFor(ctx_, dk->blob, {}, "ssm", txn->get());
  ASSERT_TRUE(back.ok()) << back.error().ToLogString();
  ASSERT_TRUE((*txn)->Commit().ok());
  EXPECT_EQ(*service_->ResolveKeyArn(ctx_, "alias/aws/ssm", ""), *arn);
  auto again = service_->DecryptFor(ctx_, dk->blob, {}, "ssm");
  ASSERT_TRUE(again.ok());
}

// ---- the ...For API ----

TEST_F(KmsServiceTest, ForCallsAuthorizeWithViaServiceAndContext) {
  KeyMetadata k = Create();
  ASSERT_TRUE(service_->CreateAlias(ctx_, {"alias/app", k.key_id}).ok());
  auto arn = service_->ResolveKeyArn(ctx_, "alias/app", "alias/aws/secretsmanager");
  ASSERT_TRUE(arn.ok());
  EXPECT_EQ(*arn, k.arn);
  EXPECT_EQ(*service_->ResolveKeyArn(ctx_, k.key_id, "alias/aws/secretsmanager"), k.arn);
  EXPECT_EQ(WireOf(service_->ResolveKeyArn(ctx_, "alias/none", "alias/aws/secretsmanager")), "NotFoundException");
  EXPECT_FALSE(*service_->IsAwsManaged(k.arn));

  const EncryptionContext ec = {{"SecretARN", "arn:aws:secretsmanager:us-east-1:000000000000:secret:x-abcdef"},
                                {"SecretVersionId", "v1"}};
  gate_.asks.clear();
  auto dk = service_->GenerateDataKeyFor(ctx_, k.arn, ec, "secretsmanager");
  ASSERT_TRUE(dk.ok()) << dk.error().ToLogString();
  EXPECT_EQ(dk->plaintext.size(), 32u);
  EXPECT_EQ(dk->key_arn, k.arn);
  const RecordingGate::Ask* ask = gate_.Find("kms:GenerateDataKey");
  ASSERT_NE(ask, nullptr);
  EXPECT_EQ(ask->arn, k.arn);
  EXPECT_NE(ask->policy.find("Enable IAM User Permissions"), std::string::npos);
  EXPECT_EQ(One(ask->action_keys, "kms:ViaService"), "secretsmanager.us-east-1.amazonaws.com");
  EXPECT_EQ(One(ask->action_keys, "kms:EncryptionContext:SecretVersionId"), "v1");
  EXPECT_EQ(One(ask->action_keys, "kms:CallerAccount"), "000000000000");
  const std::vector<std::string>* aliases = ask->resource_keys.Find("kms:ResourceAliases");
  ASSERT_NE(aliases, nullptr);
  EXPECT_EQ(*aliases, std::vector<std::string>{"alias/app"});

  EXPECT_EQ(*service_->KeyArnOfBlob(dk->blob), k.arn);
  EXPECT_EQ(WireOf(service_->KeyArnOfBlob("junk")), "InvalidCiphertextException");

  auto back = service_->DecryptFor(ctx_, dk->blob, ec, "secretsmanager");
  ASSERT_TRUE(back.ok()) << back.error().ToLogString();
  EXPECT_TRUE(crypto::ConstantTimeEquals(back->view(), dk->plaintext.view()));
  EXPECT_EQ(One(gate_.Find("kms:Decrypt")->action_keys, "kms:ViaService"), "secretsmanager.us-east-1.amazonaws.com");
  EXPECT_EQ(WireOf(service_->DecryptFor(ctx_, dk->blob, {}, "secretsmanager")), "InvalidCiphertextException");

  // The public Decrypt opens what a domain made (same key, same context).
  EXPECT_TRUE(crypto::ConstantTimeEquals(Dec(dk->blob, ec)->plaintext.view(), dk->plaintext.view()));

  // EncryptFor takes any size.
  std::string big(10000, 'z');
  auto blob = service_->EncryptFor(ctx_, k.arn, big, {}, "ssm");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(One(gate_.Find("kms:Encrypt")->action_keys, "kms:ViaService"), "ssm.us-east-1.amazonaws.com");
  EXPECT_EQ(service_->DecryptFor(ctx_, *blob, {}, "ssm")->view(), big);

  // Denials from the gate come back as they are.
  gate_.deny = {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"};
  auto denied = service_->DecryptFor(ctx_, dk->blob, ec, "secretsmanager");
  EXPECT_EQ(denied.ok() ? Code::kOk : denied.error().code(), Code::kAccessDenied);
  EXPECT_EQ(WireOf(service_->GenerateDataKeyFor(ctx_, k.arn, ec, "secretsmanager")), "AccessDenied");
  EXPECT_EQ(WireOf(service_->EncryptFor(ctx_, k.arn, "x", ec, "ssm")), "AccessDenied");
  gate_.deny.clear();

  // A disabled key makes what it protects unreadable; enabling restores it.
  ASSERT_TRUE(service_->DisableKey(ctx_, {k.key_id}).ok());
  EXPECT_EQ(WireOf(service_->DecryptFor(ctx_, dk->blob, ec, "secretsmanager")), "DisabledException");
  EXPECT_EQ(WireOf(service_->GenerateDataKeyFor(ctx_, k.arn, ec, "secretsmanager")), "DisabledException");
  ASSERT_TRUE(service_->EnableKey(ctx_, {k.key_id}).ok());
  EXPECT_TRUE(service_->DecryptFor(ctx_, dk->blob, ec, "secretsmanager").ok());
  ASSERT_TRUE(service_->ScheduleKeyDeletion(ctx_, {k.key_id, 7}).ok());
  EXPECT_EQ(WireOf(service_->DecryptFor(ctx_, dk->blob, ec, "secretsmanager")), "KMSInvalidStateException");

  EXPECT_EQ(WireOf(service_->GenerateDataKeyFor(ctx_, "arn:aws:kms:us-east-1:000000000000:key/"
                                                      "11111111-2222-4333-8444-555555555555",
                                                {}, "ssm")),
            "NotFoundException");
}

// ---- authorization of the public API ----

TEST_F(KmsServiceTest, PublicOperationsAskTheGateUnderTheirIamNames) {
  KeyMetadata k = Create();
  std::string blob = Blob(k.key_id, "x");
  gate_.deny = {"kms:Encrypt", "kms:Decrypt", "kms:DisableKey", "kms:CreateKey", "kms:CreateAlias"};
  EXPECT_EQ(WireOf(Enc(k.key_id, "x")), "AccessDenied");
  EXPECT_EQ(WireOf(Dec(blob)), "AccessDenied");
  EXPECT_EQ(WireOf(service_->DisableKey(ctx_, {k.key_id})), "AccessDenied");
  EXPECT_EQ(State(k.key_id), "Enabled");
  EXPECT_EQ(WireOf(service_->CreateKey(ctx_, {})), "AccessDenied");
  EXPECT_EQ(WireOf(service_->CreateAlias(ctx_, {"alias/x", k.key_id})), "AccessDenied");

  gate_.deny.clear();
  gate_.asks.clear();
  ASSERT_TRUE(service_->EnableKey(ctx_, {k.key_id}).ok());
  ASSERT_TRUE(service_->ScheduleKeyDeletion(ctx_, {k.key_id, 7}).ok());
  ASSERT_TRUE(service_->CancelKeyDeletion(ctx_, {k.key_id}).ok());
  ASSERT_TRUE(service_->ListAliases(ctx_, {}).ok());
  std::vector<std::string> actions;
  for (const auto& a : gate_.asks) actions.push_back(a.action + "@" + (a.arn == "*" ? "*" : "key"));
  EXPECT_EQ(actions, (std::vector<std::string>{"kms:EnableKey@key", "kms:ScheduleKeyDeletion@key",
                                               "kms:CancelKeyDeletion@key", "kms:ListAliases@*"}));
}

// ---- the master key ----

TEST_F(KmsServiceTest, MaterialIsSealedByTheMasterKeyAndRewrapped) {
  KeyMetadata k = Create();
  ASSERT_TRUE(service_->RotateKeyOnDemand(ctx_, {k.key_id}).ok());
  std::string old_blob = Blob(k.key_id, "old");
  {
    auto txn = store_->Begin(store::TxnMode::kRead);
    auto materials = (*txn)->ListKmsMaterials(k.key_id);
    ASSERT_TRUE(materials.ok());
    ASSERT_EQ(materials->size(), 2u);
    for (const auto& m : *materials) {
      EXPECT_EQ(m.sealed.key_version, 1u);
      EXPECT_EQ(m.sealed.ciphertext.size(), 32u + crypto::kAeadNonceSize + crypto::kAeadTagSize);
    }
  }
  EXPECT_EQ(*service_->RewrapMaterials(), 0);  // already under the current version

  // `arca server rekey`: a keyring with a new version 2; the materials move to it.
  SecretBytes second = crypto::RandomSecret(32);
  const std::string text = "arca-master-key v1 1 " + crypto::Base64Encode(master_.view()) +
                           "\narca-master-key v1 2 " + crypto::Base64Encode(second.view()) + "\n";
  auto both = crypto::Keyring::FromText(text);
  ASSERT_TRUE(both.ok()) << both.error().ToLogString();
  KmsService rekeyed(*store_, **both, clock_, ServiceOptions{});
  EXPECT_EQ(*rekeyed.RewrapMaterials(), 2);
  EXPECT_EQ(*rekeyed.RewrapMaterials(), 0);

  // Only version 2 is needed now.
  auto only_new = crypto::Keyring::ForTest(2, second.Clone());
  KmsService after(*store_, *only_new, clock_, ServiceOptions{});
  DecryptInput in;
  in.ciphertext_blob = old_blob;
  auto dec = after.Decrypt(ctx_, in);
  ASSERT_TRUE(dec.ok()) << dec.error().ToLogString();
  EXPECT_EQ(dec->plaintext.view(), "old");
  // And the old master key alone no longer opens them.
  EXPECT_EQ(WireOf(Dec(old_blob)), "KMSInternalException");
}

TEST(KmsBlobTest, HeaderRoundTripAndCanonicalContext) {
  BlobHeader h{"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", 7, "ap-southeast-2"};
  auto bytes = EncodeBlobHeader(h);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 24u + h.region.size());
  auto parsed = ParseBlob(*bytes + std::string(28, '\0'));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.key_id, h.key_id);
  EXPECT_EQ(parsed->header.material_version, 7u);
  EXPECT_EQ(parsed->header.region, h.region);
  EXPECT_EQ(parsed->sealed.size(), 28u);
  EXPECT_FALSE(ParseBlob(*bytes + std::string(27, '\0')).ok());
  EXPECT_FALSE(EncodeBlobHeader({"nope", 1, "us-east-1"}).ok());

  EXPECT_EQ(CanonicalEncryptionContext({{"b", "2"}, {"a", "1"}}), CanonicalEncryptionContext({{"a", "1"}, {"b", "2"}}));
  // Length prefixes keep pairs apart: ("ab","c") is not ("a","bc").
  EXPECT_NE(CanonicalEncryptionContext({{"ab", "c"}}), CanonicalEncryptionContext({{"a", "bc"}}));
  EXPECT_NE(CanonicalEncryptionContext({}), CanonicalEncryptionContext({{"", ""}}));
}

}  // namespace
}  // namespace arca::kms
