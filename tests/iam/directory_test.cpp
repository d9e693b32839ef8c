#include "iam/directory.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "crypto/keyring.h"
#include "iam/access_keys.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::iam {
namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    auto&& status_ = (expr);                                                     \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_.error().ToLogString(); \
  } while (0)

#define EXPECT_ERROR(expr, code_, message_)                                    \
  do {                                                                         \
    auto&& status_ = (expr);                                                   \
    ASSERT_FALSE(status_.ok()) << #expr << " succeeded";                       \
    EXPECT_EQ(status_.error().code(), code_) << status_.error().ToLogString(); \
    EXPECT_EQ(status_.error().message(), message_);                            \
  } while (0)

#define EXPECT_CODE(expr, code_)                                               \
  do {                                                                         \
    auto&& status_ = (expr);                                                   \
    ASSERT_FALSE(status_.ok()) << #expr << " succeeded";                       \
    EXPECT_EQ(status_.error().code(), code_) << status_.error().ToLogString(); \
  } while (0)

constexpr char kAccount[] = "123456789012";
constexpr char kAllowRead[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";
constexpr char kAllowList[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*"}]})";
constexpr char kTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]})";

SecretBytes TestMasterKey() {
  SecretBytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(i * 3 + 5);
  return key;
}

// Records every question and answers allow (or deny when told to).
class RecordingGate final : public access::Gate {
 public:
  struct Call {
    std::string action;
    std::string arn;
    std::string display;
    access::ContextKeys resource_keys;
    access::ContextKeys action_keys;
  };
  using access::Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* action_keys) override {
    calls.push_back({std::string(action), resource.arn, resource.display, resource.keys,
                     action_keys != nullptr ? *action_keys : access::ContextKeys{}});
    if (deny) return Error(Code::kAccessDenied, "denied");
    return OkStatus();
  }
  std::vector<Call> calls;
  bool deny = false;
};

std::string Values(const access::ContextKeys& keys, std::string_view key) {
  const std::vector<std::string>* v = keys.Find(key);
  if (v == nullptr) return "<none>";
  std::string out;
  for (const auto& s : *v) out += (out.empty() ? "" : ",") + s;
  return out;
}

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "arca-directory-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, TestMasterKey());
    keys_ = std::make_unique<AccessKeys>(*store_, *keyring_, "aws", kAccount);
    DirectoryOptions options;
    options.account_id = kAccount;
    options.access_keys = keys_.get();
    directory_ = std::make_unique<Directory>(*store_, *keyring_, clock_, options);
    root_.type = PrincipalType::kRoot;
    root_.account = kAccount;
    root_.arn = std::string("arn:aws:iam::") + kAccount + ":root";
    root_.principal = "root";
    ctx_.request_id = "req-1";
    ctx_.gate = &gate_;
    ctx_.caller = &root_;
  }
  void TearDown() override {
    directory_.reset();
    keys_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  User MakeUser(const std::string& name, std::optional<std::string> path = std::nullopt,
                Tags tags = {}) {
    auto user = directory_->CreateUser(ctx_, {name, std::move(path), std::move(tags)});
    EXPECT_TRUE(user.ok()) << user.error().ToLogString();
    return user.ok() ? *user : User{};
  }

  Role MakeRole(const std::string& name) {
    CreateRoleInput in;
    in.role_name = name;
    in.assume_role_policy_document = kTrust;
    auto role = directory_->CreateRole(ctx_, in);
    EXPECT_TRUE(role.ok()) << role.error().ToLogString();
    return role.ok() ? *role : Role{};
  }

  ManagedPolicy MakePolicy(const std::string& name, const std::string& document = kAllowRead) {
    CreatePolicyInput in;
    in.policy_name = name;
    in.policy_document = document;
    auto policy = directory_->CreatePolicy(ctx_, in);
    EXPECT_TRUE(policy.ok()) << policy.error().ToLogString();
    return policy.ok() ? *policy : ManagedPolicy{};
  }

  static std::string Arn(const std::string& rest) {
    return std::string("arn:aws:iam::") + kAccount + ":" + rest;
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<AccessKeys> keys_;
  std::unique_ptr<Directory> directory_;
  RecordingGate gate_;
  Caller root_;
  RequestContext ctx_;
};

bool IsBase32Id(const std::string& id, std::string_view prefix) {
  if (id.size() != 21 || !id.starts_with(prefix)) return false;
  for (char c : id.substr(4)) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

// ---- users
// ----------------------------------------------------------------------------------------

TEST_F(DirectoryTest, CreateGetListDeleteUser) {
  User bob = MakeUser("bob", "/eng/", {{"team", "core"}});
  EXPECT_EQ(bob.name, "bob");
  EXPECT_EQ(bob.path, "/eng/");
  EXPECT_EQ(bob.arn, Arn("user/eng/bob"));
  EXPECT_TRUE(IsBase32Id(bob.user_id, "AIDA")) << bob.user_id;
  EXPECT_EQ(bob.created_ms, ToUnixMillis(clock_.Now()));
  EXPECT_EQ(bob.tags, (Tags{{"team", "core"}}));

  User alice = MakeUser("alice");
  EXPECT_EQ(alice.path, "/");
  EXPECT_EQ(alice.arn, Arn("user/alice"));

  auto got = directory_->GetUser(ctx_, std::string("BOB"));  // names ignore case
  ASSERT_OK(got);
  EXPECT_EQ(got->name, "bob");
  EXPECT_EQ(got->user_id, bob.user_id);
  EXPECT_EQ(got->tags, bob.tags);

  auto list = directory_->ListUsers(ctx_, std::nullopt, {});
  ASSERT_OK(list);
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].name, "alice");
  EXPECT_EQ(list->items[1].name, "bob");
  EXPECT_FALSE(list->is_truncated);

  auto eng = directory_->ListUsers(ctx_, std::string("/eng"), {});
  ASSERT_OK(eng);
  ASSERT_EQ(eng->items.size(), 1u);
  EXPECT_EQ(eng->items[0].name, "bob");

  EXPECT_ERROR(directory_->CreateUser(ctx_, {"Bob", std::nullopt, {}}), Code::kAlreadyExists,
               "User with name Bob already exists.");

  ASSERT_OK(directory_->DeleteUser(ctx_, "bob"));
  EXPECT_ERROR(directory_->GetUser(ctx_, std::string("bob")), Code::kNotFound,
               "The user with name bob cannot be found.");
  EXPECT_ERROR(directory_->DeleteUser(ctx_, "bob"), Code::kNotFound,
               "The user with name bob cannot be found.");
}

