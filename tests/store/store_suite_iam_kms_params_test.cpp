// The store suite (store_suite.h): the rows of the IAM, KMS and SSM Parameter Store domains
// (users, roles, policies, OIDC providers; keys, materials, aliases; parameters and their versions)
// and VersionRow::kms_key_arn, on every store kind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "store/store_suite.h"

namespace arca::store {
namespace {

using namespace std::string_literals;

class StoreIamTest : public StoreSuite {};
ARCA_INSTANTIATE_STORE_SUITE(StoreIamTest);

TEST_P(StoreIamTest, IamUsers) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamUserRow bob{"AIDABOB", "Bob", "/eng/", "arn:aws:iam::000000000000:user/eng/Bob", 5};
  IamUserRow al{"AIDAAL", "al", "/", "arn:aws:iam::000000000000:user/al", 6};
  ASSERT_OK(txn->InsertIamUser(bob));
  ASSERT_OK(txn->InsertIamUser(al));
  // Names are unique whatever their case.
  IamUserRow dup{"AIDADUP", "BOB", "/", "arn:aws:iam::000000000000:user/BOB", 7};
  EXPECT_CODE(txn->InsertIamUser(dup), Code::kAlreadyExists);

  auto got = txn->GetIamUser("bob");  // lookups ignore case
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->user_id, "AIDABOB");
  EXPECT_EQ((*got)->name, "Bob");
  EXPECT_EQ((*got)->path, "/eng/");
  EXPECT_EQ((*got)->arn, bob.arn);
  EXPECT_EQ((*got)->created_ms, 5);
  auto by_id = txn->GetIamUserById("AIDAAL");
  ASSERT_OK(by_id);
  ASSERT_TRUE(by_id->has_value());
  EXPECT_EQ((*by_id)->name, "al");

