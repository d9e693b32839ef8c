#include "secrets/service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "crypto/random.h"
#include "secrets/filters.h"
#include "secrets/password.h"
#include "secrets/policy.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::secrets {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

SecretValue Str(std::string_view s) {
  SecretValue v;
  v.string = SecretBytes::CopyOf(s);
  return v;
}

std::string Token(char c) { return std::string(32, c); }

class SecretsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-secrets-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    service_ = std::make_unique<SecretsService>(*store_, *keyring_, clock_, ServiceOptions{});
    ctx_.region = "us-east-1";
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  CreateSecretOutput Create(const std::string& name, std::string_view value,
                            std::optional<std::string> token = std::nullopt) {
    CreateSecretInput in;
    in.name = name;
    in.value = Str(value);
    in.client_request_token = std::move(token);
    auto out = service_->CreateSecret(ctx_, std::move(in));
    EXPECT_TRUE(out.ok()) << out.error().ToLogString();
    return out.ok() ? std::move(out).value() : CreateSecretOutput{};
  }

  std::string Get(const std::string& id, std::optional<std::string> stage = std::nullopt,
                  std::optional<std::string> version = std::nullopt) {
    auto out = service_->GetSecretValue(ctx_, {id, std::move(version), std::move(stage)});
    if (!out.ok()) return "ERR:" + std::string(CodeName(out.error().code()));
    return std::string(out->secret_string->view());
  }

  Result<PutSecretValueOutput> Put(const std::string& id, std::string_view value,
                                   std::optional<std::string> token = std::nullopt,
                                   std::optional<std::vector<std::string>> stages = std::nullopt) {
    PutSecretValueInput in;
    in.secret_id = id;
    in.value = Str(value);
    in.client_request_token = std::move(token);
    in.version_stages = std::move(stages);
    return service_->PutSecretValue(ctx_, std::move(in));
  }

  std::map<std::string, std::vector<std::string>> Stages(const std::string& id) {
    auto d = service_->DescribeSecret(ctx_, {id});
    EXPECT_TRUE(d.ok());
    std::map<std::string, std::vector<std::string>> out;
    for (auto& [v, labels] : d->version_ids_to_stages) {
      auto sorted = labels;
      std::sort(sorted.begin(), sorted.end());
      out[v] = sorted;
    }
    return out;
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<SecretsService> service_;
  Context ctx_;
};

TEST_F(SecretsServiceTest, CreateAndReadByNameFullAndPartialArn) {
  auto c = Create("app/db", "s3cret");
  EXPECT_EQ(c.name, "app/db");
  ASSERT_EQ(c.arn.rfind("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-", 0), 0u);
  EXPECT_EQ(c.arn.size(), std::string("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-").size() + 6);
  EXPECT_EQ(Get("app/db"), "s3cret");
  EXPECT_EQ(Get(c.arn), "s3cret");
  EXPECT_EQ(Get(c.arn.substr(0, c.arn.size() - 7)), "s3cret");  // partial ARN
  EXPECT_EQ(Get("app/dbx"), "ERR:NotFound");
}

TEST_F(SecretsServiceTest, RegionsAreSeparateNamespaces) {
  Create("same", "east");
  ctx_.region = "eu-west-1";
  EXPECT_EQ(Get("same"), "ERR:NotFound");
  Create("same", "west");
  EXPECT_EQ(Get("same"), "west");
  ctx_.region = "us-east-1";
  EXPECT_EQ(Get("same"), "east");
}

TEST_F(SecretsServiceTest, CreateRejectsDuplicatesBadNamesAndBothValues) {
  Create("dup", "a");
  CreateSecretInput again;
  again.name = "dup";
  again.value = Str("b");
  EXPECT_EQ(service_->CreateSecret(ctx_, std::move(again)).error().code(), Code::kAlreadyExists);
  CreateSecretInput bad;
  bad.name = "has space";
  EXPECT_EQ(service_->CreateSecret(ctx_, std::move(bad)).error().code(), Code::kValidation);
  CreateSecretInput long_name;
  long_name.name = std::string(513, 'a');
  EXPECT_EQ(service_->CreateSecret(ctx_, std::move(long_name)).error().code(), Code::kValidation);
  CreateSecretInput both;
  both.name = "both";
  both.value.string = SecretBytes::CopyOf("x");
  both.value.binary = SecretBytes::CopyOf("y");
  EXPECT_EQ(service_->CreateSecret(ctx_, std::move(both)).error().code(), Code::kInvalidParameter);
}

TEST_F(SecretsServiceTest, CreateWithSameTokenAndValueIsIdempotent) {
  auto first = Create("idem", "v", Token('a'));
  CreateSecretInput again;
  again.name = "idem";
  again.value = Str("v");
  again.client_request_token = Token('a');
  auto second = service_->CreateSecret(ctx_, std::move(again));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->arn, first.arn);
  EXPECT_EQ(second->version_id, Token('a'));
}