TEST_F(DirectoryTest, UserNamesAndPathsFollowTheModel) {
  EXPECT_ERROR(directory_->CreateUser(ctx_, {"a b", std::nullopt, {}}), Code::kValidation,
               "1 validation error detected: Value 'a b' at 'userName' failed to satisfy "
               "constraint: Member must "
               "satisfy regular expression pattern: [\\w+=,.@-]+");
  EXPECT_ERROR(directory_->CreateUser(ctx_, {std::string(65, 'a'), std::nullopt, {}}),
               Code::kValidation,
               "1 validation error detected: Value '" + std::string(65, 'a') +
                   "' at 'userName' failed to satisfy constraint: Member must have length less "
                   "than or equal to 64");
  EXPECT_CODE(directory_->CreateUser(ctx_, {"", std::nullopt, {}}), Code::kValidation);
  EXPECT_CODE(directory_->CreateUser(ctx_, {"x", std::string("eng/"), {}}), Code::kValidation);
  EXPECT_CODE(directory_->CreateUser(ctx_, {"x", std::string("/eng"), {}}), Code::kValidation);
  EXPECT_CODE(directory_->CreateUser(ctx_, {"x", std::string("/a b/"), {}}), Code::kValidation);
  // Every allowed character.
  MakeUser("Az09_+=,.@-", "/a/b-c/");
  EXPECT_TRUE(gate_.calls.back().arn == Arn("user/a/b-c/Az09_+=,.@-"));
}

TEST_F(DirectoryTest, GetUserWithoutANameIsTheCaller) {
  User bob = MakeUser("bob", "/eng/");
  Caller user;
  user.type = PrincipalType::kUser;
  user.principal = "bob";
  user.arn = bob.arn;
  RequestContext as_bob = ctx_;
  as_bob.caller = &user;
  auto me = directory_->GetUser(as_bob, std::nullopt);
  ASSERT_OK(me);
  EXPECT_EQ(me->arn, bob.arn);

  auto root = directory_->GetUser(ctx_, std::nullopt);
  ASSERT_OK(root);
  EXPECT_EQ(root->name, "");
  EXPECT_EQ(root->user_id, kAccount);
  EXPECT_EQ(root->arn, Arn("root"));

  Caller session;
  session.type = PrincipalType::kAssumedRole;
  RequestContext as_role = ctx_;
  as_role.caller = &session;
  EXPECT_ERROR(directory_->GetUser(as_role, std::nullopt), Code::kValidation,
               "Must specify userName when calling with non-User credentials");
}

TEST_F(DirectoryTest, Paging) {
  for (std::string name : {"u1", "u2", "u3", "u4", "u5"}) MakeUser(name);
  PageInput page;
  page.max_items = 2;
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto list = directory_->ListUsers(ctx_, std::nullopt, page);
    ASSERT_OK(list);
    for (const auto& u : list->items) seen.push_back(u.name);
    if (!list->is_truncated) break;
    EXPECT_FALSE(list->marker.empty());
    page.marker = list->marker;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"u1", "u2", "u3", "u4", "u5"}));

  page.marker = "bogus";
  EXPECT_ERROR(directory_->ListUsers(ctx_, std::nullopt, page), Code::kInvalidParameter,
               "Invalid Marker.");
  page.marker.reset();
  page.max_items = 0;
  EXPECT_CODE(directory_->ListUsers(ctx_, std::nullopt, page), Code::kValidation);
  page.max_items = 1001;
  EXPECT_CODE(directory_->ListUsers(ctx_, std::nullopt, page), Code::kValidation);
}

// ---- tags
// -----------------------------------------------------------------------------------------

TEST_F(DirectoryTest, UserTags) {
  MakeUser("bob", std::nullopt, {{"Env", "dev"}});
  ASSERT_OK(directory_->TagUser(ctx_, "bob", {{"env", "prod"}, {"team", "core"}}));
  auto tags = directory_->ListUserTags(ctx_, "bob", {});
  ASSERT_OK(tags);
  // Keys compare ignoring case: "env" replaced "Env".
  EXPECT_EQ(tags->items, (Tags{{"env", "prod"}, {"team", "core"}}));

  ASSERT_OK(directory_->UntagUser(ctx_, "bob", {"ENV", "absent"}));
  tags = directory_->ListUserTags(ctx_, "bob", {});
  ASSERT_OK(tags);
  EXPECT_EQ(tags->items, (Tags{{"team", "core"}}));

  EXPECT_ERROR(directory_->TagUser(ctx_, "bob", {{"k", "1"}, {"K", "2"}}), Code::kInvalidParameter,
               "Duplicate tag keys found. Please note that Tag keys are case insensitive.");
  EXPECT_CODE(directory_->TagUser(ctx_, "bob", {{"aws:x", "1"}}), Code::kInvalidParameter);
  EXPECT_CODE(directory_->TagUser(ctx_, "bob", {{"", "1"}}), Code::kValidation);
  EXPECT_CODE(directory_->TagUser(ctx_, "bob", {{"k", std::string(257, 'v')}}), Code::kValidation);
  EXPECT_CODE(directory_->TagUser(ctx_, "bob", {{"k!", "v"}}), Code::kValidation);
  EXPECT_ERROR(directory_->TagUser(ctx_, "nobody", {{"k", "v"}}), Code::kNotFound,
               "The user with name nobody cannot be found.");

  // At most 50.
  Tags many;
  for (int i = 0; i < 49; ++i) many.emplace_back("k" + std::to_string(i), "v");
  ASSERT_OK(directory_->TagUser(ctx_, "bob", many));
  EXPECT_ERROR(directory_->TagUser(ctx_, "bob", {{"one-too-many", "v"}}), Code::kLimitExceeded,
               "The number of tags has reached the maximum limit.");
  ASSERT_OK(directory_->TagUser(ctx_, "bob", {{"team", "replaced"}}));  // replacing stays within it

  PageInput page;
  page.max_items = 20;
  auto first = directory_->ListUserTags(ctx_, "bob", page);
  ASSERT_OK(first);
  EXPECT_EQ(first->items.size(), 20u);
  EXPECT_TRUE(first->is_truncated);
}

