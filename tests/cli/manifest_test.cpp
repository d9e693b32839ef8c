#include "cli/manifest.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace arca::cli::bootstrap {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

client::EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ManifestOptions Opts(std::map<std::string, std::string> env = {}) {
  ManifestOptions o;
  o.env = FakeEnv(std::move(env));
  return o;
}

Manifest MustParse(const std::string& yaml, const ManifestOptions& o = Opts()) {
  auto m = ParseManifest(yaml, o);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message());
  if (!m.ok()) return {};
  return std::move(*m);
}

std::string ErrorOf(const std::string& yaml, const ManifestOptions& o = Opts()) {
  auto m = ParseManifest(yaml, o);
  EXPECT_FALSE(m.ok()) << "expected an error for:\n" << yaml;
  if (m.ok()) return "";
  EXPECT_EQ(m.error().code(), Code::kInvalidParameter);
  return m.error().message();
}

std::string Text(const ValueSpec& v) { return std::string(v.text.view()); }

const Field& FieldOf(const SecretSpec& s, const std::string& key) {
  for (const auto& f : s.fields) {
    if (f.key == key) return f;
  }
  ADD_FAILURE() << "no field " << key;
  static const Field kNone;
  return kNone;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "arca-manifest-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void Write(const std::string& rel, const std::string& content) const {
    fs::create_directories(fs::path(path_ / fs::path(rel)).parent_path());
    std::ofstream(fs::path(path_) / rel, std::ios::binary) << content;
  }

 private:
  std::string path_;
};

constexpr const char* kShop = R"(
variables:
  app: shop
  env: staging
defaults:
  tags: {app: "{app}", env: "{env}", team: platform}
  kmsKeyId: alias/aws/secretsmanager
secrets:
  - name: "{app}/{env}/database"
    description: PostgreSQL for {app} ({env})
    fields:
      engine: postgres
      port: 5432
      host: {fromEnv: DB_HOST}
      username: "{app}"
      password: {password: {length: 32, excludePunctuation: true}}
    tags: {category: database, team: data}
    output: db
  - name: "{app}/{env}/jwt-keys"
    fields:
      JWT_SECRET: {random: {bytes: 32, encoding: hex}}
  - name: "{app}/{env}/license"
    value: "LICENSE-{env}-0001"
)";

// ---- parsing
// --------------------------------------------------------------------------------------

TEST(ManifestParse, ResolvesVariablesDefaultsAndSources) {
  Manifest m = MustParse(kShop, Opts({{"DB_HOST", "db.internal"}}));
  ASSERT_EQ(m.secrets.size(), 3u);
  const SecretSpec& db = m.secrets[0];
  EXPECT_EQ(db.name, "shop/staging/database");
  EXPECT_EQ(db.description.value_or(""), "PostgreSQL for shop (staging)");
  EXPECT_EQ(db.output_key, "db");
  EXPECT_EQ(db.kms_key_id.value_or(""), "alias/aws/secretsmanager");
  ASSERT_TRUE(db.is_object);
  ASSERT_EQ(db.fields.size(), 5u);
  // Manifest order is kept.
  EXPECT_EQ(db.fields[0].key, "engine");
  EXPECT_EQ(db.fields[1].key, "port");
  EXPECT_EQ(db.fields[4].key, "password");
  EXPECT_EQ(Text(FieldOf(db, "engine").value), "postgres");
  EXPECT_EQ(Text(FieldOf(db, "port").value), "5432");  // scalars are kept as strings
  EXPECT_EQ(Text(FieldOf(db, "host").value), "db.internal");
  EXPECT_EQ(Text(FieldOf(db, "username").value), "shop");
  const auto& pw = FieldOf(db, "password").value;
  ASSERT_TRUE(pw.generator.has_value());
  EXPECT_EQ(pw.generator->kind, Generator::Kind::kPassword);
  EXPECT_EQ(pw.generator->password.length.value_or(0), 32);
  EXPECT_TRUE(pw.generator->password.exclude_punctuation.value_or(false));
  // Tags: defaults merged, the secret's own win.
  std::map<std::string, std::string> want{
      {"app", "shop"}, {"env", "staging"}, {"team", "data"}, {"category", "database"}};
  EXPECT_EQ(db.tags, want);

  const SecretSpec& jwt = m.secrets[1];
  EXPECT_EQ(jwt.output_key, "jwtKeys");
  EXPECT_FALSE(jwt.description.has_value());
  EXPECT_EQ(jwt.tags.at("team"), "platform");
  const auto& g = FieldOf(jwt, "JWT_SECRET").value.generator;
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->kind, Generator::Kind::kRandom);
  EXPECT_EQ(g->random.bytes, 32u);
  EXPECT_EQ(g->random.encoding, RandomEncoding::kHex);

  const SecretSpec& lic = m.secrets[2];
  EXPECT_FALSE(lic.is_object);
  EXPECT_EQ(Text(lic.value), "LICENSE-staging-0001");
  EXPECT_EQ(m.variables.at("env"), "staging");
}