TEST_F(SecretsServiceTest, ValueSizeLimit) {
  std::string max(65536, 'x');
  Create("big", max);
  EXPECT_EQ(Get("big").size(), 65536u);
  auto too_big = Put("big", max + "y");
  EXPECT_EQ(too_big.error().code(), Code::kValidation);
  EXPECT_EQ(too_big.error().message(),
            "1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
            "Member must have length between 1 and 65536");
}

TEST_F(SecretsServiceTest, PutMovesCurrentAndPrevious) {
  Create("labels", "v1", Token('1'));
  ASSERT_TRUE(Put("labels", "v2", Token('2')).ok());
  EXPECT_EQ(Get("labels"), "v2");
  EXPECT_EQ(Get("labels", "AWSPREVIOUS"), "v1");
  ASSERT_TRUE(Put("labels", "v3", Token('3')).ok());
  auto st = Stages("labels");
  EXPECT_EQ(st.size(), 2u);  // v1 is now unlabelled (deprecated)
  EXPECT_EQ(st[Token('3')], std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(st[Token('2')], std::vector<std::string>{"AWSPREVIOUS"});

  // AWSPENDING does not disturb AWSCURRENT.
  auto pending = Put("labels", "v4", Token('4'), std::vector<std::string>{"AWSPENDING"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->version_stages, std::vector<std::string>{"AWSPENDING"});
  EXPECT_EQ(Get("labels"), "v3");
  EXPECT_EQ(Get("labels", "AWSPENDING"), "v4");

  // Deprecated versions are listed only with IncludeDeprecated.
  auto listed = service_->ListSecretVersionIds(ctx_, {"labels", std::nullopt, std::nullopt, false});
  EXPECT_EQ(listed->versions.size(), 3u);
  auto all = service_->ListSecretVersionIds(ctx_, {"labels", std::nullopt, std::nullopt, true});
  EXPECT_EQ(all->versions.size(), 4u);
}

TEST_F(SecretsServiceTest, TokenIdempotency) {
  Create("tok", "v1", Token('1'));
  auto a = Put("tok", "v2", Token('2'));
  ASSERT_TRUE(a.ok());
  auto again = Put("tok", "v2", Token('2'));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version_id, Token('2'));
  auto all = service_->ListSecretVersionIds(ctx_, {"tok", std::nullopt, std::nullopt, true});
  EXPECT_EQ(all->versions.size(), 2u);  // no new version
  EXPECT_EQ(Put("tok", "other", Token('2')).error().code(), Code::kAlreadyExists);
  EXPECT_EQ(Put("tok", "v", "short").error().code(), Code::kValidation);
}

TEST_F(SecretsServiceTest, UpdateSecretVersionStage) {
  Create("uvs", "v1", Token('1'));
  ASSERT_TRUE(Put("uvs", "v2", Token('2')).ok());
  // Moving AWSCURRENT back (rollback): the one it leaves becomes AWSPREVIOUS.
  UpdateSecretVersionStageInput in{"uvs", "AWSCURRENT", Token('2'), Token('1')};
  ASSERT_TRUE(service_->UpdateSecretVersionStage(ctx_, in).ok());
  EXPECT_EQ(Get("uvs"), "v1");
  EXPECT_EQ(Get("uvs", "AWSPREVIOUS"), "v2");
  // Without RemoveFromVersionId while attached elsewhere: refused.
  UpdateSecretVersionStageInput no_remove{"uvs", "AWSCURRENT", std::nullopt, Token('2')};
  EXPECT_EQ(service_->UpdateSecretVersionStage(ctx_, no_remove).error().code(), Code::kInvalidParameter);
  // Wrong RemoveFromVersionId: refused.
  UpdateSecretVersionStageInput wrong{"uvs", "AWSCURRENT", Token('2'), Token('2')};
  EXPECT_EQ(service_->UpdateSecretVersionStage(ctx_, wrong).error().code(), Code::kInvalidParameter);
  // Custom labels attach and detach.
  UpdateSecretVersionStageInput custom{"uvs", "blue", std::nullopt, Token('2')};
  ASSERT_TRUE(service_->UpdateSecretVersionStage(ctx_, custom).ok());
  EXPECT_EQ(Get("uvs", "blue"), "v2");
  UpdateSecretVersionStageInput detach{"uvs", "blue", Token('2'), std::nullopt};
  ASSERT_TRUE(service_->UpdateSecretVersionStage(ctx_, detach).ok());
  EXPECT_EQ(Get("uvs", "blue"), "ERR:NotFound");
  // AWSCURRENT cannot simply be removed.
  UpdateSecretVersionStageInput remove_current{"uvs", "AWSCURRENT", Token('1'), std::nullopt};
  EXPECT_EQ(service_->UpdateSecretVersionStage(ctx_, remove_current).error().code(),
            Code::kInvalidParameter);
}

TEST_F(SecretsServiceTest, UpdateSecretDescriptionOnlyMakesNoVersion) {
  Create("upd", "v1");
  UpdateSecretInput in;
  in.secret_id = "upd";
  in.description = "hello";
  auto out = service_->UpdateSecret(ctx_, std::move(in));
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->version_id.has_value());
  EXPECT_EQ(service_->DescribeSecret(ctx_, {"upd"})->description, "hello");
  UpdateSecretInput value;
  value.secret_id = "upd";
  value.value = Str("v2");
  auto out2 = service_->UpdateSecret(ctx_, std::move(value));
  ASSERT_TRUE(out2.ok());
  EXPECT_TRUE(out2->version_id.has_value());
  EXPECT_EQ(Get("upd"), "v2");
}