  auto list = txn->ListIamUsers();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "al");  // by name, ignoring case
  EXPECT_EQ((*list)[1].name, "Bob");

  // Deleting a user takes its tags, inline policies and attachments along.
  IamPolicyRow policy{"ANPAP", "p", "/", "arn:aws:iam::000000000000:policy/p", "", "v1", 2, 1, 1};
  ASSERT_OK(txn->InsertIamPolicy(policy));
  ASSERT_OK(txn->AttachIamPolicy("AIDABOB", "ANPAP", 1));
  ASSERT_OK(txn->PutIamInlinePolicy({"AIDABOB", "inline", "{}"}));
  ASSERT_OK(txn->PutIamTags("AIDABOB", {{"k", "v"}}));
  ASSERT_OK(txn->DeleteIamUser("AIDABOB"));
  EXPECT_CODE(txn->DeleteIamUser("AIDABOB"), Code::kNotFound);
  auto count = txn->CountIamPolicyAttachments("ANPAP");
  ASSERT_OK(count);
  EXPECT_EQ(*count, 0);
  auto inline_list = txn->ListIamInlinePolicies("AIDABOB");
  ASSERT_OK(inline_list);
  EXPECT_TRUE(inline_list->empty());
  auto tags = txn->GetIamTags("AIDABOB");
  ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  got = txn->GetIamUser("Bob");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreIamTest, IamRoles) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamRoleRow role{"AROAR",
                  "reader",
                  "/svc/",
                  "arn:aws:iam::000000000000:role/svc/reader",
                  R"({"Version":"2012-10-17"})",
                  "reads",
                  7200,
                  9};
  ASSERT_OK(txn->InsertIamRole(role));
  IamRoleRow dup = role;
  dup.role_id = "AROAS";
  dup.name = "READER";
  dup.arn = "arn:aws:iam::000000000000:role/READER";
  EXPECT_CODE(txn->InsertIamRole(dup), Code::kAlreadyExists);

  auto got = txn->GetIamRoleByArn(role.arn);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->role_id, "AROAR");
  EXPECT_EQ((*got)->name, "reader");
  EXPECT_EQ((*got)->path, "/svc/");
  EXPECT_EQ((*got)->assume_role_policy, role.assume_role_policy);
  EXPECT_EQ((*got)->description, "reads");
  EXPECT_EQ((*got)->max_session_duration, 7200);
  EXPECT_EQ((*got)->created_ms, 9);

  role.description = "new";
  role.max_session_duration = 3600;
  ASSERT_OK(txn->UpdateIamRole(role));
  got = txn->GetIamRole("Reader");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->description, "new");
  EXPECT_EQ((*got)->max_session_duration, 3600);
  IamRoleRow ghost = role;
  ghost.role_id = "AROAGHOST";
  EXPECT_CODE(txn->UpdateIamRole(ghost), Code::kNotFound);

  auto list = txn->ListIamRoles();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
  ASSERT_OK(txn->DeleteIamRole("AROAR"));
  EXPECT_CODE(txn->DeleteIamRole("AROAR"), Code::kNotFound);
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreIamTest, IamPoliciesVersionsAndAttachments) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamPolicyRow p{"ANPAP", "read", "/team/", "arn:aws:iam::000000000000:policy/team/read",
                 "desc",  "v1",   2,        3,
                 4};
  IamPolicyRow q{"ANPAQ", "Admin", "/", "arn:aws:iam::000000000000:policy/Admin", "", "v1",
                 2,       5,       5};
  ASSERT_OK(txn->InsertIamPolicy(p));
  ASSERT_OK(txn->InsertIamPolicy(q));
  IamPolicyRow dup = q;
  dup.policy_id = "ANPAX";
  dup.name = "READ";
  dup.arn = "arn:aws:iam::000000000000:policy/READ";
  EXPECT_CODE(txn->InsertIamPolicy(dup), Code::kAlreadyExists);

  auto got = txn->GetIamPolicyByArn(p.arn);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->policy_id, "ANPAP");
  EXPECT_EQ((*got)->name, "read");
  EXPECT_EQ((*got)->path, "/team/");
  EXPECT_EQ((*got)->description, "desc");
  EXPECT_EQ((*got)->default_version_id, "v1");
  EXPECT_EQ((*got)->next_version, 2);
  EXPECT_EQ((*got)->created_ms, 3);
  EXPECT_EQ((*got)->updated_ms, 4);

  p.default_version_id = "v2";
  p.next_version = 3;
  p.updated_ms = 10;
  ASSERT_OK(txn->UpdateIamPolicy(p));
  got = txn->GetIamPolicyByArn(p.arn);
  ASSERT_OK(got);
  EXPECT_EQ((*got)->default_version_id, "v2");
  EXPECT_EQ((*got)->next_version, 3);
  EXPECT_EQ((*got)->updated_ms, 10);

  auto list = txn->ListIamPolicies();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "Admin");
  EXPECT_EQ((*list)[1].name, "read");

  // Versions.
  ASSERT_OK(txn->InsertIamPolicyVersion({"ANPAP", "v1", "doc1", 3}));
  ASSERT_OK(txn->InsertIamPolicyVersion({"ANPAP", "v2", "doc2", 10}));
  EXPECT_CODE(txn->InsertIamPolicyVersion({"ANPAP", "v2", "again", 11}), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertIamPolicyVersion({"ANPAGONE", "v1", "doc", 11}), Code::kNotFound);
  auto versions = txn->ListIamPolicyVersions("ANPAP");
  ASSERT_OK(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version_id, "v1");
  EXPECT_EQ((*versions)[1].version_id, "v2");
  auto v2 = txn->GetIamPolicyVersion("ANPAP", "v2");
  ASSERT_OK(v2);
  ASSERT_TRUE(v2->has_value());
  EXPECT_EQ((*v2)->document, "doc2");
  EXPECT_EQ((*v2)->created_ms, 10);
  ASSERT_OK(txn->DeleteIamPolicyVersion("ANPAP", "v1"));
  EXPECT_CODE(txn->DeleteIamPolicyVersion("ANPAP", "v1"), Code::kNotFound);

  // Attachments: in attach order; attaching twice changes nothing; a missing policy is kNotFound.
  ASSERT_OK(txn->AttachIamPolicy("AIDAU", "ANPAP", 20));
  ASSERT_OK(txn->AttachIamPolicy("AIDAU", "ANPAQ", 21));
  ASSERT_OK(txn->AttachIamPolicy("AIDAU", "ANPAP", 22));
  ASSERT_OK(txn->AttachIamPolicy("AROAR", "ANPAP", 23));
  EXPECT_CODE(txn->AttachIamPolicy("AIDAU", "ANPAGONE", 24), Code::kNotFound);
  auto attached = txn->ListIamAttachedPolicies("AIDAU");
  ASSERT_OK(attached);
  ASSERT_EQ(attached->size(), 2u);
  EXPECT_EQ((*attached)[0].arn, p.arn);
  EXPECT_EQ((*attached)[0].default_version_id, "v2");
  EXPECT_EQ((*attached)[1].arn, q.arn);
  auto count = txn->CountIamPolicyAttachments("ANPAP");
  ASSERT_OK(count);
  EXPECT_EQ(*count, 2);
  ASSERT_OK(txn->DetachIamPolicy("AIDAU", "ANPAP"));
  EXPECT_CODE(txn->DetachIamPolicy("AIDAU", "ANPAP"), Code::kNotFound);
  count = txn->CountIamPolicyAttachments("ANPAP");
  ASSERT_OK(count);
  EXPECT_EQ(*count, 1);

  // Deleting a policy takes its versions, tags and attachments along.
  ASSERT_OK(txn->PutIamTags("ANPAP", {{"a", "1"}}));
  ASSERT_OK(txn->DeleteIamPolicy("ANPAP"));
  EXPECT_CODE(txn->DeleteIamPolicy("ANPAP"), Code::kNotFound);
  versions = txn->ListIamPolicyVersions("ANPAP");
  ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
  attached = txn->ListIamAttachedPolicies("AROAR");
  ASSERT_OK(attached);
  EXPECT_TRUE(attached->empty());
  auto tags = txn->GetIamTags("ANPAP");
  ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreIamTest, IamInlinePoliciesAndTags) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->PutIamInlinePolicy({"AROAR", "zeta", "z"}));
  ASSERT_OK(txn->PutIamInlinePolicy({"AROAR", "alpha", "a"}));
  ASSERT_OK(txn->PutIamInlinePolicy({"AROAR", "alpha", "a2"}));  // replaces
  ASSERT_OK(txn->PutIamInlinePolicy({"AIDAU", "alpha", "other"}));
  auto list = txn->ListIamInlinePolicies("AROAR");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[0].document, "a2");
  EXPECT_EQ((*list)[1].name, "zeta");
  auto one = txn->GetIamInlinePolicy("AIDAU", "alpha");
  ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->document, "other");
  ASSERT_OK(txn->DeleteIamInlinePolicy("AROAR", "zeta"));
  EXPECT_CODE(txn->DeleteIamInlinePolicy("AROAR", "zeta"), Code::kNotFound);

  // Tags keep their order; Put replaces the whole list.
  ASSERT_OK(txn->PutIamTags("AROAR", {{"b", "2"}, {"a", "1"}, {"c", ""}}));
  auto tags = txn->GetIamTags("AROAR");
  ASSERT_OK(tags);
  EXPECT_EQ(*tags, (TagList{{"b", "2"}, {"a", "1"}, {"c", ""}}));
  ASSERT_OK(txn->PutIamTags("AROAR", {{"x", "9"}}));
  tags = txn->GetIamTags("AROAR");
  ASSERT_OK(tags);
  EXPECT_EQ(*tags, (TagList{{"x", "9"}}));
  EXPECT_CODE(txn->PutIamTags("AROAR", {{"k", "1"}, {"k", "2"}}), Code::kAlreadyExists);
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreIamTest, IamOidcProviders) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamOidcProviderRow p;
  p.arn = "arn:aws:iam::000000000000:oidc-provider/kube.example/cluster";
  p.url = "kube.example/cluster";
  p.client_ids = {"sts.amazonaws.com", "arca"};
  p.thumbprints = {std::string(40, 'a')};
  p.jwks = R"({"keys":[]})";
  p.jwks_file = "/etc/jwks.json";
  p.created_ms = 77;
  ASSERT_OK(txn->InsertIamOidcProvider(p));
  EXPECT_CODE(txn->InsertIamOidcProvider(p), Code::kAlreadyExists);
  auto got = txn->GetIamOidcProvider(p.arn);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->url, p.url);
  EXPECT_EQ((*got)->client_ids, p.client_ids);
  EXPECT_EQ((*got)->thumbprints, p.thumbprints);
  EXPECT_EQ((*got)->jwks, p.jwks);
  EXPECT_EQ((*got)->jwks_file, p.jwks_file);
  EXPECT_EQ((*got)->created_ms, 77);

  p.client_ids.clear();
  p.thumbprints.clear();
  ASSERT_OK(txn->UpdateIamOidcProvider(p));
  got = txn->GetIamOidcProvider(p.arn);
  ASSERT_OK(got);
  EXPECT_TRUE((*got)->client_ids.empty());
  EXPECT_TRUE((*got)->thumbprints.empty());
  IamOidcProviderRow ghost = p;
  ghost.arn += "x";
  EXPECT_CODE(txn->UpdateIamOidcProvider(ghost), Code::kNotFound);

  auto list = txn->ListIamOidcProviders();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
  ASSERT_OK(txn->PutIamTags(p.arn, {{"k", "v"}}));
  ASSERT_OK(txn->DeleteIamOidcProvider(p.arn));
  EXPECT_CODE(txn->DeleteIamOidcProvider(p.arn), Code::kNotFound);
  auto tags = txn->GetIamTags(p.arn);
  ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreIamTest, IamWritesBumpTheChangeSequence) {
  auto store = Open();
  const std::uint64_t before = store->ChangeSequence();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertIamUser({"AIDAU", "u", "/", "arn:aws:iam::000000000000:user/u", 1}));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 1);
  // Tagging with nothing changes nothing.
  txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->PutIamTags("AIDAU", {}));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 1);
}