// ---- access keys
// ----------------------------------------------------------------------------------

TEST_F(DirectoryTest, AccessKeysOfAUser) {
  User bob = MakeUser("bob", "/eng/");
  auto created = directory_->CreateAccessKey(ctx_, std::string("bob"));
  ASSERT_OK(created);
  const std::string id = created->key.access_key_id;
  EXPECT_EQ(id.size(), 20u);
  EXPECT_TRUE(id.starts_with("AKIA"));
  EXPECT_EQ(created->key.user_name, "bob");
  EXPECT_EQ(created->key.status, "Active");
  ASSERT_EQ(created->secret_access_key.size(), 40u);
  const std::string secret(created->secret_access_key.view());

  // The key authenticates as the user, with its path and id.
  auto found = keys_->Lookup(id);
  ASSERT_OK(found);
  EXPECT_EQ(found->first.type, PrincipalType::kUser);
  EXPECT_EQ(found->first.arn, Arn("user/eng/bob"));
  EXPECT_EQ(found->first.user_id, bob.user_id);
  EXPECT_EQ(found->first.principal, "bob");
  EXPECT_EQ(found->first.account, kAccount);
  EXPECT_EQ(found->second->view(), secret);

  // Sealed at rest: the secret is nowhere in the database files.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(secret), std::string::npos) << entry.path();
  }

  auto second = directory_->CreateAccessKey(ctx_, std::string("bob"));
  ASSERT_OK(second);
  EXPECT_ERROR(directory_->CreateAccessKey(ctx_, std::string("bob")), Code::kLimitExceeded,
               "Cannot exceed quota for AccessKeysPerUser: 2");

  auto list = directory_->ListAccessKeys(ctx_, std::string("bob"), {});
  ASSERT_OK(list);
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].user_name, "bob");

  // Deactivating takes effect at once (the cache is told).
  ASSERT_OK(directory_->UpdateAccessKey(ctx_, std::string("bob"), id, "Inactive"));
  EXPECT_CODE(keys_->Lookup(id), Code::kUnrecognizedClient);
  list = directory_->ListAccessKeys(ctx_, std::string("bob"), {});
  ASSERT_OK(list);
  EXPECT_EQ(list->items[0].access_key_id == id ? list->items[0].status : list->items[1].status,
            "Inactive");
  ASSERT_OK(directory_->UpdateAccessKey(ctx_, std::string("bob"), id, "Active"));
  ASSERT_OK(keys_->Lookup(id));
  EXPECT_CODE(directory_->UpdateAccessKey(ctx_, std::string("bob"), id, "Paused"),
              Code::kValidation);

  // Another user's key is not found through this one.
  MakeUser("eve");
  EXPECT_ERROR(directory_->DeleteAccessKey(ctx_, std::string("eve"), id), Code::kNotFound,
               "The Access Key with id " + id + " cannot be found.");

  EXPECT_ERROR(directory_->DeleteUser(ctx_, "bob"), Code::kInvalidRequest,
               "Cannot delete entity, must delete access keys first.");
  ASSERT_OK(directory_->DeleteAccessKey(ctx_, std::string("bob"), id));
  EXPECT_CODE(keys_->Lookup(id), Code::kUnrecognizedClient);
  ASSERT_OK(directory_->DeleteAccessKey(ctx_, std::string("bob"), second->key.access_key_id));
  ASSERT_OK(directory_->DeleteUser(ctx_, "bob"));
  EXPECT_ERROR(directory_->ListAccessKeys(ctx_, std::string("bob"), {}), Code::kNotFound,
               "The user with name bob cannot be found.");
}

TEST_F(DirectoryTest, AccessKeysWithoutAUserNameAreTheCallers) {
  auto root_key = keys_->EnsureRootKey();
  ASSERT_TRUE(root_key.ok() && root_key->has_value());
  auto list = directory_->ListAccessKeys(ctx_, std::nullopt, {});
  ASSERT_OK(list);
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].access_key_id, (*root_key)->access_key_id);
  EXPECT_EQ(list->items[0].user_name, "");

  MakeUser("bob");
  Caller bob;
  bob.type = PrincipalType::kUser;
  bob.principal = "bob";
  RequestContext as_bob = ctx_;
  as_bob.caller = &bob;
  auto made = directory_->CreateAccessKey(as_bob, std::nullopt);
  ASSERT_OK(made);
  EXPECT_EQ(made->key.user_name, "bob");
  auto bobs = directory_->ListAccessKeys(as_bob, std::nullopt, {});
  ASSERT_OK(bobs);
  ASSERT_EQ(bobs->items.size(), 1u);
  EXPECT_EQ(bobs->items[0].access_key_id, made->key.access_key_id);
  // The root key is not bob's.
  EXPECT_CODE(directory_->DeleteAccessKey(as_bob, std::nullopt, (*root_key)->access_key_id),
              Code::kNotFound);
}

// ---- roles
// ----------------------------------------------------------------------------------------