TEST_F(SecretsServiceTest, OldUnlabelledVersionsArePruned) {
  Create("many", "v0");
  for (int i = 1; i <= 105; ++i) {
    ASSERT_TRUE(Put("many", "v" + std::to_string(i)).ok());
    clock_.Advance(std::chrono::hours(1));
  }
  auto all = service_->ListSecretVersionIds(ctx_, {"many", 100, std::nullopt, true});
  EXPECT_EQ(all->versions.size(), 100u);
  EXPECT_FALSE(all->next_token.has_value());
  EXPECT_EQ(Get("many"), "v105");
}

TEST_F(SecretsServiceTest, RecentVersionsAreKeptEvenPastTheLimit) {
  Create("burst", "v0");
  for (int i = 1; i <= 102; ++i) ASSERT_TRUE(Put("burst", "v" + std::to_string(i)).ok());
  auto all = service_->ListSecretVersionIds(ctx_, {"burst", 100, std::nullopt, true});
  EXPECT_TRUE(all->next_token.has_value());  // 103 versions, none older than 24 h
}

TEST_F(SecretsServiceTest, DeleteRestoreAndPurge) {
  Create("gone", "v");
  EXPECT_EQ(service_->DeleteSecret(ctx_, {"gone", 6, std::nullopt}).error().code(), Code::kInvalidParameter);
  EXPECT_EQ(service_->DeleteSecret(ctx_, {"gone", 31, std::nullopt}).error().code(), Code::kInvalidParameter);
  EXPECT_EQ(service_->DeleteSecret(ctx_, {"gone", 7, true}).error().code(), Code::kInvalidParameter);
  auto del = service_->DeleteSecret(ctx_, {"gone", std::nullopt, std::nullopt});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->deletion_date, clock_.Now() + std::chrono::hours(24 * 30));
  auto read = service_->GetSecretValue(ctx_, {"gone", std::nullopt, std::nullopt});
  EXPECT_EQ(read.error().code(), Code::kInvalidRequest);
  EXPECT_EQ(read.error().message(),
            "You can't perform this operation on the secret because it was marked for deletion.");
  EXPECT_TRUE(service_->DescribeSecret(ctx_, {"gone"})->deleted_date.has_value());
  ListSecretsInput list;
  EXPECT_EQ(service_->ListSecrets(ctx_, list)->secrets.size(), 0u);
  list.include_planned_deletion = true;
  EXPECT_EQ(service_->ListSecrets(ctx_, list)->secrets.size(), 1u);
  ASSERT_TRUE(service_->RestoreSecret(ctx_, {"gone"}).ok());
  EXPECT_EQ(Get("gone"), "v");

  ASSERT_TRUE(service_->DeleteSecret(ctx_, {"gone", 7, std::nullopt}).ok());
  clock_.Advance(std::chrono::hours(24 * 7 - 1));
  EXPECT_EQ(*service_->PurgeExpired(), 0);
  clock_.Advance(std::chrono::hours(2));
  EXPECT_EQ(*service_->PurgeExpired(), 1);
  EXPECT_EQ(Get("gone"), "ERR:NotFound");

  Create("forced", "v");
  ASSERT_TRUE(service_->DeleteSecret(ctx_, {"forced", std::nullopt, true}).ok());
  EXPECT_EQ(Get("forced"), "ERR:NotFound");
  Create("forced", "again");  // the name is free at once
}

TEST_F(SecretsServiceTest, ListSecretsFiltersPagingAndSort) {
  for (int i = 0; i < 5; ++i) {
    CreateSecretInput in;
    in.name = "prod/app" + std::to_string(i);
    in.description = i % 2 == 0 ? "Database password" : "api key";
    in.tags = std::vector<Tag>{{"env", i < 3 ? "prod" : "dev"}};
    ASSERT_TRUE(service_->CreateSecret(ctx_, std::move(in)).ok());
    clock_.Advance(1s);
  }
  Create("other", "x");
  auto names = [&](ListSecretsInput in) {
    std::vector<std::string> out;
    auto r = service_->ListSecrets(ctx_, in);
    EXPECT_TRUE(r.ok());
    for (auto& s : r->secrets) out.push_back(s.name);
    return out;
  };
  ListSecretsInput in;
  in.filters = {{"name", {"prod/"}}};
  in.sort_order = "asc";
  EXPECT_EQ(names(in), (std::vector<std::string>{"prod/app0", "prod/app1", "prod/app2", "prod/app3", "prod/app4"}));
  in.sort_order = "desc";
  EXPECT_EQ(names(in).front(), "prod/app4");
  in.filters = {{"name", {"Prod/"}}};
  EXPECT_TRUE(names(in).empty());  // name is case-sensitive
  in.filters = {{"description", {"DATABASE"}}};
  EXPECT_EQ(names(in).size(), 3u);  // description is not
  in.filters = {{"tag-value", {"prod"}}, {"description", {"api"}}};
  EXPECT_EQ(names(in), (std::vector<std::string>{"prod/app1"}));
  in.filters = {{"name", {"!prod"}}};
  EXPECT_EQ(names(in), (std::vector<std::string>{"other"}));
  in.filters = {{"all", {"dev"}}};
  EXPECT_EQ(names(in).size(), 2u);
  in.filters = {{"bogus", {"x"}}};
  EXPECT_EQ(service_->ListSecrets(ctx_, in).error().code(), Code::kInvalidParameter);

  ListSecretsInput page;
  page.max_results = 4;
  page.sort_order = "asc";
  auto p1 = service_->ListSecrets(ctx_, page);
  ASSERT_TRUE(p1->next_token.has_value());
  page.next_token = p1->next_token;
  auto p2 = service_->ListSecrets(ctx_, page);
  EXPECT_EQ(p1->secrets.size() + p2->secrets.size(), 6u);
  EXPECT_FALSE(p2->next_token.has_value());
  page.next_token = "garbage";
  EXPECT_EQ(service_->ListSecrets(ctx_, page).error().code(), Code::kInvalidNextToken);
}