TEST(ManifestParse, VarFlagsOverrideAndAdd) {
  ManifestOptions o = Opts({{"DB_HOST", "h"}});
  o.vars = {{"env", "production"}, {"region", "eu"}};
  std::string yaml = std::string(kShop) + R"(
  - name: "{app}/{env}/extra"
    fields: {region: "{region}"}
)";
  Manifest m = MustParse(yaml, o);
  EXPECT_EQ(m.secrets[0].name, "shop/production/database");
  EXPECT_EQ(m.secrets[0].tags.at("env"), "production");
  EXPECT_EQ(Text(m.secrets[3].fields[0].value), "eu");
}

TEST(ManifestParse, UnknownVariableIsNamedWithItsPlace) {
  std::string msg = ErrorOf(R"(
secrets:
  - name: app/db
    fields:
      password: hunter2-do-not-print
      host: "{dbhost}.internal"
)");
  EXPECT_NE(msg.find("{dbhost}"), std::string::npos) << msg;
  EXPECT_NE(msg.find("app/db"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fields.host"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--var dbhost="), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
}

TEST(ManifestParse, EscapesAndLoneBraces) {
  Manifest m = MustParse(R"(
variables: {app: shop, prefix: "{app}/v1"}
secrets:
  - name: "{prefix}/cfg"
    fields:
      template: "{{app} is literal, {app} is not"
      json: '{"a": {"b": 1}}'
      brace: "{ x }"
)");
  ASSERT_EQ(m.secrets.size(), 1u);
  EXPECT_EQ(m.secrets[0].name, "shop/v1/cfg");  // variables may use other variables
  EXPECT_EQ(Text(m.secrets[0].fields[0].value), "{app} is literal, shop is not");
  EXPECT_EQ(Text(m.secrets[0].fields[1].value), "{\"a\": {\"b\": 1}}");
  EXPECT_EQ(Text(m.secrets[0].fields[2].value), "{ x }");
}

TEST(ManifestParse, VariableCycleIsAnError) {
  std::string msg = ErrorOf(R"(
variables: {a: "{b}", b: "{a}"}
secrets:
  - name: x
    value: y
)");
  EXPECT_NE(msg.find("refers to itself"), std::string::npos) << msg;
}

TEST(ManifestSubstitute, Rules) {
  std::map<std::string, std::string> v{{"app", "shop"}, {"my-env", "dev"}};
  EXPECT_EQ(*Substitute("{app}/{my-env}", v), "shop/dev");
  EXPECT_EQ(*Substitute("{{app}", v), "{app}");
  EXPECT_EQ(*Substitute("{{{app}", v), "{shop");
  EXPECT_EQ(*Substitute("{} {1} { app } {app", v), "{} {1} { app } {app");
  auto bad = Substitute("x{nope}y", v);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("{nope}"), std::string::npos);
}

TEST(ManifestParse, FromEnv) {
  std::string yaml = R"(
secrets:
  - name: s
    fields:
      a: {fromEnv: A_VAR}
      b: {fromEnv: B_VAR, default: fallback}
      c: {fromEnv: EMPTY}
)";
  Manifest m = MustParse(yaml, Opts({{"A_VAR", "alpha"}, {"EMPTY", ""}}));
  EXPECT_EQ(Text(m.secrets[0].fields[0].value), "alpha");
  EXPECT_EQ(Text(m.secrets[0].fields[1].value), "fallback");
  EXPECT_EQ(Text(m.secrets[0].fields[2].value), "");

  std::string msg = ErrorOf(yaml, Opts({{"EMPTY", ""}}));
  EXPECT_NE(msg.find("environment variable A_VAR is not set"), std::string::npos) << msg;
  EXPECT_NE(msg.find("secrets[0] (s): fields.a"), std::string::npos) << msg;
}