TEST_F(DirectoryTest, Roles) {
  CreateRoleInput in;
  in.role_name = "reader";
  in.path = "/svc/";
  in.assume_role_policy_document = kTrust;
  in.description = "reads secrets";
  in.max_session_duration = 7200;
  in.tags = {{"team", "infra"}};
  auto role = directory_->CreateRole(ctx_, in);
  ASSERT_OK(role);
  EXPECT_EQ(role->arn, Arn("role/svc/reader"));
  EXPECT_TRUE(IsBase32Id(role->role_id, "AROA")) << role->role_id;
  EXPECT_EQ(role->assume_role_policy, kTrust);
  EXPECT_EQ(role->max_session_duration, 7200);

  auto by_arn = directory_->FindRoleByArn(Arn("role/svc/reader"));
  ASSERT_OK(by_arn);
  ASSERT_TRUE(by_arn->has_value());
  EXPECT_EQ((*by_arn)->description, "reads secrets");
  EXPECT_EQ((*by_arn)->tags, (Tags{{"team", "infra"}}));

  EXPECT_ERROR(directory_->CreateRole(ctx_, in), Code::kAlreadyExists,
               "Role with name reader already exists.");

  in.role_name = "bad";
  in.max_session_duration = 3599;
  EXPECT_ERROR(directory_->CreateRole(ctx_, in), Code::kValidation,
               "1 validation error detected: Value '3599' at 'maxSessionDuration' failed to "
               "satisfy constraint: "
               "Member must have value greater than or equal to 3600");
  in.max_session_duration = 43201;
  EXPECT_CODE(directory_->CreateRole(ctx_, in), Code::kValidation);
  in.max_session_duration.reset();
  in.assume_role_policy_document = kAllowRead;  // no Principal: not a trust policy
  EXPECT_CODE(directory_->CreateRole(ctx_, in), Code::kMalformedPolicy);
  in.assume_role_policy_document = "{not json";
  EXPECT_CODE(directory_->CreateRole(ctx_, in), Code::kMalformedPolicy);

  UpdateRoleInput update;
  update.role_name = "reader";
  update.description = "new";
  update.max_session_duration = 43200;
  ASSERT_OK(directory_->UpdateRole(ctx_, update));
  auto got = directory_->GetRole(ctx_, "READER");
  ASSERT_OK(got);
  EXPECT_EQ(got->description, "new");
  EXPECT_EQ(got->max_session_duration, 43200);

  const std::string trust2 =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/kube.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]})";
  ASSERT_OK(directory_->UpdateAssumeRolePolicy(ctx_, "reader", trust2));
  got = directory_->GetRole(ctx_, "reader");
  ASSERT_OK(got);
  EXPECT_EQ(got->assume_role_policy, trust2);
  EXPECT_CODE(directory_->UpdateAssumeRolePolicy(ctx_, "reader", kAllowRead),
              Code::kMalformedPolicy);
  EXPECT_ERROR(directory_->UpdateAssumeRolePolicy(ctx_, "ghost", trust2), Code::kNotFound,
               "The role with name ghost cannot be found.");

  ASSERT_OK(directory_->TagRole(ctx_, "reader", {{"env", "prod"}}));
  ASSERT_OK(directory_->UntagRole(ctx_, "reader", {"team"}));
  auto tags = directory_->ListRoleTags(ctx_, "reader", {});
  ASSERT_OK(tags);
  EXPECT_EQ(tags->items, (Tags{{"env", "prod"}}));

  MakeRole("writer");
  auto list = directory_->ListRoles(ctx_, std::nullopt, {});
  ASSERT_OK(list);
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].name, "reader");
  EXPECT_EQ(list->items[1].name, "writer");

  ASSERT_OK(directory_->PutRolePolicy(ctx_, "reader", "inline", kAllowRead));
  EXPECT_ERROR(directory_->DeleteRole(ctx_, "reader"), Code::kInvalidRequest,
               "Cannot delete entity, must delete policies first.");
  ASSERT_OK(directory_->DeleteRolePolicy(ctx_, "reader", "inline"));
  ManagedPolicy p = MakePolicy("p");
  ASSERT_OK(directory_->AttachRolePolicy(ctx_, "reader", p.arn));
  EXPECT_ERROR(directory_->DeleteRole(ctx_, "reader"), Code::kInvalidRequest,
               "Cannot delete entity, must detach all policies first.");
  ASSERT_OK(directory_->DetachRolePolicy(ctx_, "reader", p.arn));
  ASSERT_OK(directory_->DeleteRole(ctx_, "reader"));
  EXPECT_ERROR(directory_->GetRole(ctx_, "reader"), Code::kNotFound,
               "The role with name reader cannot be found.");
  auto gone = directory_->FindRoleByArn(Arn("role/svc/reader"));
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
}

// ---- managed policies
// -----------------------------------------------------------------------------