TEST_F(SecretsServiceTest, BatchGetReportsPerSecretErrors) {
  Create("b1", "one");
  Create("b2", "two");
  BatchGetSecretValueInput in;
  in.secret_id_list = std::vector<std::string>{"b1", "missing", "b2"};
  auto out = service_->BatchGetSecretValue(ctx_, in);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->secret_values.size(), 2u);
  ASSERT_EQ(out->errors.size(), 1u);
  EXPECT_EQ(out->errors[0].secret_id, "missing");
  EXPECT_EQ(out->errors[0].error_code, "ResourceNotFoundException");
  BatchGetSecretValueInput by_filter;
  by_filter.filters = {{"name", {"b"}}};
  by_filter.max_results = 1;
  auto f = service_->BatchGetSecretValue(ctx_, by_filter);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->secret_values.size(), 1u);
  EXPECT_TRUE(f->next_token.has_value());
  BatchGetSecretValueInput both = in;
  both.filters = by_filter.filters;
  EXPECT_EQ(service_->BatchGetSecretValue(ctx_, both).error().code(), Code::kInvalidParameter);
}

TEST_F(SecretsServiceTest, TagsAndPolicies) {
  Create("tagged", "v");
  ASSERT_TRUE(service_->TagResource(ctx_, {"tagged", {{"a", "1"}, {"b", "2"}}}).ok());
  ASSERT_TRUE(service_->TagResource(ctx_, {"tagged", {{"a", "3"}}}).ok());
  ASSERT_TRUE(service_->UntagResource(ctx_, {"tagged", {"b"}}).ok());
  auto d = service_->DescribeSecret(ctx_, {"tagged"});
  ASSERT_EQ(d->tags.size(), 1u);
  EXPECT_EQ(d->tags[0].value, "3");

  const std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";
  ASSERT_TRUE(service_->PutResourcePolicy(ctx_, {"tagged", policy, std::nullopt}).ok());
  EXPECT_EQ(*service_->GetResourcePolicy(ctx_, {"tagged"})->resource_policy, policy);
  EXPECT_EQ(service_->PutResourcePolicy(ctx_, {"tagged", "{not json", std::nullopt}).error().code(),
            Code::kMalformedPolicy);
  const std::string open =
      R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}})";
  EXPECT_EQ(service_->PutResourcePolicy(ctx_, {"tagged", open, true}).error().code(), Code::kPublicPolicy);
  auto v = service_->ValidateResourcePolicy(ctx_, {std::nullopt, R"({"Statement":[{"Effect":"Maybe"}]})"});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->passed);
  EXPECT_FALSE(v->errors.empty());
  ASSERT_TRUE(service_->DeleteResourcePolicy(ctx_, {"tagged"}).ok());
  EXPECT_FALSE(service_->GetResourcePolicy(ctx_, {"tagged"})->resource_policy.has_value());
}

TEST_F(SecretsServiceTest, RotationConfigurationIsStored) {
  Create("rot", "v");
  RotateSecretInput in;
  in.secret_id = "rot";
  EXPECT_EQ(service_->RotateSecret(ctx_, in).error().code(), Code::kInvalidRequest);
  in.rotation_lambda_arn = "arn:aws:lambda:us-east-1:000000000000:function:arca-random";
  in.rotation_rules = RotationRules{30, std::nullopt, std::nullopt};
  in.rotate_immediately = false;  // configuration only: no rotation starts, no version id
  auto r = service_->RotateSecret(ctx_, in);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->version_id.has_value());
  EXPECT_TRUE(service_->FindDueRotations(10)->empty());
  auto d = service_->DescribeSecret(ctx_, {"rot"});
  EXPECT_TRUE(*d->rotation_enabled);
  EXPECT_EQ(*d->rotation_rules->automatically_after_days, 30);
  // AWS shows the last second of the rotation window: the whole UTC day 30 days after creation.
  EXPECT_EQ(*d->next_rotation_date,
            std::chrono::floor<std::chrono::days>(d->created_date) + std::chrono::days(31) - std::chrono::seconds(1));
  // RotateImmediately (the default) starts a rotation whose token is the new version's id.
  in.rotate_immediately.reset();
  in.client_request_token = Token('r');
  auto started = service_->RotateSecret(ctx_, in);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->version_id, Token('r'));
  ASSERT_EQ(service_->FindDueRotations(10)->size(), 1u);
  auto cancelled = service_->CancelRotateSecret(ctx_, {"rot"});
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->version_id, Token('r'));
  EXPECT_FALSE(*service_->DescribeSecret(ctx_, {"rot"})->rotation_enabled);
  EXPECT_TRUE(service_->FindDueRotations(10)->empty());
  in.client_request_token.reset();
  in.rotation_rules = RotationRules{1001, std::nullopt, std::nullopt};
  EXPECT_EQ(service_->RotateSecret(ctx_, in).error().code(), Code::kInvalidParameter);
}