TEST(ManifestParse, FromFileRelativeToManifest) {
  TempDir dir;
  dir.Write("certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n");
  dir.Write("license.txt", "LIC-123\n");
  dir.Write("policies/db.json", R"({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
    "Principal": {"AWS": "arn:aws:iam::000000000000:role/{app}-ops"}, "Action": "secretsmanager:DeleteSecret",
    "Resource": "*"}]})");
  dir.Write("env.yaml", R"(
variables: {app: shop}
secrets:
  - name: a
    fields:
      ca: {fromFile: certs/ca.pem}
    policy: {fromFile: policies/db.json}
  - name: b
    value: {fromFile: license.txt}
)");
  auto m = LoadManifest(dir.path() + "/env.yaml", Opts());
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(Text(m->secrets[0].fields[0].value),
            "-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(Text(m->secrets[1].value), "LIC-123\n");  // as is, trailing newline kept
  ASSERT_TRUE(m->secrets[0].policy.has_value());
  auto policy = bj::parse(*m->secrets[0].policy);
  EXPECT_EQ(policy.at("Statement").at(0).at("Principal").at("AWS").as_string(),
            "arn:aws:iam::000000000000:role/shop-ops");  // variables apply in policy files

  dir.Write("bad.yaml", "secrets:\n  - name: a\n    value: {fromFile: missing.txt}\n");
  auto bad = LoadManifest(dir.path() + "/bad.yaml", Opts());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("cannot read file missing.txt"), std::string::npos)
      << bad.error().message();
  EXPECT_NE(bad.error().message().find("bad.yaml"), std::string::npos) << bad.error().message();
}