// ---- KMS and SSM Parameter Store rows ----

class StoreKmsParamsTest : public StoreSuite {};
ARCA_INSTANTIATE_STORE_SUITE(StoreKmsParamsTest);

TEST_P(StoreKmsParamsTest, KmsKeysCrudAndOrdering) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k3", "us-east-1", 20)));
  ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 10)));
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 20)));
  ASSERT_OK(txn->InsertKmsKey(Key("k0", "eu-west-1", 15)));

  auto got = txn->GetKmsKey("k2");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  const KmsKeyRow want = Key("k2", "us-east-1", 10);
  EXPECT_EQ((*got)->key_id, want.key_id);
  EXPECT_EQ((*got)->region, want.region);
  EXPECT_EQ((*got)->arn, want.arn);
  EXPECT_EQ((*got)->created_ms, want.created_ms);
  EXPECT_EQ((*got)->meta, want.meta);
  auto missing = txn->GetKmsKey("nope");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto east = txn->ListKmsKeys("us-east-1");
  ASSERT_OK(east);
  EXPECT_EQ(KeyIds(*east), (std::vector<std::string>{"k2", "k1", "k3"}));
  auto all = txn->ListKmsKeys("");
  ASSERT_OK(all);
  EXPECT_EQ(KeyIds(*all), (std::vector<std::string>{"k2", "k0", "k1", "k3"}));
  auto none = txn->ListKmsKeys("ap-south-1");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  // A taken id, a taken ARN.
  EXPECT_CODE(txn->InsertKmsKey(Key("k1", "eu-west-1", 1)), Code::kAlreadyExists);
  KmsKeyRow same_arn = Key("k9", "us-east-1", 1);
  same_arn.arn = Key("k1", "us-east-1", 1).arn;
  EXPECT_CODE(txn->InsertKmsKey(same_arn), Code::kAlreadyExists);

  KmsKeyRow updated = Key("k1", "us-east-1", 20);
  updated.meta = R"({"KeyState":"PendingDeletion"})";
  ASSERT_OK(txn->UpdateKmsKey(updated));
  got = txn->GetKmsKey("k1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->meta, updated.meta);
  EXPECT_CODE(txn->UpdateKmsKey(Key("nope", "us-east-1", 1)), Code::kNotFound);

  ASSERT_OK(txn->DeleteKmsKey("k1"));
  got = txn->GetKmsKey("k1");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  EXPECT_CODE(txn->DeleteKmsKey("k1"), Code::kNotFound);
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, KmsMaterials) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
  ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 2)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 2)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 1)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 10)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k2", 1)));
  EXPECT_CODE(txn->InsertKmsMaterial(Material("k1", 2)), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertKmsMaterial(Material("nope", 1)), Code::kNotFound);

  auto list = txn->ListKmsMaterials("k1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].version, 1);
  EXPECT_EQ((*list)[1].version, 2);
  EXPECT_EQ((*list)[2].version, 10);
  const KmsMaterialRow want = Material("k1", 2);
  EXPECT_EQ((*list)[1].key_id, "k1");
  EXPECT_EQ((*list)[1].created_ms, want.created_ms);
  EXPECT_EQ((*list)[1].sealed.key_version, want.sealed.key_version);
  EXPECT_EQ((*list)[1].sealed.wrapped_key, want.sealed.wrapped_key);
  EXPECT_EQ((*list)[1].sealed.ciphertext, want.sealed.ciphertext);

  // Update replaces the sealed material (rekey).
  KmsMaterialRow rekeyed = Material("k1", 2);
  rekeyed.sealed.key_version = 7;
  rekeyed.sealed.wrapped_key = "new-wk";
  rekeyed.sealed.ciphertext = "new-ct";
  ASSERT_OK(txn->UpdateKmsMaterial(rekeyed));
  list = txn->ListKmsMaterials("k1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[1].sealed.key_version, 7u);
  EXPECT_EQ((*list)[1].sealed.wrapped_key, "new-wk");
  EXPECT_EQ((*list)[1].sealed.ciphertext, "new-ct");
  EXPECT_EQ((*list)[0].sealed.wrapped_key, Material("k1", 1).sealed.wrapped_key);
  EXPECT_CODE(txn->UpdateKmsMaterial(Material("k1", 3)), Code::kNotFound);

  auto none = txn->ListKmsMaterials("nope");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, KmsAliases) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
  ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 2)));
  ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/zeta", "k1", 10, 10}));
  ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/Alpha", "k2", 11, 11}));
  ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/alpha", "k1", 12, 12}));
  ASSERT_OK(txn->InsertKmsAlias({"eu-west-1", "alias/alpha", "k1", 13, 13}));
  EXPECT_CODE(txn->InsertKmsAlias({"us-east-1", "alias/zeta", "k2", 14, 14}), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertKmsAlias({"us-east-1", "alias/dangling", "nope", 14, 14}),
              Code::kNotFound);

  auto got = txn->GetKmsAlias("us-east-1", "alias/Alpha");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->region, "us-east-1");
  EXPECT_EQ((*got)->name, "alias/Alpha");
  EXPECT_EQ((*got)->target_key_id, "k2");
  EXPECT_EQ((*got)->created_ms, 11);
  EXPECT_EQ((*got)->updated_ms, 11);
  auto missing = txn->GetKmsAlias("eu-west-1", "alias/zeta");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto list = txn->ListKmsAliases("us-east-1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "alias/Alpha");  // byte-wise: 'A' < 'a'
  EXPECT_EQ((*list)[1].name, "alias/alpha");
  EXPECT_EQ((*list)[2].name, "alias/zeta");
  auto all = txn->ListKmsAliases("");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 4u);

  // Update changes the target and updated_ms only.
  ASSERT_OK(txn->UpdateKmsAlias({"us-east-1", "alias/zeta", "k2", 999, 20}));
  got = txn->GetKmsAlias("us-east-1", "alias/zeta");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->target_key_id, "k2");
  EXPECT_EQ((*got)->created_ms, 10);
  EXPECT_EQ((*got)->updated_ms, 20);
  EXPECT_CODE(txn->UpdateKmsAlias({"us-east-1", "alias/nope", "k2", 1, 1}), Code::kNotFound);
  EXPECT_CODE(txn->UpdateKmsAlias({"us-east-1", "alias/zeta", "nope", 1, 1}), Code::kNotFound);

  ASSERT_OK(txn->DeleteKmsAlias("us-east-1", "alias/zeta"));
  EXPECT_CODE(txn->DeleteKmsAlias("us-east-1", "alias/zeta"), Code::kNotFound);
  got = txn->GetKmsAlias("us-east-1", "alias/zeta");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, DeletingAKmsKeyRemovesItsMaterialsAndAliases) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
    ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 2)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 1)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 2)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k2", 1)));
    ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/a", "k1", 1, 1}));
    ASSERT_OK(txn->InsertKmsAlias({"eu-west-1", "alias/a", "k1", 1, 1}));
    ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/b", "k2", 1, 1}));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteKmsKey("k1"));
  auto m1 = txn->ListKmsMaterials("k1");
  ASSERT_OK(m1);
  EXPECT_TRUE(m1->empty());
  auto m2 = txn->ListKmsMaterials("k2");
  ASSERT_OK(m2);
  EXPECT_EQ(m2->size(), 1u);
  auto aliases = txn->ListKmsAliases("");
  ASSERT_OK(aliases);
  ASSERT_EQ(aliases->size(), 1u);
  EXPECT_EQ((*aliases)[0].name, "alias/b");
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, ParametersCrud) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/app/db", 1, R"({"Tags":[]})"}));
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/app/DB", 3, "{}"}));  // names are case-sensitive
  ASSERT_OK(txn->InsertParameter({"eu-west-1", "/app/db", 2, "{}"}));  // names are per region
  EXPECT_CODE(txn->InsertParameter({"us-east-1", "/app/db", 5, "{}"}), Code::kAlreadyExists);

  auto got = txn->GetParameter("us-east-1", "/app/db");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->region, "us-east-1");
  EXPECT_EQ((*got)->name, "/app/db");
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->meta, R"({"Tags":[]})");
  got = txn->GetParameter("us-east-1", "/APP/db");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());

  ASSERT_OK(txn->UpdateParameter({"us-east-1", "/app/db", 2, R"({"Tags":[1]})"}));
  got = txn->GetParameter("us-east-1", "/app/db");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ((*got)->meta, R"({"Tags":[1]})");
  got = txn->GetParameter("eu-west-1", "/app/db");  // untouched
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ((*got)->meta, "{}");
  EXPECT_CODE(txn->UpdateParameter({"us-east-1", "/nope", 1, "{}"}), Code::kNotFound);

  ASSERT_OK(txn->DeleteParameter("us-east-1", "/app/db"));
  EXPECT_CODE(txn->DeleteParameter("us-east-1", "/app/db"), Code::kNotFound);
  got = txn->GetParameter("us-east-1", "/app/db");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  got = txn->GetParameter("us-east-1", "/app/DB");
  ASSERT_OK(got);
  EXPECT_TRUE(got->has_value());
  ASSERT_OK(txn->Commit());
}