TEST_F(SecretsServiceTest, ReplicasFollowThePrimaryAndAreReadOnly) {
  auto c = Create("rep", "v1");
  auto r = service_->ReplicateSecretToRegions(ctx_, {"rep", {{"eu-west-1", std::nullopt}}, false});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  ASSERT_EQ(r->replication_status.size(), 1u);
  EXPECT_EQ(r->replication_status[0].status, "InSync");
  ASSERT_TRUE(Put("rep", "v2").ok());

  Context west = ctx_;
  west.region = "eu-west-1";
  auto read = service_->GetSecretValue(west, {"rep", std::nullopt, std::nullopt});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->secret_string->view(), "v2");
  EXPECT_EQ(read->arn, "arn:aws:secretsmanager:eu-west-1:" + c.arn.substr(c.arn.find(":000000000000:") + 1));
  PutSecretValueInput put;
  put.secret_id = "rep";
  put.value = Str("nope");
  EXPECT_EQ(service_->PutSecretValue(west, std::move(put)).error().code(), Code::kInvalidRequest);
  EXPECT_EQ(*service_->DescribeSecret(west, {"rep"})->primary_region, "us-east-1");

  // The primary cannot be deleted while replicated.
  EXPECT_EQ(service_->DeleteSecret(ctx_, {"rep", std::nullopt, true}).error().code(), Code::kInvalidRequest);
  // Promote the replica: it becomes standalone and writable; the primary forgets it.
  ASSERT_TRUE(service_->StopReplicationToReplica(west, {"rep"}).ok());
  PutSecretValueInput put2;
  put2.secret_id = "rep";
  put2.value = Str("west-only");
  ASSERT_TRUE(service_->PutSecretValue(west, std::move(put2)).ok());
  EXPECT_EQ(Get("rep"), "v2");
  EXPECT_TRUE(service_->DescribeSecret(ctx_, {"rep"})->replication_status.empty());

  auto r2 = service_->ReplicateSecretToRegions(ctx_, {"rep", {{"ap-south-1", std::nullopt}}, false});
  ASSERT_TRUE(r2.ok());
  auto removed = service_->RemoveRegionsFromReplication(ctx_, {"rep", {"ap-south-1"}});
  ASSERT_TRUE(removed.ok());
  Context south = ctx_;
  south.region = "ap-south-1";
  EXPECT_EQ(service_->GetSecretValue(south, {"rep", std::nullopt, std::nullopt}).error().code(), Code::kNotFound);
}

TEST_F(SecretsServiceTest, ReplicationToATakenNameFailsUntilForced) {
  Create("clash", "primary");
  Context west = ctx_;
  west.region = "eu-west-1";
  CreateSecretInput other;
  other.name = "clash";
  other.value = Str("unrelated");
  ASSERT_TRUE(service_->CreateSecret(west, std::move(other)).ok());
  auto r = service_->ReplicateSecretToRegions(ctx_, {"clash", {{"eu-west-1", std::nullopt}}, false});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replication_status[0].status, "Failed");
  EXPECT_EQ(service_->GetSecretValue(west, {"clash", std::nullopt, std::nullopt})->secret_string->view(),
            "unrelated");
  // Removing a failed region leaves the unrelated secret alone; forcing then overwrites it.
  ASSERT_TRUE(service_->RemoveRegionsFromReplication(ctx_, {"clash", {"eu-west-1"}}).ok());
  EXPECT_EQ(service_->GetSecretValue(west, {"clash", std::nullopt, std::nullopt})->secret_string->view(),
            "unrelated");
  auto forced = service_->ReplicateSecretToRegions(ctx_, {"clash", {{"eu-west-1", std::nullopt}}, true});
  ASSERT_TRUE(forced.ok()) << forced.error().ToLogString();
  EXPECT_EQ(forced->replication_status[0].status, "InSync");
  EXPECT_EQ(service_->GetSecretValue(west, {"clash", std::nullopt, std::nullopt})->secret_string->view(),
            "primary");
  EXPECT_EQ(service_->ReplicateSecretToRegions(ctx_, {"clash", {{"Not_A_Region", std::nullopt}}, false})
                .error().code(), Code::kValidation);
}