TEST(ManifestParse, PasswordOptions) {
  Manifest m = MustParse(R"(
secrets:
  - name: s
    fields:
      all: {password: {length: 40, excludeCharacters: "{}'\"", excludeNumbers: false, excludePunctuation: true,
                       excludeUppercase: true, excludeLowercase: false, includeSpace: false,
                       requireEachIncludedType: true}}
      defaults: {password: {}}
      bare: {password: }
)");
  const auto& p = m.secrets[0].fields[0].value.generator->password;
  bj::object req = PasswordRequest(p);
  EXPECT_EQ(req.at("PasswordLength").as_int64(), 40);
  EXPECT_EQ(req.at("ExcludeCharacters").as_string(), "{}'\"");
  EXPECT_EQ(req.at("ExcludeNumbers").as_bool(), false);
  EXPECT_EQ(req.at("ExcludePunctuation").as_bool(), true);
  EXPECT_EQ(req.at("ExcludeUppercase").as_bool(), true);
  EXPECT_EQ(req.at("ExcludeLowercase").as_bool(), false);
  EXPECT_EQ(req.at("IncludeSpace").as_bool(), false);
  EXPECT_EQ(req.at("RequireEachIncludedType").as_bool(), true);
  EXPECT_TRUE(PasswordRequest(m.secrets[0].fields[1].value.generator->password).empty());
  EXPECT_TRUE(m.secrets[0].fields[2].value.generator.has_value());

  EXPECT_NE(ErrorOf("secrets:\n  - name: s\n    fields:\n      p: {password: {length: 0}}\n")
                .find("fields.p.password.length"),
            std::string::npos);
  EXPECT_NE(ErrorOf("secrets:\n  - name: s\n    fields:\n      p: {password: {length: abc}}\n")
                .find("not an integer"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("secrets:\n  - name: s\n    fields:\n      p: {password: {includeSpace: maybe}}\n")
          .find("must be true or false"),
      std::string::npos);
  EXPECT_NE(ErrorOf("secrets:\n  - name: s\n    fields:\n      p: {password: {lenght: 3}}\n")
                .find("unknown key \"lenght\""),
            std::string::npos);
}

TEST(ManifestParse, RandomOptions) {
  Manifest m = MustParse(R"(
secrets:
  - name: s
    fields:
      a: {random: {bytes: 16, encoding: base64}}
      b: {random: {bytes: 48, encoding: base64url}}
      c: {random: {bytes: 8, encoding: hex}}
      d: {random: {}}
)");
  const auto& f = m.secrets[0].fields;
  EXPECT_EQ(f[0].value.generator->random.bytes, 16u);
  EXPECT_EQ(f[1].value.generator->random.encoding, RandomEncoding::kBase64Url);
  EXPECT_EQ(f[2].value.generator->random.encoding, RandomEncoding::kHex);
  EXPECT_EQ(f[3].value.generator->random.bytes, 32u);
  EXPECT_EQ(f[3].value.generator->random.encoding, RandomEncoding::kBase64);
  EXPECT_NE(
      ErrorOf(
          "secrets:\n  - name: s\n    fields:\n      r: {random: {bytes: 16, encoding: base32}}\n")
          .find("must be base64, base64url or hex"),
      std::string::npos);
  EXPECT_NE(ErrorOf("secrets:\n  - name: s\n    fields:\n      r: {random: {bytes: 0}}\n")
                .find("between 1 and"),
            std::string::npos);
}

TEST(ManifestGenerate, RandomEncodings) {
  SecretBytes hex = GenerateRandom({16, RandomEncoding::kHex});
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(std::string(hex.view()).find_first_not_of("0123456789abcdef"), std::string::npos);
  SecretBytes b64 = GenerateRandom({32, RandomEncoding::kBase64});
  EXPECT_EQ(b64.size(), 44u);
  EXPECT_EQ(b64.view().back(), '=');
  SecretBytes url = GenerateRandom({32, RandomEncoding::kBase64Url});
  EXPECT_EQ(url.size(), 43u);
  EXPECT_EQ(std::string(url.view()).find_first_of("+/="), std::string::npos);
  EXPECT_FALSE(GenerateRandom({16, RandomEncoding::kHex}).view() == hex.view());
}

TEST(ManifestParse, RotationAndPolicy) {
  Manifest m = MustParse(R"Y(
variables: {app: shop}
secrets:
  - name: a
    value: x
    rotation: {lambdaArn: "arn:aws:lambda:us-east-1:000000000000:function:arca-random", schedule: "rate(30 days)",
               duration: 3h}
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {AWS: "arn:aws:iam::000000000000:role/{app}"}
          Action: [secretsmanager:GetSecretValue]
          Resource: "*"
  - name: b
    value: y
    rotation: {automaticallyAfterDays: 30}
    policy: '{"Version":"2012-10-17","Statement":[]}'
)Y");
  const auto& r = *m.secrets[0].rotation;
  EXPECT_EQ(r.lambda_arn.value_or(""),
            "arn:aws:lambda:us-east-1:000000000000:function:arca-random");
  EXPECT_EQ(r.schedule_expression.value_or(""), "rate(30 days)");
  EXPECT_EQ(r.duration.value_or(""), "3h");
  EXPECT_FALSE(r.automatically_after_days.has_value());
  auto p = bj::parse(*m.secrets[0].policy);
  EXPECT_EQ(p.at("Statement").at(0).at("Principal").at("AWS").as_string(),
            "arn:aws:iam::000000000000:role/shop");
  EXPECT_EQ(p.at("Statement").at(0).at("Action").at(0).as_string(),
            "secretsmanager:GetSecretValue");
  EXPECT_EQ(m.secrets[1].rotation->automatically_after_days.value_or(0), 30);
  EXPECT_EQ(*m.secrets[1].policy, R"({"Version":"2012-10-17","Statement":[]})");

  EXPECT_NE(ErrorOf("secrets:\n  - name: a\n    value: x\n    rotation: {automaticallyAfterDays: "
                    "3, schedule: rate(3 days)}\n")
                .find("exactly one of schedule and automaticallyAfterDays"),
            std::string::npos);
  EXPECT_NE(ErrorOf("secrets:\n  - name: a\n    value: x\n    policy: '{not json'\n")
                .find("policy: not valid JSON"),
            std::string::npos);
}

TEST(ManifestParse, DefaultsApplyUnlessOverridden) {
  Manifest m = MustParse(R"Y(
defaults:
  description: shared
  kmsKeyId: alias/one
  rotation: {automaticallyAfterDays: 7}
secrets:
  - name: a
    value: x
  - name: b
    value: y
    description: own
    kmsKeyId: alias/two
    rotation: {schedule: "rate(1 days)"}
)Y");
  EXPECT_EQ(*m.secrets[0].description, "shared");
  EXPECT_EQ(*m.secrets[0].kms_key_id, "alias/one");
  EXPECT_EQ(m.secrets[0].rotation->automatically_after_days.value_or(0), 7);
  EXPECT_EQ(*m.secrets[1].description, "own");
  EXPECT_EQ(*m.secrets[1].kms_key_id, "alias/two");
  EXPECT_FALSE(m.secrets[1].rotation->automatically_after_days.has_value());
}

TEST(ManifestParse, BadManifestsHaveClearErrors) {
  auto has = [](const std::string& yaml, const std::string& want) {
    std::string msg = ErrorOf(yaml);
    EXPECT_NE(msg.find(want), std::string::npos) << "message: " << msg << "\nwanted: " << want;
  };
  has("secrets: [a, b\n", "invalid YAML at line");
  has("- just\n- a list\n", "must be a mapping");
  has("secret:\n  - name: a\n", "unknown key \"secret\"");
  has("variables: {}\n", "secrets: is missing");
  has("secrets: []\n", "secrets: is empty");
  has("secrets:\n  - fields: {a: b}\n", "secrets[0]: name: is missing");
  has("secrets:\n  - name: a\n", "secrets[0] (a): needs fields: or value:");
  has("secrets:\n  - name: a\n    value: x\n    fields: {a: b}\n", "not both");
  has("secrets:\n  - name: a\n    value: x\n    descripton: y\n", "unknown key \"descripton\"");
  has("variables: {app: s}\nsecrets:\n  - name: a\n    fields:\n      user: {app}\n",
      "fields.user: unknown value source \"app\"");
  has("variables: {app: s}\nsecrets:\n  - name: a\n    fields:\n      user: {app}\n",
      "must be quoted");
  has("secrets:\n  - name: a\n    fields:\n      user:\n", "fields.user: has no value");
  has("secrets:\n  - name: a\n    fields:\n      user: [1, 2]\n",
      "fields.user: must be a string or one of");
  has("secrets:\n  - name: a\n    fields:\n      p: {fromEnv: X, random: {}}\n",
      "unknown key \"random\"");
  has("secrets:\n  - name: a\n    fields:\n      p: {fromFile: a, random: {}}\n", "exactly one of");
  has("secrets:\n  - name: a\n    value: x\n  - name: a\n    value: y\n", "listed twice");
  has("secrets:\n  - name: x/db\n    value: x\n  - name: y/db\n    value: y\n",
      "output key \"db\" is also used by x/db");
  has("secrets:\n  - name: a\n    fields: {}\n", "fields: must be a non-empty mapping");
  has("secrets:\n  - name: a\n    value: x\n    tags: [a]\n", "tags: must be a mapping");
  has("defaults: {output: x}\nsecrets:\n  - name: a\n    value: x\n",
      "defaults: unknown key \"output\"");
  has("variables: {1bad: x}\nsecrets:\n  - name: a\n    value: x\n", "not a variable name");
}

TEST(ManifestParse, ErrorsNeverContainValues) {
  std::string msg = ErrorOf(R"(
secrets:
  - name: a
    fields:
      token: sup3r-s3cret-literal
      other: {fromEnv: UNSET_VAR}
)",
                            Opts({{"X", "env-s3cret"}}));
  EXPECT_EQ(msg.find("sup3r"), std::string::npos) << msg;
}