TEST_F(DirectoryTest, ManagedPoliciesAndVersions) {
  CreatePolicyInput in;
  in.policy_name = "read";
  in.path = "/team/";
  in.policy_document = kAllowRead;
  in.description = "read secrets";
  in.tags = {{"k", "v"}};
  auto created = directory_->CreatePolicy(ctx_, in);
  ASSERT_OK(created);
  const std::string arn = Arn("policy/team/read");
  EXPECT_EQ(created->arn, arn);
  EXPECT_TRUE(IsBase32Id(created->policy_id, "ANPA")) << created->policy_id;
  EXPECT_EQ(created->default_version_id, "v1");
  EXPECT_EQ(created->attachment_count, 0);

  EXPECT_ERROR(directory_->CreatePolicy(ctx_, in), Code::kAlreadyExists,
               "A policy called read already exists. Duplicate names are not allowed.");
  in.policy_name = "bad";
  in.policy_document = kTrust;  // a Principal in an identity policy
  EXPECT_CODE(directory_->CreatePolicy(ctx_, in), Code::kMalformedPolicy);
  in.path = "/a b/";
  in.policy_document = kAllowRead;
  EXPECT_CODE(directory_->CreatePolicy(ctx_, in), Code::kValidation);

  auto v1 = directory_->GetPolicyVersion(ctx_, arn, "v1");
  ASSERT_OK(v1);
  EXPECT_EQ(v1->document, kAllowRead);
  EXPECT_TRUE(v1->is_default);

  clock_.Advance(std::chrono::seconds(10));
  auto v2 = directory_->CreatePolicyVersion(ctx_, arn, kAllowList, /*set_as_default=*/true);
  ASSERT_OK(v2);
  EXPECT_EQ(v2->version_id, "v2");
  EXPECT_TRUE(v2->is_default);
  auto got = directory_->GetPolicy(ctx_, arn);
  ASSERT_OK(got);
  EXPECT_EQ(got->default_version_id, "v2");
  EXPECT_EQ(got->updated_ms, ToUnixMillis(clock_.Now()));
  EXPECT_EQ(got->description, "read secrets");
  EXPECT_EQ(got->tags, (Tags{{"k", "v"}}));

  for (int i = 3; i <= 5; ++i)
    ASSERT_OK(directory_->CreatePolicyVersion(ctx_, arn, kAllowRead, false));
  EXPECT_ERROR(directory_->CreatePolicyVersion(ctx_, arn, kAllowRead, false), Code::kLimitExceeded,
               "A managed policy can have up to 5 versions. Before you create a new version, you "
               "must delete an "
               "existing version.");
  auto versions = directory_->ListPolicyVersions(ctx_, arn, {});
  ASSERT_OK(versions);
  ASSERT_EQ(versions->items.size(), 5u);
  EXPECT_EQ(versions->items[0].version_id, "v5");  // newest first
  EXPECT_EQ(versions->items[4].version_id, "v1");
  EXPECT_TRUE(versions->items[3].is_default);
  EXPECT_TRUE(versions->items[0].document.empty());

  EXPECT_ERROR(directory_->DeletePolicyVersion(ctx_, arn, "v2"), Code::kInvalidRequest,
               "Cannot delete the default version of a policy.");
  ASSERT_OK(directory_->DeletePolicyVersion(ctx_, arn, "v3"));
  EXPECT_ERROR(directory_->GetPolicyVersion(ctx_, arn, "v3"), Code::kNotFound,
               "Policy " + arn + " version v3 does not exist.");
  EXPECT_CODE(directory_->GetPolicyVersion(ctx_, arn, "3"), Code::kValidation);
  // Version numbers are not reused.
  auto v6 = directory_->CreatePolicyVersion(ctx_, arn, kAllowRead, false);
  ASSERT_OK(v6);
  EXPECT_EQ(v6->version_id, "v6");

  ASSERT_OK(directory_->SetDefaultPolicyVersion(ctx_, arn, "v6"));
  EXPECT_CODE(directory_->SetDefaultPolicyVersion(ctx_, arn, "v9"), Code::kNotFound);
  got = directory_->GetPolicy(ctx_, arn);
  ASSERT_OK(got);
  EXPECT_EQ(got->default_version_id, "v6");

  EXPECT_ERROR(directory_->DeletePolicy(ctx_, arn), Code::kInvalidRequest,
               "This policy has more than one version. Before you delete a policy, you must delete "
               "the policy's "
               "versions. The default version is deleted with the policy.");
  for (std::string v : {"v1", "v2", "v4", "v5"})
    ASSERT_OK(directory_->DeletePolicyVersion(ctx_, arn, v));
  MakeUser("bob");
  ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", arn));
  got = directory_->GetPolicy(ctx_, arn);
  ASSERT_OK(got);
  EXPECT_EQ(got->attachment_count, 1);
  EXPECT_ERROR(directory_->DeletePolicy(ctx_, arn), Code::kInvalidRequest,
               "Cannot delete a policy attached to entities.");
  ASSERT_OK(directory_->DetachUserPolicy(ctx_, "bob", arn));
  ASSERT_OK(directory_->DeletePolicy(ctx_, arn));
  EXPECT_ERROR(directory_->GetPolicy(ctx_, arn), Code::kNotFound,
               "Policy " + arn + " was not found.");
}

TEST_F(DirectoryTest, PolicyArnsAndListing) {
  EXPECT_ERROR(directory_->GetPolicy(ctx_, "not-an-arn-at-all-really"), Code::kInvalidParameter,
               "ARN not-an-arn-at-all-really is not valid.");
  EXPECT_CODE(directory_->GetPolicy(ctx_, "arn:aws:iam::123456789012:user/bob"),
              Code::kInvalidParameter);
  EXPECT_ERROR(directory_->GetPolicy(ctx_, "arn:aws:iam::aws:policy/ReadOnlyAccess"),
               Code::kNotFound, "Policy arn:aws:iam::aws:policy/ReadOnlyAccess was not found.");
  MakeUser("bob");
  EXPECT_ERROR(
      directory_->AttachUserPolicy(ctx_, "bob", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
      Code::kNotFound,
      "Policy arn:aws:iam::aws:policy/ReadOnlyAccess does not exist or is not attachable.");
  EXPECT_ERROR(directory_->AttachUserPolicy(ctx_, "bob", Arn("policy/missing")), Code::kNotFound,
               "Policy " + Arn("policy/missing") + " does not exist or is not attachable.");

  ManagedPolicy a = MakePolicy("a");
  CreatePolicyInput in;
  in.policy_name = "b";
  in.path = "/x/";
  in.policy_document = kAllowRead;
  ASSERT_OK(directory_->CreatePolicy(ctx_, in));
  ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", a.arn));

  auto all = directory_->ListPolicies(ctx_, {});
  ASSERT_OK(all);
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->items[0].name, "a");
  EXPECT_EQ(all->items[0].attachment_count, 1);
  ListPoliciesInput filter;
  filter.only_attached = true;
  auto attached = directory_->ListPolicies(ctx_, filter);
  ASSERT_OK(attached);
  ASSERT_EQ(attached->items.size(), 1u);
  EXPECT_EQ(attached->items[0].name, "a");
  filter = {};
  filter.path_prefix = "/x/";
  auto under_x = directory_->ListPolicies(ctx_, filter);
  ASSERT_OK(under_x);
  ASSERT_EQ(under_x->items.size(), 1u);
  EXPECT_EQ(under_x->items[0].name, "b");
  filter = {};
  filter.scope = "AWS";
  auto aws = directory_->ListPolicies(ctx_, filter);
  ASSERT_OK(aws);
  EXPECT_TRUE(aws->items.empty());
  filter.scope = "Mine";
  EXPECT_CODE(directory_->ListPolicies(ctx_, filter), Code::kValidation);
}

TEST_F(DirectoryTest, ManagedPolicySizeIsCountedWithoutWhitespace) {
  // 6144 characters without whitespace pass, one more does not; whitespace is free.
  auto document = [](std::size_t target) {
    std::string head =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::)";
    std::string tail = R"("}]})";
    std::string doc = head + std::string(target - head.size() - tail.size(), 'a') + tail;
    return doc;
  };
  MakePolicy("exact", document(6144));
  std::string spaced = document(6144);
  spaced.insert(1, std::string(500, ' '));
  MakePolicy("spaced", spaced);
  CreatePolicyInput in;
  in.policy_name = "big";
  in.policy_document = document(6145);
  EXPECT_ERROR(directory_->CreatePolicy(ctx_, in), Code::kLimitExceeded,
               "Cannot exceed quota for PolicySize: 6144");
}