TEST_F(SecretsServiceTest, ReadsNeverServeAStaleSnapshot) {
  // GetSecretValue caches metadata per store change sequence: every kind of write must show at once.
  Create("fresh", "v1", Token('1'));
  for (int round = 0; round < 2; ++round) EXPECT_EQ(Get("fresh"), "v1");
  ASSERT_TRUE(Put("fresh", "v2", Token('2')).ok());
  EXPECT_EQ(Get("fresh"), "v2");
  ASSERT_TRUE(service_->UpdateSecretVersionStage(ctx_, {"fresh", "AWSCURRENT", Token('2'), Token('1')}).ok());
  EXPECT_EQ(Get("fresh"), "v1");
  ASSERT_TRUE(service_->DeleteSecret(ctx_, {"fresh", std::nullopt, std::nullopt}).ok());
  EXPECT_EQ(Get("fresh"), "ERR:InvalidRequest");
  ASSERT_TRUE(service_->RestoreSecret(ctx_, {"fresh"}).ok());
  EXPECT_EQ(Get("fresh"), "v1");
  ASSERT_TRUE(service_->DeleteSecret(ctx_, {"fresh", std::nullopt, true}).ok());
  EXPECT_EQ(Get("fresh"), "ERR:NotFound");
  Create("fresh", "reborn");
  EXPECT_EQ(Get("fresh"), "reborn");
}

TEST_F(SecretsServiceTest, TamperedCiphertextIsADecryptionFailure) {
  Create("tamper", "value");
  {
    auto txn = *store_->Begin(store::TxnMode::kWrite);
    auto row = **txn->GetSecretByName("us-east-1", "tamper");
    auto versions = *txn->ListVersions(row.id);
    versions[0].sealed.ciphertext[20] ^= 0x01;
    ASSERT_TRUE(txn->UpdateVersion(versions[0]).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  auto r = service_->GetSecretValue(ctx_, {"tamper", std::nullopt, std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
}

TEST(PasswordTest, OptionsAreHonoured) {
  GetRandomPasswordInput in;
  auto pw = GenerateRandomPassword(in);
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(pw->size(), 32u);
  in.password_length = 50;
  in.exclude_punctuation = true;
  in.exclude_uppercase = true;
  in.exclude_characters = "abc";
  for (int i = 0; i < 20; ++i) {
    auto p = GenerateRandomPassword(in);
    ASSERT_EQ(p->size(), 50u);
    bool digit = false;
    for (char c : p->view()) {
      EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)));
      EXPECT_EQ(std::string("abc").find(c), std::string::npos);
      digit = digit || std::isdigit(static_cast<unsigned char>(c));
    }
    EXPECT_TRUE(digit);  // RequireEachIncludedType defaults to true
  }
  GetRandomPasswordInput space;
  space.password_length = 4;
  space.include_space = true;
  space.exclude_lowercase = true;
  space.exclude_uppercase = true;
  space.exclude_numbers = true;
  space.exclude_punctuation = true;
  auto s = GenerateRandomPassword(space);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->view(), "    ");
  GetRandomPasswordInput bad;
  bad.password_length = 0;
  EXPECT_EQ(GenerateRandomPassword(bad).error().code(), Code::kValidation);
  bad.password_length = 4097;
  EXPECT_EQ(GenerateRandomPassword(bad).error().code(), Code::kValidation);
  GetRandomPasswordInput none;
  none.exclude_lowercase = none.exclude_uppercase = none.exclude_numbers = none.exclude_punctuation = true;
  EXPECT_EQ(GenerateRandomPassword(none).error().code(), Code::kInvalidParameter);
  GetRandomPasswordInput tooshort;
  tooshort.password_length = 3;
  EXPECT_EQ(GenerateRandomPassword(tooshort).error().code(), Code::kInvalidParameter);
}

TEST(FiltersTest, SplitWords) {
  EXPECT_EQ(SplitWords("credsDatabase#892"), (std::vector<std::string>{"creds", "database", "892"}));
  EXPECT_EQ(SplitWords("My_Secret"), (std::vector<std::string>{"my", "secret"}));
}

// ---- the gate: every operation asks before it acts, with the resource's facts ----

// Records what it is asked; denies the actions in `deny`.
class RecordingGate final : public access::Gate {
 public:
  struct Asked {
    std::string action;
    access::Resource resource;
    access::ContextKeys action_keys;
  };
  using access::Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* action_keys) override {
    asked.push_back({std::string(action), resource, action_keys ? *action_keys : access::ContextKeys{}});
    if (deny.count(std::string(action)) != 0) {
      return Error(Code::kAccessDenied, "denied " + std::string(action) + " on " + resource.display);
    }
    return OkStatus();
  }
  std::set<std::string> deny;
  std::vector<Asked> asked;
};

std::string FirstValue(const access::ContextKeys& keys, std::string_view key) {
  const auto* v = keys.Find(key);
  return v == nullptr || v->empty() ? std::string("<absent>") : v->front();
}

