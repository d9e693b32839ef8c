#include "operator/mapping.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "operator/go_regexp.h"

namespace arca::op {
namespace {

// An in-memory provider: secrets by name, each with versions by label/id and tags.
class FakeSource : public SecretSource {
 public:
  struct Secret {
    std::map<std::string, std::string> versions;  // "" is the current one
    std::map<std::string, std::string> tags;
  };
  std::map<std::string, Secret> secrets;
  int reads = 0;

  void Put(const std::string& name, const std::string& value, std::map<std::string, std::string> tags = {}) {
    secrets[name].versions[""] = value;
    secrets[name].tags = std::move(tags);
  }

  Result<SecretBytes> GetValue(const std::string& key, const std::string& version) override {
    ++reads;
    auto it = secrets.find(key);
    if (it == secrets.end()) return Error(Code::kNotFound, "secret " + key + " not found");
    auto v = it->second.versions.find(version);
    if (v == it->second.versions.end()) return Error(Code::kNotFound, "no version " + version);
    return SecretBytes::CopyOf(v->second);
  }
  Result<std::map<std::string, std::string>> GetTags(const std::string& key, const std::string&) override {
    auto it = secrets.find(key);
    if (it == secrets.end()) return Error(Code::kNotFound, "secret " + key + " not found");
    return it->second.tags;
  }
  Result<std::map<std::string, SecretBytes>> Find(const FindQuery& q) override {
    std::map<std::string, SecretBytes> out;
    for (const auto& [name, s] : secrets) {
      if (q.path && !name.starts_with(*q.path)) continue;
      if (q.name_regexp && !GoRegexp::Compile(*q.name_regexp)->MatchString(name)) continue;
      bool tags_ok = true;
      for (const auto& [k, v] : q.tags) {
        auto t = s.tags.find(k);
        if (t == s.tags.end() || t->second != v) tags_ok = false;
      }
      if (!tags_ok) continue;
      out[name] = SecretBytes::CopyOf(s.versions.at(""));
    }
    return out;
  }
  std::string Describe() const override { return "fake"; }
};

class MappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src.Put("shop/prod/database",
            R"({"engine":"postgres","host":"db.internal","port":5432,"dbname":"shop","username":"shop_app",)"
            R"("password":"p@ss w0rd","sslmode":"require","nested":{"a":{"b":"deep"}},"list":["x","y"]})",
            {{"env", "prod"}, {"category", "database"}});
    src.Put("shop/prod/redis", R"({"host":"redis.internal","port":6379,"password":"r3d1s"})",
            {{"env", "prod"}, {"category", "cache"}});
    src.Put("shop/prod/jwt", R"({"JWT_SECRET":"c2VjcmV0","JWT_ISSUER":"https://shop","JWT_TTL_SECONDS":3600})",
            {{"env", "prod"}});
    src.Put("shop/dev/jwt", R"({"JWT_SECRET":"dev"})", {{"env", "dev"}});
    src.Put("plain", "just text");
    src.Put("b64", "aGVsbG8=");
    src.Put("b64url", "-_8=");
  }

  Result<DesiredSecret> Map(const std::string& spec_yaml) {
    const std::string doc = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\n"
                            "metadata: {name: app, labels: {team: a}}\nspec:\n  secretStoreRef: {name: s}\n" +
                            spec_yaml;
    auto es = ParseExternalSecret(doc);
    EXPECT_TRUE(es.ok()) << (es.ok() ? "" : es.error().message());
    if (!es.ok()) return es.error();
    return ComputeSecret(*es, [this](const std::optional<StoreRef>&) -> Result<SecretSource*> { return &src; });
  }

  static std::map<std::string, std::string> Data(const DesiredSecret& d) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : d.data) out[k] = std::string(v.view());
    return out;
  }

  FakeSource src;
};