TEST(ManifestFlags, VarAndOutputKey) {
  auto kv = ParseVarFlag("env=production=x");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "env");
  EXPECT_EQ(kv->second, "production=x");
  EXPECT_FALSE(ParseVarFlag("noequals").ok());
  EXPECT_FALSE(ParseVarFlag("1x=y").ok());
  EXPECT_EQ(DefaultOutputKey("shop/prod/database"), "database");
  EXPECT_EQ(DefaultOutputKey("shop/prod/smtp-credentials"), "smtpCredentials");
  EXPECT_EQ(DefaultOutputKey("shop/prod/OAuth_client.v2"), "oAuthClientV2");
  EXPECT_EQ(DefaultOutputKey("plain"), "plain");
  EXPECT_EQ(DefaultOutputKey("a/b/"), "b");
}

// ---- current state and the plan
// -------------------------------------------------------------------

CurrentState Existing(const std::string& value) {
  CurrentState s;
  s.exists = true;
  s.arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:x-AbCdEf";
  s.value = SecretBytes::CopyOf(value);
  return s;
}

constexpr const char* kPlanManifest = R"(
secrets:
  - name: app/db
    description: the db
    fields:
      host: db1
      user: app
      password: {password: {length: 20}}
    tags: {env: dev}
)";

TEST(ManifestState, FromDescribe) {
  auto d = bj::parse(R"({"ARN": "arn:x", "Name": "n", "Description": "d", "KmsKeyId": "alias/k",
    "RotationEnabled": true, "RotationLambdaARN": "arn:l",
    "RotationRules": {"AutomaticallyAfterDays": 30, "Duration": "2h"},
    "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})")
               .as_object();
  CurrentState s = StateFromDescribe(d);
  EXPECT_TRUE(s.exists);
  EXPECT_FALSE(s.scheduled_for_deletion);
  EXPECT_EQ(s.arn, "arn:x");
  EXPECT_EQ(*s.description, "d");
  EXPECT_EQ(*s.kms_key_id, "alias/k");
  EXPECT_TRUE(s.rotation_enabled);
  EXPECT_EQ(*s.rotation.lambda_arn, "arn:l");
  EXPECT_EQ(*s.rotation.automatically_after_days, 30);
  EXPECT_EQ(*s.rotation.duration, "2h");
  EXPECT_EQ(s.tags.size(), 2u);
  d["DeletedDate"] = 1700000000.5;
  EXPECT_TRUE(StateFromDescribe(d).scheduled_for_deletion);
}