// Whether `s` is UTF-8 (PostgreSQL's text columns hold nothing else; no name the domains accept is
// anything else, and SQLite keeps any bytes).
bool IsUtf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

// Prefix listing is byte-wise and literal: '%' and '_' are not wildcards, and prefixes ending in
// 0xFF bytes (whose successor needs a carry) work (on SQLite: 0xFF is never UTF-8, and
// PostgreSQL's text holds only UTF-8).
TEST_P(StoreKmsParamsTest, ListParametersByPrefix) {
  std::vector<std::string> names = {
      "/a",           "/a/b",       "/a/b/c", "/a/bc",    "/a%",          "/a%b",
      "/a_",          "/ab",        "/aB",    "/A",       "/b",           "a",
      "%x",           "_x",         "\xff",   "\xff\xff", "\xff\xff\x01", "/a\xff",
      "/a\xff\x01",   "/a\xff\xff", "/b\x01", "/a0",      "/a.",          "/\xc3\xa9t\xc3\xa9",
      "/\xc3\xa9tat", "/z"};
  if (kind() == StoreKind::kPostgres) std::erase_if(names, [](const auto& n) { return !IsUtf8(n); });
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    for (const auto& n : names) ASSERT_OK(txn->InsertParameter({"us-east-1", n, 1, "{}"}));
    // Another region's parameters never show.
    ASSERT_OK(txn->InsertParameter({"eu-west-1", "/a/other", 1, "{}"}));
    ASSERT_OK(txn->InsertParameter({"us-east-10", "/a/other", 1, "{}"}));
    ASSERT_OK(txn->Commit());
  }
  auto expected = [&](const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& n : names) {
      if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
    }
    std::sort(out.begin(), out.end());  // std::string compares bytes as unsigned char
    return out;
  };
  auto txn = Begin(*store, TxnMode::kRead);
  for (const std::string& prefix :
       {""s, "/"s, "/a"s, "/a/"s, "/a/b"s, "/a%"s, "/a_"s, "%"s, "_"s, "\xff"s, "\xff\xff"s,
        "\xff\xff\xff"s, "/a\xff"s, "/a\xff\xff"s, "/\xc3\xa9"s, "/A"s, "nope"s, "/a/b/c/d"s}) {
    if (kind() == StoreKind::kPostgres && !IsUtf8(prefix)) continue;
    auto got = txn->ListParameters("us-east-1", prefix);
    ASSERT_OK(got);
    EXPECT_EQ(Names(*got), expected(prefix)) << "prefix '" << prefix << "'";
  }
  auto all = txn->ListParameters("us-east-1", "");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), names.size());
  auto other = txn->ListParameters("eu-west-1", "/a");
  ASSERT_OK(other);
  EXPECT_EQ(Names(*other), (std::vector<std::string>{"/a/other"}));
  auto empty_region = txn->ListParameters("ap-south-1", "");
  ASSERT_OK(empty_region);
  EXPECT_TRUE(empty_region->empty());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, ParameterVersions) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 3, "{}"}));
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/q", 1, "{}"}));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 2, "two", {"prod"})));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 1, "one")));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 10, "ten", {"b", "a"})));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/q", 1, "q-one")));
  EXPECT_CODE(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 2, "again")),
              Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertParameterVersion(PVersion("us-east-1", "/nope", 1, "x")), Code::kNotFound);
  EXPECT_CODE(txn->InsertParameterVersion(PVersion("eu-west-1", "/p", 1, "x")), Code::kNotFound);

  auto list = txn->ListParameterVersions("us-east-1", "/p");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].version, 1);
  EXPECT_EQ((*list)[1].version, 2);
  EXPECT_EQ((*list)[2].version, 10);
  EXPECT_EQ((*list)[2].labels, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ((*list)[0].value, "one");

  auto got = txn->GetParameterVersion("us-east-1", "/p", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  const ParameterVersionRow want = PVersion("us-east-1", "/p", 2, "two", {"prod"});
  EXPECT_EQ((*got)->region, want.region);
  EXPECT_EQ((*got)->name, want.name);
  EXPECT_EQ((*got)->version, want.version);
  EXPECT_EQ((*got)->created_ms, want.created_ms);
  EXPECT_EQ((*got)->labels, want.labels);
  EXPECT_EQ((*got)->meta, want.meta);
  EXPECT_EQ((*got)->value, want.value);
  auto missing = txn->GetParameterVersion("us-east-1", "/p", 3);
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  // Update replaces labels and meta; value and created_ms stay.
  ParameterVersionRow relabeled = PVersion("us-east-1", "/p", 2, "IGNORED", {"x", "y"});
  relabeled.created_ms = 1;
  relabeled.meta = R"({"Type":"SecureString"})";
  ASSERT_OK(txn->UpdateParameterVersion(relabeled));
  got = txn->GetParameterVersion("us-east-1", "/p", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ((*got)->meta, R"({"Type":"SecureString"})");
  EXPECT_EQ((*got)->value, "two");
  EXPECT_EQ((*got)->created_ms, want.created_ms);
  relabeled.labels.clear();
  ASSERT_OK(txn->UpdateParameterVersion(relabeled));
  got = txn->GetParameterVersion("us-east-1", "/p", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->labels.empty());
  EXPECT_CODE(txn->UpdateParameterVersion(PVersion("us-east-1", "/p", 4, "x")), Code::kNotFound);

  ASSERT_OK(txn->DeleteParameterVersion("us-east-1", "/p", 1));
  EXPECT_CODE(txn->DeleteParameterVersion("us-east-1", "/p", 1), Code::kNotFound);
  list = txn->ListParameterVersions("us-east-1", "/p");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, 2);
  auto q = txn->ListParameterVersions("us-east-1", "/q");
  ASSERT_OK(q);
  EXPECT_EQ(q->size(), 1u);
  auto none = txn->ListParameterVersions("us-east-1", "/nope");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, ParameterVersionValuesAreBinarySafe) {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  const std::string invalid_utf8 = "\xc3\x28\xff\xfe\0tail"s;
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertParameter({"us-east-1", "/bin", 3, "{}"}));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/bin", 1, every_byte)));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/bin", 2, invalid_utf8)));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/bin", 3, "")));
    ASSERT_OK(txn->Commit());
  }
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kRead);
  auto list = txn->ListParameterVersions("us-east-1", "/bin");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].value, every_byte);
  EXPECT_EQ((*list)[1].value, invalid_utf8);
  EXPECT_EQ((*list)[2].value, "");
  auto one = txn->GetParameterVersion("us-east-1", "/bin", 1);
  ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->value, every_byte);
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, DeletingAParameterRemovesItsVersions) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 2, "{}"}));
    ASSERT_OK(txn->InsertParameter({"eu-west-1", "/p", 1, "{}"}));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 1, "a")));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 2, "b")));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("eu-west-1", "/p", 1, "c")));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteParameter("us-east-1", "/p"));
  // A parameter made again under the same name starts without versions.
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 1, "{}"}));
  auto list = txn->ListParameterVersions("us-east-1", "/p");
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
  auto other = txn->ListParameterVersions("eu-west-1", "/p");
  ASSERT_OK(other);
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].value, "c");
  ASSERT_OK(txn->Commit());
}