// ---- attachments
// ----------------------------------------------------------------------------------

TEST_F(DirectoryTest, Attachments) {
  MakeUser("bob");
  std::vector<ManagedPolicy> policies;
  for (int i = 0; i < 11; ++i) policies.push_back(MakePolicy("p" + std::to_string(i)));
  for (int i = 0; i < 10; ++i)
    ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", policies[i].arn));
  ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", policies[0].arn));  // again: nothing changes
  EXPECT_ERROR(directory_->AttachUserPolicy(ctx_, "bob", policies[10].arn), Code::kLimitExceeded,
               "Cannot exceed quota for PoliciesPerUser: 10");
  auto list = directory_->ListAttachedUserPolicies(ctx_, "bob", std::nullopt, {});
  ASSERT_OK(list);
  ASSERT_EQ(list->items.size(), 10u);
  EXPECT_EQ(list->items[0].policy_name, "p0");
  EXPECT_EQ(list->items[0].policy_arn, policies[0].arn);

  ASSERT_OK(directory_->DetachUserPolicy(ctx_, "bob", policies[0].arn));
  EXPECT_ERROR(directory_->DetachUserPolicy(ctx_, "bob", policies[0].arn), Code::kNotFound,
               "Policy " + policies[0].arn + " was not found.");
  EXPECT_ERROR(directory_->DeleteUser(ctx_, "bob"), Code::kInvalidRequest,
               "Cannot delete entity, must detach all policies first.");

  MakeRole("r");
  for (int i = 0; i < 10; ++i) ASSERT_OK(directory_->AttachRolePolicy(ctx_, "r", policies[i].arn));
  EXPECT_ERROR(directory_->AttachRolePolicy(ctx_, "r", policies[10].arn), Code::kLimitExceeded,
               "Cannot exceed quota for PoliciesPerRole: 10");
  auto role_list = directory_->ListAttachedRolePolicies(ctx_, "r", std::nullopt, {});
  ASSERT_OK(role_list);
  EXPECT_EQ(role_list->items.size(), 10u);
  EXPECT_ERROR(directory_->AttachRolePolicy(ctx_, "ghost", policies[0].arn), Code::kNotFound,
               "The role with name ghost cannot be found.");
}

// ---- inline policies
// ------------------------------------------------------------------------------

TEST_F(DirectoryTest, InlinePolicies) {
  MakeUser("bob");
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "read", kAllowRead));
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "list", kAllowRead));
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "list", kAllowList));  // replaces
  auto got = directory_->GetUserPolicy(ctx_, "bob", "list");
  ASSERT_OK(got);
  EXPECT_EQ(got->owner_name, "bob");
  EXPECT_EQ(got->policy_name, "list");
  EXPECT_EQ(got->document, kAllowList);
  auto names = directory_->ListUserPolicies(ctx_, "bob", {});
  ASSERT_OK(names);
  EXPECT_EQ(names->items, (std::vector<std::string>{"list", "read"}));

  EXPECT_ERROR(directory_->GetUserPolicy(ctx_, "bob", "nope"), Code::kNotFound,
               "The user policy with name nope cannot be found.");
  EXPECT_CODE(directory_->PutUserPolicy(ctx_, "bob", "bad", kTrust), Code::kMalformedPolicy);
  EXPECT_CODE(directory_->PutUserPolicy(ctx_, "bob", "bad name", kAllowRead), Code::kValidation);
  EXPECT_ERROR(directory_->DeleteUser(ctx_, "bob"), Code::kInvalidRequest,
               "Cannot delete entity, must delete policies first.");
  ASSERT_OK(directory_->DeleteUserPolicy(ctx_, "bob", "list"));
  EXPECT_ERROR(directory_->DeleteUserPolicy(ctx_, "bob", "list"), Code::kNotFound,
               "The user policy with name list cannot be found.");

  MakeRole("r");
  ASSERT_OK(directory_->PutRolePolicy(ctx_, "r", "read", kAllowRead));
  auto role_policy = directory_->GetRolePolicy(ctx_, "r", "read");
  ASSERT_OK(role_policy);
  EXPECT_EQ(role_policy->owner_name, "r");
  EXPECT_ERROR(directory_->GetRolePolicy(ctx_, "r", "x"), Code::kNotFound,
               "The role policy with name x cannot be found.");
  auto role_names = directory_->ListRolePolicies(ctx_, "r", {});
  ASSERT_OK(role_names);
  EXPECT_EQ(role_names->items, (std::vector<std::string>{"read"}));
}

TEST_F(DirectoryTest, InlinePolicyQuotasCoverAllOfAnOwnersPolicies) {
  auto document = [](std::size_t target) {
    std::string head =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::)";
    std::string tail = R"("}]})";
    return head + std::string(target - head.size() - tail.size(), 'a') + tail;
  };
  MakeUser("bob");
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "one", document(1000)));
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "two", document(1048)));
  EXPECT_ERROR(directory_->PutUserPolicy(ctx_, "bob", "three", document(200)), Code::kLimitExceeded,
               "Maximum policy size of 2048 bytes exceeded for user bob");
  // Replacing one counts only its new size.
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "two", document(1048)));

  MakeRole("r");
  ASSERT_OK(directory_->PutRolePolicy(ctx_, "r", "big", document(10240)));
  EXPECT_ERROR(directory_->PutRolePolicy(ctx_, "r", "more", document(200)), Code::kLimitExceeded,
               "Maximum policy size of 10240 bytes exceeded for role r");
}