TEST(ManifestPlan, CreateWhenMissing) {
  Manifest m = MustParse(kPlanManifest);
  std::vector<CurrentState> missing(1);
  Plan plan = MakePlan(m, missing, {});
  ASSERT_EQ(plan.secrets.size(), 1u);
  EXPECT_EQ(plan.secrets[0].action, Action::kCreate);
  EXPECT_EQ(PlanLine(plan.secrets[0]),
            "create app/db (fields: host, user, password [generated: password])");
  EXPECT_EQ(PlanSummary(plan), "Plan: 1 to create, 0 to update, 0 unchanged.");
  ASSERT_TRUE(GenerateValues(plan.secrets[0], [](const PasswordSpec& p) -> Result<SecretBytes> {
                EXPECT_EQ(p.length.value_or(0), 20);
                return SecretBytes::CopyOf("pw\"with-quote");
              }).ok());
  SecretBytes v = DesiredSecretString(plan.secrets[0]);
  EXPECT_EQ(v.view(), R"({"host":"db1","user":"app","password":"pw\"with-quote"})");
}

TEST(ManifestPlan, UnchangedWhenEqualInAnyOrder) {
  Manifest m = MustParse(kPlanManifest);
  CurrentState cur = Existing(R"({"password": "kept", "user": "app", "host": "db1"})");
  cur.description = "the db";
  cur.tags = {{"env", "dev"}, {"other", "left alone"}};
  SecretPlan p = PlanSecret(m.secrets[0], cur, {});
  EXPECT_EQ(p.action, Action::kUnchanged);
  EXPECT_FALSE(p.value_changed);
  EXPECT_EQ(PlanLine(p), "unchanged app/db");
  // The generated field keeps its current value.
  EXPECT_EQ(DesiredSecretString(p).view(), R"({"host":"db1","user":"app","password":"kept"})");
}

TEST(ManifestPlan, OneLiteralChangedIsOnlyAValueChange) {
  Manifest m = MustParse(kPlanManifest);
  CurrentState cur = Existing(R"({"host": "db0", "user": "app", "password": "kept"})");
  cur.description = "the db";
  cur.tags = {{"env", "dev"}};
  SecretPlan p = PlanSecret(m.secrets[0], cur, {});
  EXPECT_EQ(p.action, Action::kUpdate);
  EXPECT_TRUE(p.value_changed);
  EXPECT_FALSE(p.description_changed);
  EXPECT_TRUE(p.tags_changed.empty());
  EXPECT_EQ(p.changed, std::vector<std::string>{"host"});
  EXPECT_TRUE(p.generated.empty());
  EXPECT_EQ(PlanLine(p), "update app/db (value: changed host)");
  ASSERT_TRUE(GenerateValues(p, [](const PasswordSpec&) -> Result<SecretBytes> {
                ADD_FAILURE() << "no password should be generated";
                return SecretBytes();
              }).ok());
  EXPECT_EQ(DesiredSecretString(p).view(), R"({"host":"db1","user":"app","password":"kept"})");
}

TEST(ManifestPlan, MissingGeneratedFieldIsAddedAndRemovedFieldsListed) {
  Manifest m = MustParse(kPlanManifest);
  CurrentState cur = Existing(R"({"host": "db1", "user": "app", "legacy": "x"})");
  cur.description = "the db";
  cur.tags = {{"env", "dev"}};
  SecretPlan p = PlanSecret(m.secrets[0], cur, {});
  EXPECT_EQ(p.added, std::vector<std::string>{"password"});
  EXPECT_EQ(p.removed, std::vector<std::string>{"legacy"});
  EXPECT_EQ(PlanLine(p),
            "update app/db (value: added password; removed legacy [generated: password])");
}