TEST_F(MappingTest, DataWithPropertiesAndNestedPaths) {
  auto r = Map(R"(  data:
    - {secretKey: password, remoteRef: {key: shop/prod/database, property: password}}
    - {secretKey: port, remoteRef: {key: shop/prod/database, property: port}}
    - {secretKey: deep, remoteRef: {key: shop/prod/database, property: nested.a.b}}
    - {secretKey: second, remoteRef: {key: shop/prod/database, property: list.1}}
    - {secretKey: nested, remoteRef: {key: shop/prod/database, property: nested}}
    - {secretKey: whole, remoteRef: {key: plain}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_EQ(d.at("password"), "p@ss w0rd");
  EXPECT_EQ(d.at("port"), "5432");
  EXPECT_EQ(d.at("deep"), "deep");
  EXPECT_EQ(d.at("second"), "y");
  EXPECT_EQ(d.at("nested"), R"({"a":{"b":"deep"}})");
  EXPECT_EQ(d.at("whole"), "just text");
  EXPECT_EQ(r->labels.at("team"), "a");  // no template: the ExternalSecret's labels
  EXPECT_EQ(src.reads, 2);               // one read per secret (ESO's per-sync cache)
}

TEST_F(MappingTest, MissingPropertyAndSecret) {
  auto r = Map("  data: [{secretKey: x, remoteRef: {key: shop/prod/database, property: nope}}]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_EQ(r.error().message(),
            "spec.data[0] (key shop/prod/database): key nope does not exist in secret shop/prod/database");
  auto gone = Map("  data: [{secretKey: x, remoteRef: {key: nothing}}]\n");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  // deletionPolicy Delete skips a secret that is gone (ESO's NoSecretErr), not a missing property.
  auto skipped = Map("  target: {deletionPolicy: Delete}\n"
                     "  data:\n    - {secretKey: x, remoteRef: {key: nothing}}\n"
                     "    - {secretKey: y, remoteRef: {key: plain}}\n");
  ASSERT_TRUE(skipped.ok()) << skipped.error().message();
  EXPECT_EQ(Data(*skipped).size(), 1u);
  EXPECT_FALSE(skipped->all_sources_gone);
  ASSERT_EQ(skipped->skipped.size(), 1u);
  auto all_gone = Map("  target: {deletionPolicy: Delete}\n  data: [{secretKey: x, remoteRef: {key: nothing}}]\n");
  ASSERT_TRUE(all_gone.ok());
  EXPECT_TRUE(all_gone->all_sources_gone);
}

TEST_F(MappingTest, Versions) {
  src.secrets["plain"].versions["AWSPREVIOUS"] = "old text";
  auto r = Map("  data: [{secretKey: x, remoteRef: {key: plain, version: AWSPREVIOUS}}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(Data(*r).at("x"), "old text");
}

TEST_F(MappingTest, DecodingStrategies) {
  auto r = Map(R"(  data:
    - {secretKey: b64, remoteRef: {key: b64, decodingStrategy: Base64}}
    - {secretKey: url, remoteRef: {key: b64url, decodingStrategy: Base64URL}}
    - {secretKey: auto1, remoteRef: {key: b64, decodingStrategy: Auto}}
    - {secretKey: auto2, remoteRef: {key: b64url, decodingStrategy: Auto}}
    - {secretKey: auto3, remoteRef: {key: plain, decodingStrategy: Auto}}
    - {secretKey: none, remoteRef: {key: b64, decodingStrategy: None}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_EQ(d.at("b64"), "hello");
  EXPECT_EQ(d.at("url"), "\xfb\xff");
  EXPECT_EQ(d.at("auto1"), "hello");
  EXPECT_EQ(d.at("auto2"), "\xfb\xff");
  EXPECT_EQ(d.at("auto3"), "just text");
  EXPECT_EQ(d.at("none"), "aGVsbG8=");
  auto bad = Map("  data: [{secretKey: x, remoteRef: {key: plain, decodingStrategy: Base64}}]\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "error decoding spec.data[0]: illegal base64 data at input byte 4");
}

TEST_F(MappingTest, MetadataPolicyFetchReadsTags) {
  auto r = Map(R"(  data:
    - {secretKey: env, remoteRef: {key: shop/prod/database, metadataPolicy: Fetch, property: env}}
    - {secretKey: tags, remoteRef: {key: shop/prod/redis, metadataPolicy: Fetch}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(Data(*r).at("env"), "prod");
  EXPECT_EQ(Data(*r).at("tags"), R"({"category":"cache","env":"prod"})");
}

TEST_F(MappingTest, ExtractJsonObjects) {
  auto r = Map("  dataFrom: [{extract: {key: shop/prod/database}}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_EQ(d.at("host"), "db.internal");
  EXPECT_EQ(d.at("port"), "5432");
  EXPECT_EQ(d.at("nested"), R"({"a":{"b":"deep"}})");
  EXPECT_EQ(d.at("list"), R"(["x","y"])");
  auto prop = Map("  dataFrom: [{extract: {key: shop/prod/database, property: nested.a}}]\n");
  ASSERT_TRUE(prop.ok()) << prop.error().message();
  EXPECT_EQ(Data(*prop).at("b"), "deep");
  auto not_json = Map("  dataFrom: [{extract: {key: plain}}]\n");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().code(), Code::kInvalidParameter);
  EXPECT_NE(not_json.error().message().find("spec.dataFrom[0] (extract plain): unable to unmarshal secret plain"),
            std::string::npos)
      << not_json.error().message();
  auto decoded = Map("  dataFrom: [{extract: {key: shop/prod/jwt, decodingStrategy: Auto}}]\n");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(Data(*decoded).at("JWT_SECRET"), "secret");
}

TEST_F(MappingTest, FindByNameTagsAndPathWithConvertedKeys) {
  auto r = Map("  dataFrom: [{find: {name: {regexp: \"^shop/prod/\"}}}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_TRUE(d.contains("shop_prod_database"));
  EXPECT_TRUE(d.contains("shop_prod_redis"));
  EXPECT_TRUE(d.contains("shop_prod_jwt"));
  auto tags = Map("  dataFrom: [{find: {tags: {category: cache}}}]\n");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(Data(*tags).size(), 1u);
  EXPECT_TRUE(Data(*tags).contains("shop_prod_redis"));
  auto unicode = Map("  dataFrom: [{find: {path: shop/dev/, tags: {env: dev}, conversionStrategy: Unicode}}]\n");
  ASSERT_TRUE(unicode.ok());
  EXPECT_TRUE(Data(*unicode).contains("shop_U002f_dev_U002f_jwt"));
}

TEST_F(MappingTest, RewriteRegexpAndTransformInOrder) {
  auto r = Map(R"y(  dataFrom:
    - find: {path: shop/prod/, name: {regexp: ".*"}}
      rewrite:
        - regexp: {source: "shop/prod/(.*)", target: "$1"}
        - regexp: {source: "^", target: "prod-"}
    - extract: {key: shop/prod/jwt}
      rewrite:
        - transform: {template: "{{ .value | lower | replace \"_\" \"-\" }}"}
)y");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_TRUE(d.contains("prod-database"));
  EXPECT_TRUE(d.contains("prod-redis"));
  EXPECT_EQ(d.at("jwt-issuer"), "https://shop");
  EXPECT_EQ(d.at("jwt-ttl-seconds"), "3600");
  // A rewrite that leaves an invalid key is an error (no conversion after a rewrite).
  auto bad = Map(R"(  dataFrom:
    - find: {path: shop/prod/, name: {regexp: ".*"}}
      rewrite: [{regexp: {source: "^shop", target: "x"}}]
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("invalid key in spec.dataFrom[0] (find): key has invalid character /"),
            std::string::npos)
      << bad.error().message();
}

TEST_F(MappingTest, ConversionCollisionsAreErrors) {
  src.Put("a/b", "1");
  src.Put("a_b", "2");
  auto r = Map("  dataFrom: [{find: {name: {regexp: \"^a.b$\"}}}]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "spec.dataFrom[0]: secret name collision during conversion: a_b");
}

TEST_F(MappingTest, LaterEntriesWinDataOverDataFrom) {
  auto r = Map(R"(  dataFrom:
    - extract: {key: shop/prod/database}
    - extract: {key: shop/prod/redis}
  data:
    - {secretKey: host, remoteRef: {key: plain}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_EQ(d.at("password"), "r3d1s");  // redis after database
  EXPECT_EQ(d.at("host"), "just text");  // data after dataFrom
  EXPECT_EQ(d.at("engine"), "postgres");
}

TEST_F(MappingTest, TemplatesReplaceOrMerge) {
  const std::string data = R"(  data:
    - {secretKey: user, remoteRef: {key: shop/prod/database, property: username}}
    - {secretKey: password, remoteRef: {key: shop/prod/database, property: password}}
    - {secretKey: host, remoteRef: {key: shop/prod/database, property: host}}
)";
  auto r = Map(R"(  target:
    template:
      type: kubernetes.io/basic-auth
      data:
        DATABASE_URL: "postgresql://{{ .user }}:{{ .password | urlquery }}@{{ .host }}:5432/shop"
        username: "{{ .user }}"
      metadata:
        labels: {db-host: "{{ .host }}"}
        annotations: {static: "yes"}
)" + data);
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto d = Data(*r);
  EXPECT_EQ(d.size(), 2u);  // Replace: only the template's keys
  EXPECT_EQ(d.at("DATABASE_URL"), "postgresql://shop_app:p%40ss+w0rd@db.internal:5432/shop");
  EXPECT_EQ(r->type, "kubernetes.io/basic-auth");
  EXPECT_EQ(r->labels.at("db-host"), "db.internal");
  EXPECT_FALSE(r->labels.contains("team"));  // a template's metadata replaces the ExternalSecret's
  EXPECT_EQ(r->annotations.at("static"), "yes");

  auto merged = Map("  target: {template: {mergePolicy: Merge, data: {host: 'h-{{ .host }}'}}}\n" + data);
  ASSERT_TRUE(merged.ok());
  auto md = Data(*merged);
  EXPECT_EQ(md.size(), 3u);
  EXPECT_EQ(md.at("host"), "h-db.internal");  // the template wins
  EXPECT_EQ(md.at("user"), "shop_app");

  auto no_data = Map("  target: {template: {type: Opaque}}\n" + data);
  ASSERT_TRUE(no_data.ok());
  EXPECT_EQ(Data(*no_data).size(), 3u);  // no template.data: the data as is

  auto missing = Map("  target: {template: {data: {x: '{{ .nope }}'}}}\n" + data);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kInvalidParameter);
  EXPECT_NE(missing.error().message().find("spec.target.template.data.x: template: x:1: executing \"x\" at "
                                           "<.nope>: map has no entry for key \"nope\""),
            std::string::npos)
      << missing.error().message();
  EXPECT_EQ(missing.error().message().find("p@ss"), std::string::npos);
}

TEST_F(MappingTest, TemplateKeysMustBeValidSecretKeys) {
  auto r = Map("  target: {template: {data: {'a/b': x}}}\n  data: [{secretKey: a, remoteRef: {key: plain}}]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("the Secret cannot hold key \"a/b\""), std::string::npos);
}

TEST_F(MappingTest, NullBytePolicyFail) {
  src.Put("nul", std::string("a\0b", 3));
  EXPECT_TRUE(Map("  data: [{secretKey: a, remoteRef: {key: nul}}]\n").ok());
  auto r = Map("  data: [{secretKey: a, remoteRef: {key: nul, nullBytePolicy: Fail}}]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "spec.data[0]: key a contains a null byte (nullBytePolicy: Fail)");
}

TEST(ConvertKeyTest, DefaultAndUnicode) {
  EXPECT_EQ(ConvertKey(ConversionStrategy::kDefault, "shop/prod/db"), "shop_prod_db");
  EXPECT_EQ(ConvertKey(ConversionStrategy::kDefault, "/shop/db key"), "_shop_db_key");
  EXPECT_EQ(ConvertKey(ConversionStrategy::kDefault, "ok-._1"), "ok-._1");
  EXPECT_EQ(ConvertKey(ConversionStrategy::kUnicode, "a/b c"), "a_U002f_b_U0020_c");
  EXPECT_EQ(ConvertKey(ConversionStrategy::kDefault, "caf\xC3\xA9\xE2\x82\xAC"), "caf\xC3\xA9_");
}

}  // namespace
}  // namespace arca::op