TEST_F(DirectoryTest, PoliciesOfAPrincipal) {
  MakeUser("bob", std::nullopt, {{"team", "core"}});
  ManagedPolicy a = MakePolicy("a", kAllowRead);
  ManagedPolicy b = MakePolicy("b", kAllowRead);
  ASSERT_OK(directory_->CreatePolicyVersion(ctx_, b.arn, kAllowList, /*set_as_default=*/true));
  ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", a.arn));
  ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", b.arn));
  ASSERT_OK(directory_->PutUserPolicy(ctx_, "bob", "mine", kAllowList));

  auto policies = directory_->PoliciesOfUser("bob");
  ASSERT_OK(policies);
  ASSERT_EQ(policies->policies.size(), 3u);
  EXPECT_EQ(policies->policies[0].source, a.arn);
  EXPECT_EQ(policies->policies[0].document, kAllowRead);
  EXPECT_EQ(policies->policies[1].source, b.arn);
  EXPECT_EQ(policies->policies[1].document, kAllowList);  // the default version
  EXPECT_EQ(policies->policies[2].source, "inline:mine");
  EXPECT_EQ(policies->tags, (Tags{{"team", "core"}}));

  // A new default version shows at once.
  ASSERT_OK(directory_->SetDefaultPolicyVersion(ctx_, b.arn, "v1"));
  policies = directory_->PoliciesOfUser("bob");
  ASSERT_OK(policies);
  EXPECT_EQ(policies->policies[1].document, kAllowRead);

  MakeRole("r");
  ASSERT_OK(directory_->AttachRolePolicy(ctx_, "r", a.arn));
  auto role_policies = directory_->PoliciesOfRole("R");
  ASSERT_OK(role_policies);
  ASSERT_EQ(role_policies->policies.size(), 1u);
  EXPECT_EQ(role_policies->policies[0].source, a.arn);

  auto nobody = directory_->PoliciesOfUser("nobody");
  ASSERT_OK(nobody);
  EXPECT_TRUE(nobody->policies.empty());
}

// ---- OpenID Connect providers
// ---------------------------------------------------------------------

TEST_F(DirectoryTest, OidcProviders) {
  CreateOidcProviderInput in;
  in.url = "https://Kube.Example/cluster/";
  in.client_ids = {"sts.amazonaws.com", "sts.amazonaws.com", "arca"};
  in.thumbprints = {std::string(40, 'a')};
  in.tags = {{"arca:jwks-file", "/etc/arca/jwks.json"}};
  auto created = directory_->CreateOpenIDConnectProvider(ctx_, in);
  ASSERT_OK(created);
  const std::string arn = Arn("oidc-provider/kube.example/cluster");
  EXPECT_EQ(created->arn, arn);
  EXPECT_EQ(created->url, "kube.example/cluster");
  EXPECT_EQ(created->client_ids, (std::vector<std::string>{"sts.amazonaws.com", "arca"}));
  EXPECT_EQ(created->jwks_file, "/etc/arca/jwks.json");

  EXPECT_ERROR(directory_->CreateOpenIDConnectProvider(ctx_, in), Code::kAlreadyExists,
               "Provider with url https://kube.example/cluster already exists.");
  CreateOidcProviderInput bad = in;
  bad.url = "http://kube.example";
  EXPECT_CODE(directory_->CreateOpenIDConnectProvider(ctx_, bad), Code::kInvalidParameter);
  bad.url = "https://other.example";
  bad.thumbprints = {"short"};
  EXPECT_CODE(directory_->CreateOpenIDConnectProvider(ctx_, bad), Code::kValidation);

  ASSERT_OK(directory_->AddClientIDToOpenIDConnectProvider(ctx_, arn, "extra"));
  ASSERT_OK(directory_->AddClientIDToOpenIDConnectProvider(ctx_, arn, "extra"));
  ASSERT_OK(directory_->RemoveClientIDFromOpenIDConnectProvider(ctx_, arn, "arca"));
  ASSERT_OK(directory_->RemoveClientIDFromOpenIDConnectProvider(ctx_, arn, "never-there"));
  ASSERT_OK(directory_->UpdateOpenIDConnectProviderThumbprint(ctx_, arn, {std::string(40, 'b')}));
  ASSERT_OK(directory_->TagOpenIDConnectProvider(ctx_, arn, {{"env", "prod"}}));
  auto got = directory_->GetOpenIDConnectProvider(ctx_, arn);
  ASSERT_OK(got);
  EXPECT_EQ(got->client_ids, (std::vector<std::string>{"sts.amazonaws.com", "extra"}));
  EXPECT_EQ(got->thumbprints, (std::vector<std::string>{std::string(40, 'b')}));
  EXPECT_EQ(got->tags, (Tags{{"arca:jwks-file", "/etc/arca/jwks.json"}, {"env", "prod"}}));
  EXPECT_EQ(got->jwks_file, "/etc/arca/jwks.json");
  ASSERT_OK(directory_->UntagOpenIDConnectProvider(ctx_, arn, {"env"}));
  auto tags = directory_->ListOpenIDConnectProviderTags(ctx_, arn, {});
  ASSERT_OK(tags);
  EXPECT_EQ(tags->items.size(), 1u);

  // Found by its issuer URL, with or without the scheme.
  for (std::string url :
       {"https://kube.example/cluster", "kube.example/cluster", "https://kube.example/cluster/"}) {
    auto by_url = directory_->FindOidcProviderByUrl(url);
    ASSERT_OK(by_url);
    ASSERT_TRUE(by_url->has_value()) << url;
    EXPECT_EQ((*by_url)->arn, arn);
  }
  auto none = directory_->FindOidcProviderByUrl("https://elsewhere.example");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());

  auto list = directory_->ListOpenIDConnectProviders(ctx_);
  ASSERT_OK(list);
  EXPECT_EQ(*list, (std::vector<std::string>{arn}));

  EXPECT_ERROR(directory_->GetOpenIDConnectProvider(ctx_, Arn("oidc-provider/nope.example")),
               Code::kNotFound,
               "OpenIDConnect Provider not found for arn " + Arn("oidc-provider/nope.example"));
  EXPECT_CODE(directory_->GetOpenIDConnectProvider(ctx_, "arn:aws:iam::123456789012:user/bob"),
              Code::kInvalidParameter);
  ASSERT_OK(directory_->DeleteOpenIDConnectProvider(ctx_, arn));
  EXPECT_CODE(directory_->DeleteOpenIDConnectProvider(ctx_, arn), Code::kNotFound);
}