TEST_F(SecretsServiceTest, GateIsAskedWithTheSecretsFacts) {
  RecordingGate gate;
  ctx_.gate = &gate;
  CreateSecretInput in;
  in.name = "database/main";
  in.value = Str("v1");
  in.tags = std::vector<Tag>{{"team", "infra"}};
  auto created = service_->CreateSecret(ctx_, std::move(in));
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(gate.asked.size(), 1U);
  EXPECT_EQ(gate.asked[0].action, "secretsmanager:CreateSecret");
  EXPECT_EQ(gate.asked[0].resource.arn, created->arn);
  EXPECT_EQ(FirstValue(gate.asked[0].action_keys, "secretsmanager:Name"), "database/main");
  EXPECT_EQ(FirstValue(gate.asked[0].action_keys, "aws:RequestTag/team"), "infra");
  EXPECT_EQ(FirstValue(gate.asked[0].action_keys, "aws:TagKeys"), "team");

  gate.asked.clear();
  EXPECT_EQ(Get("database/main", "AWSCURRENT"), "v1");
  ASSERT_EQ(gate.asked.size(), 1U);
  const auto& asked = gate.asked[0];
  EXPECT_EQ(asked.action, "secretsmanager:GetSecretValue");
  EXPECT_EQ(asked.resource.arn, created->arn);
  EXPECT_EQ(asked.resource.display, "database/main");
  EXPECT_EQ(FirstValue(asked.resource.keys, "secretsmanager:ResourceTag/team"), "infra");
  EXPECT_EQ(FirstValue(asked.resource.keys, "aws:ResourceTag/team"), "infra");
  EXPECT_EQ(FirstValue(asked.resource.keys, "secretsmanager:SecretId"), created->arn);
  EXPECT_EQ(FirstValue(asked.action_keys, "secretsmanager:VersionStage"), "AWSCURRENT");

  // Cached reads still ask, every time.
  gate.asked.clear();
  EXPECT_EQ(Get("database/main"), "v1");
  EXPECT_EQ(gate.asked.size(), 1U);
}

TEST_F(SecretsServiceTest, GateDenialStopsTheOperationAndHidesWhetherTheSecretExists) {
  Create("api/key", "v1");
  RecordingGate gate;
  gate.deny = {"secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"};
  ctx_.gate = &gate;
  EXPECT_EQ(Get("api/key"), "ERR:AccessDenied");
  EXPECT_EQ(Get("no/such/secret"), "ERR:AccessDenied");
  DeleteSecretInput del;
  del.secret_id = "api/key";
  auto deleted = service_->DeleteSecret(ctx_, del);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code(), Code::kAccessDenied);
  ctx_.gate = &access::AllowAll::Instance();
  EXPECT_EQ(Get("api/key"), "v1");  // nothing was deleted
  EXPECT_EQ(Get("no/such/secret"), "ERR:NotFound");
}

TEST_F(SecretsServiceTest, BatchGetReportsDenialsPerSecret) {
  Create("a", "va");
  Create("b", "vb");
  class DenyB final : public access::Gate {
   public:
    using access::Gate::Authorize;
    Status Authorize(std::string_view action, const access::Resource& r, const access::ContextKeys*) override {
      if (action == "secretsmanager:GetSecretValue" && r.display == "b") {
        return Error(Code::kAccessDenied, "no b");
      }
      return OkStatus();
    }
  } gate;
  ctx_.gate = &gate;
  BatchGetSecretValueInput in;
  in.secret_id_list = std::vector<std::string>{"a", "b"};
  auto out = service_->BatchGetSecretValue(ctx_, in);
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  ASSERT_EQ(out->secret_values.size(), 1U);
  EXPECT_EQ(out->secret_values[0].name, "a");
  ASSERT_EQ(out->errors.size(), 1U);
  EXPECT_EQ(out->errors[0].secret_id, "b");
  EXPECT_EQ(out->errors[0].error_code, "AccessDeniedException");
}

TEST_F(SecretsServiceTest, ListingAsksOnceForTheWholeAccount) {
  Create("a", "va");
  RecordingGate gate;
  ctx_.gate = &gate;
  ASSERT_TRUE(service_->ListSecrets(ctx_, {}).ok());
  ASSERT_EQ(gate.asked.size(), 1U);
  EXPECT_EQ(gate.asked[0].action, "secretsmanager:ListSecrets");
  EXPECT_EQ(gate.asked[0].resource.arn, "*");
  gate.deny = {"secretsmanager:ListSecrets"};
  auto denied = service_->ListSecrets(ctx_, {});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), Code::kAccessDenied);
}

// Resource policies are checked with the policy engine's grammar too, so nothing is stored that the
// authorizer could not evaluate.
TEST_F(SecretsServiceTest, ResourcePoliciesPassThePolicyEnginesCheck) {
  class RefuseAll final : public access::PolicyValidator {
   public:
    Status ValidateResourcePolicy(std::string_view) const override {
      return Error(Code::kMalformedPolicy, "Unsupported condition operator");
    }
  } refuse;
  ServiceOptions options;
  options.policy_validator = &refuse;
  SecretsService service(*store_, *keyring_, clock_, options);
  CreateSecretInput create;
  create.name = "p";
  ASSERT_TRUE(service.CreateSecret(ctx_, std::move(create)).ok());
  const std::string doc =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";
  PutResourcePolicyInput put;
  put.secret_id = "p";
  put.resource_policy = doc;
  auto stored = service.PutResourcePolicy(ctx_, put);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code(), Code::kMalformedPolicy);
  EXPECT_NE(stored.error().message().find("Unsupported condition operator"), std::string::npos);
  ValidateResourcePolicyInput check;
  check.resource_policy = doc;
  auto report = service.ValidateResourcePolicy(ctx_, check);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->passed);
  ASSERT_EQ(report->errors.size(), 1U);
  EXPECT_EQ(report->errors[0].error_message, "Unsupported condition operator");
}