TEST(ManifestPlan, RegenerateReplacesOnlyThatField) {
  Manifest m = MustParse(kPlanManifest);
  auto regen = ResolveRegenerate(m, {"app/db.password"});
  ASSERT_TRUE(regen.ok()) << regen.error().message();
  CurrentState cur = Existing(R"({"host": "db1", "user": "app", "password": "old"})");
  cur.description = "the db";
  cur.tags = {{"env", "dev"}};
  SecretPlan p = PlanSecret(m.secrets[0], cur, *regen);
  EXPECT_EQ(p.action, Action::kUpdate);
  EXPECT_EQ(p.changed, std::vector<std::string>{"password"});
  EXPECT_EQ(PlanLine(p), "update app/db (value: changed password [generated: password])");
  ASSERT_TRUE(GenerateValues(p, [](const PasswordSpec&) {
                return Result<SecretBytes>(SecretBytes::CopyOf("new"));
              }).ok());
  EXPECT_EQ(DesiredSecretString(p).view(), R"({"host":"db1","user":"app","password":"new"})");
}

TEST(ManifestPlan, ResolveRegenerate) {
  Manifest m = MustParse(R"(
secrets:
  - name: shop/db.v2
    fields: {pw: {password: {}}, user: u}
  - name: shop/key
    value: {random: {bytes: 8}}
  - name: shop/plain
    value: text
)");
  auto ok = ResolveRegenerate(m, {"shop/db.v2.pw", "shop/key"});
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->count({"shop/db.v2", "pw"}), 1u);
  EXPECT_EQ(ok->count({"shop/key", ""}), 1u);
  auto e1 = ResolveRegenerate(m, {"shop/db.v2.user"});
  ASSERT_FALSE(e1.ok());
  EXPECT_NE(e1.error().message().find("not generated"), std::string::npos);
  EXPECT_FALSE(ResolveRegenerate(m, {"shop/db.v2.nope"}).ok());
  EXPECT_FALSE(ResolveRegenerate(m, {"shop/plain"}).ok());
  EXPECT_FALSE(ResolveRegenerate(m, {"other.x"}).ok());
}

TEST(ManifestPlan, MetadataDiffs) {
  Manifest m = MustParse(R"(
secrets:
  - name: a
    description: new description
    kmsKeyId: alias/custom
    value: v
    tags: {env: prod, team: x}
    rotation: {lambdaArn: "arn:aws:lambda:us-east-1:000000000000:function:f", automaticallyAfterDays: 30}
    policy: {Version: "2012-10-17", Statement: []}
)");
  CurrentState cur = Existing("v");
  cur.description = "old";
  cur.tags = {{"env", "dev"}, {"team", "x"}, {"extra", "kept"}};
  SecretPlan p = PlanSecret(m.secrets[0], cur, {});
  EXPECT_FALSE(p.value_changed);
  EXPECT_TRUE(p.description_changed);
  EXPECT_TRUE(p.kms_key_changed);
  EXPECT_EQ(p.tags_changed, std::vector<std::string>{"env"});
  EXPECT_TRUE(p.rotation_changed);
  EXPECT_TRUE(p.policy_changed);
  EXPECT_EQ(PlanLine(p), "update a (description; kmsKeyId; tags: env; rotation; policy)");

  // The same metadata as the server reports it: unchanged (policy compared as JSON, not text).
  cur.description = "new description";
  cur.kms_key_id = "alias/custom";
  cur.tags["env"] = "prod";
  cur.rotation_enabled = true;
  cur.rotation.lambda_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
  cur.rotation.automatically_after_days = 30;
  cur.policy = R"({ "Statement": [], "Version": "2012-10-17" })";
  SecretPlan same = PlanSecret(m.secrets[0], cur, {});
  EXPECT_EQ(same.action, Action::kUnchanged) << PlanLine(same);

  cur.rotation.automatically_after_days = 7;
  EXPECT_TRUE(PlanSecret(m.secrets[0], cur, {}).rotation_changed);
  cur.rotation.automatically_after_days = 30;
  cur.rotation_enabled = false;
  EXPECT_TRUE(PlanSecret(m.secrets[0], cur, {}).rotation_changed);
}

TEST(ManifestPlan, DefaultKmsKeyMatchesAbsentKey) {
  Manifest m =
      MustParse("secrets:\n  - name: a\n    value: v\n    kmsKeyId: alias/aws/secretsmanager\n");
  EXPECT_EQ(PlanSecret(m.secrets[0], Existing("v"), {}).action, Action::kUnchanged);
}