TEST_F(DirectoryTest, EnsureOidcProviderCreatesThenUpdates) {
  auto first = directory_->EnsureOidcProvider("https://kube.example", {"sts.amazonaws.com"},
                                              R"({"keys":[]})", "");
  ASSERT_OK(first);
  EXPECT_EQ(first->arn, Arn("oidc-provider/kube.example"));
  EXPECT_EQ(first->jwks, R"({"keys":[]})");
  ASSERT_OK(
      directory_->UpdateOpenIDConnectProviderThumbprint(ctx_, first->arn, {std::string(40, 'c')}));

  clock_.Advance(std::chrono::seconds(5));
  auto second = directory_->EnsureOidcProvider("https://kube.example/", {"arca", "arca"}, "",
                                               "/var/jwks.json");
  ASSERT_OK(second);
  EXPECT_EQ(second->arn, first->arn);
  EXPECT_EQ(second->client_ids, (std::vector<std::string>{"arca"}));
  EXPECT_EQ(second->jwks, "");
  EXPECT_EQ(second->jwks_file, "/var/jwks.json");
  EXPECT_EQ(second->thumbprints, (std::vector<std::string>{std::string(40, 'c')}));  // kept
  EXPECT_EQ(second->created_ms, first->created_ms);

  auto found = directory_->FindOidcProviderByArn(first->arn);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->jwks_file, "/var/jwks.json");
  EXPECT_CODE(directory_->EnsureOidcProvider("kube.example", {}, "", ""), Code::kInvalidParameter);
}

// ---- the gate
// -------------------------------------------------------------------------------------

TEST_F(DirectoryTest, EveryCallAsksTheGateWithIamsActionAndResource) {
  MakeUser("bob", "/eng/", {{"team", "core"}});
  ASSERT_FALSE(gate_.calls.empty());
  EXPECT_EQ(gate_.calls.back().action, "iam:CreateUser");
  EXPECT_EQ(gate_.calls.back().arn, Arn("user/eng/bob"));
  EXPECT_EQ(Values(gate_.calls.back().action_keys, "aws:RequestTag/team"), "core");
  EXPECT_EQ(Values(gate_.calls.back().action_keys, "aws:TagKeys"), "team");

  ASSERT_OK(directory_->GetUser(ctx_, std::string("bob")));
  EXPECT_EQ(gate_.calls.back().action, "iam:GetUser");
  EXPECT_EQ(gate_.calls.back().arn, Arn("user/eng/bob"));
  EXPECT_EQ(Values(gate_.calls.back().resource_keys, "aws:ResourceTag/team"), "core");
  EXPECT_EQ(Values(gate_.calls.back().resource_keys, "iam:ResourceTag/team"), "core");

  ASSERT_OK(directory_->ListUsers(ctx_, std::nullopt, {}));
  EXPECT_EQ(gate_.calls.back().action, "iam:ListUsers");
  EXPECT_EQ(gate_.calls.back().arn, Arn("user/"));

  ManagedPolicy p = MakePolicy("p");
  EXPECT_EQ(gate_.calls.back().action, "iam:CreatePolicy");
  EXPECT_EQ(gate_.calls.back().arn, p.arn);
  ASSERT_OK(directory_->AttachUserPolicy(ctx_, "bob", p.arn));
  EXPECT_EQ(gate_.calls.back().action, "iam:AttachUserPolicy");
  EXPECT_EQ(gate_.calls.back().arn, Arn("user/eng/bob"));
  EXPECT_EQ(Values(gate_.calls.back().action_keys, "iam:PolicyARN"), p.arn);

  ASSERT_OK(directory_->ListPolicies(ctx_, {}));
  EXPECT_EQ(gate_.calls.back().action, "iam:ListPolicies");
  EXPECT_EQ(gate_.calls.back().display, "policy path /");

  ASSERT_OK(directory_->UntagUser(ctx_, "bob", {"team"}));
  EXPECT_EQ(gate_.calls.back().action, "iam:UntagUser");
  EXPECT_EQ(Values(gate_.calls.back().action_keys, "aws:TagKeys"), "team");

  // A missing entity is still authorized first (a denied caller learns nothing).
  gate_.deny = true;
  EXPECT_CODE(directory_->GetUser(ctx_, std::string("ghost")), Code::kAccessDenied);
  EXPECT_EQ(gate_.calls.back().arn, Arn("user/ghost"));
}

TEST_F(DirectoryTest, ADeniedCallChangesNothing) {
  MakeUser("bob");
  ManagedPolicy p = MakePolicy("p");
  gate_.deny = true;
  EXPECT_CODE(directory_->CreateUser(ctx_, {"eve", std::nullopt, {}}), Code::kAccessDenied);
  EXPECT_CODE(directory_->DeleteUser(ctx_, "bob"), Code::kAccessDenied);
  EXPECT_CODE(directory_->AttachUserPolicy(ctx_, "bob", p.arn), Code::kAccessDenied);
  EXPECT_CODE(directory_->CreateAccessKey(ctx_, std::string("bob")), Code::kAccessDenied);
  EXPECT_CODE(directory_->PutUserPolicy(ctx_, "bob", "x", kAllowRead), Code::kAccessDenied);
  EXPECT_CODE(directory_->CreatePolicyVersion(ctx_, p.arn, kAllowList, true), Code::kAccessDenied);
  gate_.deny = false;
  auto eve = directory_->FindUser("eve");
  ASSERT_OK(eve);
  EXPECT_FALSE(eve->has_value());
  auto bob = directory_->FindUser("bob");
  ASSERT_OK(bob);
  EXPECT_TRUE(bob->has_value());
  auto policies = directory_->PoliciesOfUser("bob");
  ASSERT_OK(policies);
  EXPECT_TRUE(policies->policies.empty());
  auto keys = directory_->ListAccessKeys(ctx_, std::string("bob"), {});
  ASSERT_OK(keys);
  EXPECT_TRUE(keys->items.empty());
  auto got = directory_->GetPolicy(ctx_, p.arn);
  ASSERT_OK(got);
  EXPECT_EQ(got->default_version_id, "v1");
}

TEST_F(DirectoryTest, ANullGateFailsClosed) {
  ctx_.gate = nullptr;
  EXPECT_CODE(directory_->CreateUser(ctx_, {"eve", std::nullopt, {}}), Code::kInternal);
}

}  // namespace
}  // namespace arca::iam