// ---- the change stream ----

// Denies DescribeSecret on names in `hidden`, quietly or not; counts how it was asked.
class QuietGate final : public access::Gate {
 public:
  using access::Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* /*action_keys*/) override {
    ++loud;
    return Decide(action, resource);
  }
  Status CheckQuietly(std::string_view action, const access::Resource& resource) override {
    ++quiet;
    return Decide(action, resource);
  }
  Status Decide(std::string_view action, const access::Resource& resource) const {
    for (const std::string& h : hidden) {
      if (action == "secretsmanager:DescribeSecret" && resource.arn.find(":secret:" + h) != std::string::npos) {
        return Error(Code::kAccessDenied, "denied");
      }
    }
    return OkStatus();
  }
  std::vector<std::string> hidden;
  int loud = 0;
  int quiet = 0;
};

TEST_F(SecretsServiceTest, ListChangesFiltersByRegionAndQuietlyByDescribeSecret) {
  auto latest = service_->ListChanges(ctx_, {});
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->next_sequence, 0u);
  Create("app/a", "secret-a");
  Create("ops/b", "secret-b");
  ctx_.region = "eu-west-1";
  Create("app/eu", "secret-eu");
  ctx_.region = "us-east-1";
  Create("app/c", "secret-c");

  QuietGate gate;
  gate.hidden = {"ops/"};
  Context ctx = ctx_;
  ctx.gate = &gate;
  auto out = service_->ListChanges(ctx, {0, 100});
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  ASSERT_EQ(out->changes.size(), 2u);
  EXPECT_EQ(out->changes[0].name, "app/a");
  EXPECT_EQ(out->changes[1].name, "app/c");
  EXPECT_EQ(out->next_sequence, 4u);
  EXPECT_FALSE(out->reset);
  EXPECT_EQ(gate.loud, 0);  // a filter, not a denial
  EXPECT_GE(gate.quiet, 3);

  // The limit stops at the last row examined, so the next call starts right after it.
  auto first = service_->ListChanges(ctx, {0, 1});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->changes.size(), 1u);
  EXPECT_EQ(first->next_sequence, 1u);
  auto rest = service_->ListChanges(ctx, {first->next_sequence, 1});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->changes.size(), 1u);
  EXPECT_EQ(rest->changes[0].name, "app/c");

  // Nothing after the head; beyond it is a reset.
  auto none = service_->ListChanges(ctx, {4, 100});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->changes.empty());
  EXPECT_EQ(none->next_sequence, 4u);
  auto future = service_->ListChanges(ctx, {9, 100});
  ASSERT_TRUE(future.ok());
  EXPECT_TRUE(future->reset);
  EXPECT_EQ(future->next_sequence, 4u);
}

TEST_F(SecretsServiceTest, AReadIsNoChange) {
  Create("app/read", "value");
  auto before = service_->ListChanges(ctx_, {});
  ASSERT_TRUE(before.ok());
  GetSecretValueInput in;
  in.secret_id = "app/read";
  ASSERT_TRUE(service_->GetSecretValue(ctx_, in).ok());  // records the day of last access
  auto described = service_->DescribeSecret(ctx_, SecretIdInput{"app/read"});
  ASSERT_TRUE(described.ok());
  EXPECT_TRUE(described->last_accessed_date.has_value());
  auto after = service_->ListChanges(ctx_, {before->next_sequence, 100});
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->changes.empty());
  EXPECT_EQ(after->next_sequence, before->next_sequence);
}

TEST_F(SecretsServiceTest, ListChangesResetsWhenTheLogWasPruned) {
  for (int i = 0; i < 4; ++i) Create("app/p" + std::to_string(i), "v");
  // Change rows carry the wall clock of the commit (the store has no Clock).
  clock_.Set(SystemClock::Instance().Now() + std::chrono::hours(48));
  auto pruned = service_->PruneChanges(std::chrono::hours(24), 1);
  ASSERT_TRUE(pruned.ok()) << pruned.error().ToLogString();
  EXPECT_EQ(*pruned, 3);
  auto old = service_->ListChanges(ctx_, {1, 100});
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->reset);
  EXPECT_TRUE(old->changes.empty());
  EXPECT_EQ(old->next_sequence, 4u);
  auto kept = service_->ListChanges(ctx_, {3, 100});
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(kept->reset);
  ASSERT_EQ(kept->changes.size(), 1u);
  EXPECT_EQ(kept->changes[0].name, "app/p3");
}

}  // namespace
}  // namespace arca::secrets