TEST(ManifestPlan, ValueSecrets) {
  Manifest m = MustParse(R"(
secrets:
  - name: lit
    value: text
  - name: gen
    value: {random: {bytes: 8, encoding: hex}}
)");
  EXPECT_EQ(PlanSecret(m.secrets[0], Existing("text"), {}).action, Action::kUnchanged);
  SecretPlan changed = PlanSecret(m.secrets[0], Existing("other"), {});
  EXPECT_EQ(PlanLine(changed), "update lit (value)");
  EXPECT_EQ(DesiredSecretString(changed).view(), "text");

  SecretPlan kept = PlanSecret(m.secrets[1], Existing("0011223344556677"), {});
  EXPECT_EQ(kept.action, Action::kUnchanged);
  EXPECT_EQ(DesiredSecretString(kept).view(), "0011223344556677");
  SecretPlan fresh = PlanSecret(m.secrets[1], CurrentState{}, {});
  EXPECT_EQ(PlanLine(fresh), "create gen (value [generated])");
  ASSERT_TRUE(GenerateValues(fresh, nullptr).ok());
  EXPECT_EQ(DesiredSecretString(fresh).size(), 16u);
  SecretPlan regen = PlanSecret(m.secrets[1], Existing("0011223344556677"), {{"gen", ""}});
  EXPECT_EQ(PlanLine(regen), "update gen (value [generated])");
}

TEST(ManifestPlan, NonObjectCurrentValueIsReplaced) {
  Manifest m = MustParse(kPlanManifest);
  CurrentState cur = Existing("not json");
  cur.description = "the db";
  cur.tags = {{"env", "dev"}};
  SecretPlan p = PlanSecret(m.secrets[0], cur, {});
  EXPECT_TRUE(p.value_changed);
  EXPECT_EQ(p.added.size(), 3u);
  EXPECT_EQ(p.generated, std::vector<std::string>{"password"});
  // No value at all (secret created empty): every field added.
  cur.value.reset();
  EXPECT_EQ(PlanSecret(m.secrets[0], cur, {}).added.size(), 3u);
}

TEST(ManifestPlan, NonStringMembersCompareAsJson) {
  Manifest m = MustParse("secrets:\n  - name: a\n    fields: {port: 5432, token: {random: {}}}\n");
  // A current number 5432 differs from the manifest's string "5432"; a kept generated member keeps
  // its JSON type.
  SecretPlan p = PlanSecret(m.secrets[0], Existing(R"({"port": 5432, "token": 7})"), {});
  EXPECT_EQ(p.changed, std::vector<std::string>{"port"});
  EXPECT_EQ(DesiredSecretString(p).view(), R"({"port":"5432","token":7})");
}

TEST(ManifestPlan, JsonAndOutputs) {
  Manifest m = MustParse(R"(
secrets:
  - name: shop/dev/db
    fields: {a: b, c: {random: {}}}
  - name: shop/dev/smtp-credentials
    value: v
    output: mail
)");
  std::vector<CurrentState> cur(2);
  cur[1] = Existing("v");
  cur[1].arn =
      "arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/dev/smtp-credentials-AbCdEf";
  Plan plan = MakePlan(m, cur, {});
  plan.secrets[0].arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/dev/db-XyZaBc";
  bj::object j = PlanJson(plan);
  EXPECT_EQ(j.at("create").as_uint64(), 1u);
  EXPECT_EQ(j.at("unchanged").as_uint64(), 1u);
  const auto& s0 = j.at("secrets").at(0).as_object();
  EXPECT_EQ(s0.at("action").as_string(), "create");
  EXPECT_EQ(s0.at("generated").at(0).as_string(), "c");
  EXPECT_EQ(s0.at("output").as_string(), "db");
  EXPECT_EQ(j.at("secrets").at(1).at("action").as_string(), "unchanged");

  bj::value outs = bj::parse(OutputsJson(plan));
  EXPECT_EQ(outs.at("shop/dev/db").as_string(), plan.secrets[0].arn);
  EXPECT_EQ(outs.at("shop/dev/smtp-credentials").as_string(), cur[1].arn);

  YAML::Node y = YAML::Load(OutputsHelmYaml(plan));
  EXPECT_EQ(y["arcaSecrets"]["db"]["name"].as<std::string>(), "shop/dev/db");
  EXPECT_EQ(y["arcaSecrets"]["db"]["arn"].as<std::string>(), plan.secrets[0].arn);
  EXPECT_EQ(y["arcaSecrets"]["mail"]["name"].as<std::string>(), "shop/dev/smtp-credentials");
}

}  // namespace
}  // namespace arca::cli::bootstrap