TEST_P(StoreKmsParamsTest, WritesBumpTheChangeSequence) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::uint64_t before = store->ChangeSequence();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 1);
  txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 1, "{}"}));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 1, "v")));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 2);
  // A failed update changes nothing.
  txn = Begin(*store, TxnMode::kWrite);
  EXPECT_CODE(txn->UpdateParameter({"us-east-1", "/nope", 1, "{}"}), Code::kNotFound);
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 2);
  // Deleting a key (with its cascade) is a change.
  txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteKmsKey("k1"));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 3);
}

TEST_P(StoreKmsParamsTest, VersionKmsKeyArnRoundTrips) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string arn = "arn:aws:kms:us-east-1:000000000000:key/1234abcd";
  auto txn = Begin(*store, TxnMode::kWrite);
  SecretRow secret;
  secret.id = "s1";
  secret.region = "us-east-1";
  secret.name = "n";
  secret.arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:n-abcdef";
  secret.created_ms = 1;
  secret.meta = "{}";
  ASSERT_OK(txn->InsertSecret(secret));
  VersionRow master;
  master.secret_id = "s1";
  master.version_id = "v-master";
  master.created_ms = 1;
  master.sealed = {1, "wk", "ct"};
  ASSERT_OK(txn->InsertVersion(master));
  VersionRow kms = master;
  kms.version_id = "v-kms";
  kms.created_ms = 2;
  kms.kms_key_arn = arn;
  kms.sealed = {0, "kms\0blob"s, "ct2"};
  ASSERT_OK(txn->InsertVersion(kms));

  auto got = txn->GetVersion("s1", "v-kms");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->kms_key_arn, arn);
  EXPECT_EQ((*got)->sealed.key_version, 0u);
  EXPECT_EQ((*got)->sealed.wrapped_key, "kms\0blob"s);
  auto list = txn->ListVersions("s1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].kms_key_arn, "");
  EXPECT_EQ((*list)[1].kms_key_arn, arn);

  // Update writes the field too (re-encrypting under another key, or back to the master key).
  VersionRow moved = **got;
  moved.kms_key_arn = "";
  moved.sealed = {2, "wk3", "ct3"};
  ASSERT_OK(txn->UpdateVersion(moved));
  got = txn->GetVersion("s1", "v-kms");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->kms_key_arn, "");
  EXPECT_EQ((*got)->sealed.key_version, 2u);
  moved.kms_key_arn = arn + "2";
  ASSERT_OK(txn->UpdateVersion(moved));
  got = txn->GetVersion("s1", "v-kms");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->kms_key_arn, arn + "2");
  ASSERT_OK(txn->Commit());
}

}  // namespace
}  // namespace arca::store
