#include "operator/external_secret.h"

#include <gtest/gtest.h>

#include <string>

namespace arca::op {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Everything ESO's API reference shows, in v1.
constexpr std::string_view kFull = R"(
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: shop-db
  namespace: shop
  labels: {team: a}
  annotations: {note: x}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: arca}
  refreshInterval: 1h30m
  refreshPolicy: Periodic
  target:
    name: shop-db-secret
    creationPolicy: Orphan
    deletionPolicy: Delete
    immutable: false
    template:
      engineVersion: v2
      type: kubernetes.io/basic-auth
      mergePolicy: Merge
      data:
        url: "postgresql://{{ .user }}:{{ .password }}@{{ .host }}/shop"
      metadata:
        labels: {app: "{{ .user }}"}
        annotations: {a: b}
  data:
    - secretKey: password
      remoteRef:
        key: shop/prod/db
        property: password
        version: uuid/0123
        decodingStrategy: Base64
        conversionStrategy: Unicode
        metadataPolicy: Fetch
        nullBytePolicy: Fail
    - secretKey: user
      remoteRef: {key: shop/prod/db, property: username}
      sourceRef:
        storeRef: {name: other}
  dataFrom:
    - extract: {key: shop/prod/jwt, decodingStrategy: Auto}
      rewrite:
        - regexp: {source: "^JWT_(.*)$", target: "jwt-$1"}
        - transform: {template: "{{ .value | lower }}"}
    - find:
        path: shop/prod/
        name: {regexp: "^shop/prod/.*"}
        tags: {env: prod}
        conversionStrategy: Default
)";

TEST(ExternalSecretTest, ParsesEveryField) {
  std::vector<std::string> warnings;
  auto r = ParseExternalSecret(kFull, &warnings);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  const ExternalSecret& es = *r;
  EXPECT_EQ(es.api_version, "external-secrets.io/v1");
  EXPECT_EQ(es.name, "shop-db");
  EXPECT_EQ(es.namespace_, "shop");
  EXPECT_EQ(es.labels.at("team"), "a");
  ASSERT_TRUE(es.store);
  EXPECT_EQ(es.store->kind, "ClusterSecretStore");
  EXPECT_EQ(es.store->name, "arca");
  EXPECT_EQ(es.refresh_interval, hours(1) + minutes(30));
  EXPECT_EQ(es.target.name, "shop-db-secret");
  EXPECT_EQ(es.target.creation, CreationPolicy::kOrphan);
  EXPECT_EQ(es.target.deletion, DeletionPolicy::kDelete);
  ASSERT_TRUE(es.target.templ);
  EXPECT_EQ(es.target.templ->type, "kubernetes.io/basic-auth");
  EXPECT_EQ(es.target.templ->merge, TemplateMergePolicy::kMerge);
  EXPECT_EQ(es.target.templ->labels.at("app"), "{{ .user }}");
  ASSERT_EQ(es.data.size(), 2u);
  const RemoteRef& ref = es.data[0].remote_ref;
  EXPECT_EQ(ref.key, "shop/prod/db");
  EXPECT_EQ(ref.property, "password");
  EXPECT_EQ(ref.version, "uuid/0123");
  EXPECT_EQ(ref.decoding, DecodingStrategy::kBase64);
  EXPECT_EQ(ref.conversion, ConversionStrategy::kUnicode);
  EXPECT_EQ(ref.metadata, MetadataPolicy::kFetch);
  EXPECT_EQ(ref.null_bytes, NullBytePolicy::kFail);
  ASSERT_TRUE(es.data[1].store);
  EXPECT_EQ(es.data[1].store->name, "other");
  EXPECT_EQ(es.data[1].store->kind, "SecretStore");
  ASSERT_EQ(es.data_from.size(), 2u);
  ASSERT_TRUE(es.data_from[0].extract);
  EXPECT_EQ(es.data_from[0].extract->decoding, DecodingStrategy::kAuto);
  ASSERT_EQ(es.data_from[0].rewrite.size(), 2u);
  EXPECT_EQ(es.data_from[0].rewrite[0].target, "jwt-$1");
  EXPECT_EQ(es.data_from[0].rewrite[1].kind, Rewrite::Kind::kTransform);
  ASSERT_TRUE(es.data_from[1].find);
  EXPECT_EQ(es.data_from[1].find->path, "shop/prod/");
  EXPECT_EQ(es.data_from[1].find->name_regexp, "^shop/prod/.*");
  EXPECT_EQ(es.data_from[1].find->tags.at("env"), "prod");
}

TEST(ExternalSecretTest, DefaultsAndV1beta1) {
  auto r = ParseExternalSecret(R"(
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: app}
spec:
  secretStoreRef: {name: store}
  data: [{secretKey: k, remoteRef: {key: a}}]
)");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->refresh_interval, hours(1));
  EXPECT_EQ(r->target.name, "app");
  EXPECT_EQ(r->target.creation, CreationPolicy::kOwner);
  EXPECT_EQ(r->target.deletion, DeletionPolicy::kRetain);
  EXPECT_EQ(r->store->kind, "SecretStore");
  EXPECT_EQ(r->data[0].remote_ref.decoding, DecodingStrategy::kNone);
  auto zero = ParseExternalSecret(R"(
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app}
spec: {refreshInterval: "0", secretStoreRef: {name: s}, dataFrom: [{extract: {key: a}}]}
)");
  ASSERT_TRUE(zero.ok()) << zero.error().message();
  EXPECT_EQ(zero->refresh_interval, nanoseconds(0));
}

std::string ErrorOf(const std::string& spec) {
  const std::string doc = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: app}\n"
                          "spec:\n  secretStoreRef: {name: s}\n" + spec;
  auto r = ParseExternalSecret(doc);
  EXPECT_FALSE(r.ok()) << spec;
  return r.ok() ? "" : r.error().message();
}

TEST(ExternalSecretTest, PreciseValidationMessages) {
  EXPECT_EQ(ErrorOf("  data:\n"
                    "    - {secretKey: a, remoteRef: {key: x}}\n"
                    "    - {secretKey: b, remoteRef: {key: y}}\n"
                    "    - {secretKey: c, remoteRef: {property: p}}\n"),
            "spec.data[2].remoteRef.key is required");
  EXPECT_EQ(ErrorOf("  dataFrom:\n    - rewrite: []\n"), "spec.dataFrom[0]: exactly one of extract, find must be set");
  EXPECT_EQ(ErrorOf("  dataFrom:\n    - {extract: {key: a}, find: {tags: {a: b}}}\n"),
            "spec.dataFrom[0]: exactly one of extract, find must be set");
  EXPECT_EQ(ErrorOf("  data: [{secretKey: a, remoteRef: {key: x, decodingStrategy: Hex}}]\n"),
            "spec.data[0].remoteRef.decodingStrategy: unsupported value \"Hex\": supported values: "
            "\"Auto\", \"Base64\", \"Base64URL\", \"None\"");
  EXPECT_EQ(ErrorOf("  refreshInterval: 1x\n  data: [{secretKey: a, remoteRef: {key: x}}]\n"),
            "spec.refreshInterval: time: unknown unit \"x\" in duration \"1x\" (write a Go duration such as "
            "1h, 15m, 30s or 0)");
  EXPECT_EQ(ErrorOf("  refreshInterval: \"3600\"\n  data: [{secretKey: a, remoteRef: {key: x}}]\n"),
            "spec.refreshInterval: time: missing unit in duration \"3600\" (write a Go duration such as 1h, "
            "15m, 30s or 0)");
  EXPECT_EQ(ErrorOf("  target: {name: x}\n"), "spec: either data or dataFrom should be specified");
  EXPECT_EQ(ErrorOf("  data:\n    - {secretKey: a, remoteRef: {key: x}}\n    - {secretKey: a, remoteRef: {key: y}}\n"),
            "spec.data[1].secretKey: duplicate secretKey found: a");
  EXPECT_EQ(ErrorOf("  data: [{secretKey: 'a/b', remoteRef: {key: x}}]\n"),
            "spec.data[0].secretKey: a valid Secret key must consist of alphanumeric characters, '-', '_' "
            "or '.' (\"a/b\" is not)");
  EXPECT_EQ(ErrorOf("  target: {creationPolicy: Merge, deletionPolicy: Delete}\n"
                    "  data: [{secretKey: a, remoteRef: {key: x}}]\n"),
            "spec.target: deletionPolicy=Delete must not be used when the controller doesn't own the secret. "
            "Please set creationPolicy=Owner");
  EXPECT_EQ(ErrorOf("  dataFrom: [{find: {path: a/}}]\n"),
            "spec.dataFrom[0].find: set name.regexp or tags (path alone selects nothing: ESO's \"unexpected "
            "find operator\")");
  EXPECT_NE(ErrorOf("  dataFrom: [{find: {name: {regexp: '('}}}]\n").find("spec.dataFrom[0].find.name.regexp: invalid "
                                                                         "regular expression"),
            std::string::npos);
  EXPECT_NE(ErrorOf("  target: {template: {data: {x: '{{ .a | nope }}'}}}\n"
                    "  data: [{secretKey: a, remoteRef: {key: x}}]\n")
                .find("spec.target.template.data.x: template: x:1: function \"nope\" not defined"),
            std::string::npos);
  EXPECT_NE(ErrorOf("  dataFrom: [{sourceRef: {generatorRef: {kind: Password, name: p}}}]\n").find("generators are not supported"),
            std::string::npos);
  EXPECT_NE(ErrorOf("  target: {template: {templateFrom: [{literal: x}]}}\n  data: [{secretKey: a, remoteRef: {key: x}}]\n")
                .find("templateFrom is not supported"),
            std::string::npos);
  // Several problems are all reported.
  const std::string both = ErrorOf("  data: [{secretKey: a, remoteRef: {key: x, metadataPolicy: All}}, {remoteRef: {key: y}}]\n");
  EXPECT_NE(both.find("spec.data[0].remoteRef.metadataPolicy: unsupported value \"All\""), std::string::npos) << both;
  EXPECT_NE(both.find("spec.data[1].secretKey is required"), std::string::npos) << both;
}

TEST(ExternalSecretTest, ApiVersionKindAndNames) {
  auto v1alpha1 = ParseExternalSecret("apiVersion: external-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {name: a}\n"
                                      "spec: {secretStoreRef: {name: s}, data: [{secretKey: a, remoteRef: {key: x}}]}\n");
  ASSERT_FALSE(v1alpha1.ok());
  EXPECT_NE(v1alpha1.error().message().find("v1alpha1 is not supported"), std::string::npos);
  auto bad_name = ParseExternalSecret("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: Bad_Name}\n"
                                      "spec: {secretStoreRef: {name: s}, data: [{secretKey: a, remoteRef: {key: x}}]}\n");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message().find("metadata.name: must be a lowercase RFC 1123 subdomain"), std::string::npos);
  std::vector<std::string> warnings;
  auto typo = ParseExternalSecret("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: a}\n"
                                  "spec: {secretStoreRef: {name: s}, data: [{secretKey: a, remoteRef: {key: x, propery: p}}]}\n",
                                  &warnings);
  ASSERT_TRUE(typo.ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "spec.data[0].remoteRef.propery: unknown field (ignored)");
}

TEST(ExternalSecretTest, JsonFromTheApiServerParsesToo) {
  auto r = ParseExternalSecret(
      R"({"apiVersion":"external-secrets.io/v1","kind":"ExternalSecret","metadata":{"name":"a","namespace":"n"},)"
      R"("spec":{"secretStoreRef":{"name":"s","kind":"SecretStore"},"refreshInterval":"15m",)"
      R"("data":[{"secretKey":"k","remoteRef":{"key":"x"}}]},"status":{"conditions":[]}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->refresh_interval, minutes(15));
}

TEST(SecretStoreTest, AwsAndArcaProviders) {
  auto aws = ParseSecretStore(R"(
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws, namespace: shop}
spec:
  provider:
    aws:
      service: ParameterStore
      region: eu-west-1
      role: arn:aws:iam::000000000000:role/reader
      prefix: /shop/
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: awssm-secret, key: access-key}
          secretAccessKeySecretRef: {name: awssm-secret, key: secret-access-key}
)");
  ASSERT_TRUE(aws.ok()) << aws.error().message();
  EXPECT_EQ(aws->provider, "aws");
  EXPECT_EQ(aws->service, "ParameterStore");
  EXPECT_EQ(aws->region, "eu-west-1");
  EXPECT_EQ(aws->prefix, "/shop/");
  ASSERT_TRUE(aws->auth.access_key_id);
  EXPECT_EQ(aws->auth.access_key_id->key, "access-key");
  EXPECT_EQ(aws->auth.secret_access_key->name, "awssm-secret");

  auto arca = ParseSecretStore(R"(
apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: arca}
spec:
  provider:
    arca:
      server: https://arca.arca-system.svc:8200
      caBundle: LS0tLS1CRUdJTg==
      auth:
        jwt:
          serviceAccountRef: {name: app-reader, namespace: apps, audiences: [sts.amazonaws.com]}
)");
  ASSERT_TRUE(arca.ok()) << arca.error().message();
  EXPECT_EQ(arca->kind, "ClusterSecretStore");
  EXPECT_EQ(arca->server, "https://arca.arca-system.svc:8200");
  EXPECT_EQ(arca->region, "us-east-1");
  EXPECT_EQ(arca->ca_bundle, "-----BEGIN");
  EXPECT_EQ(arca->auth.service_account, "app-reader");
  EXPECT_EQ(arca->auth.audiences, std::vector<std::string>{"sts.amazonaws.com"});

  auto missing = ParseSecretStore(
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {region: r}}}\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "spec.provider.aws.service is required");
  auto two = ParseSecretStore(
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {provider: {aws: {}, vault: {}}}\n");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message(), "spec.provider: must name exactly one provider");
  auto vault = ParseSecretStore(
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec: {provider: {vault: {server: x}}}\n");
  ASSERT_TRUE(vault.ok());
  EXPECT_EQ(vault->provider, "vault");
}

TEST(ManifestsTest, MultiDocumentFiles) {
  auto m = ParseManifests(R"(
apiVersion: v1
kind: Secret
metadata: {name: awssm-secret}
data: {access-key: QUtJQQ==}
stringData: {secret-access-key: shh}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: store}
spec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}
---
# an empty document
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: good}
spec: {secretStoreRef: {name: store}, data: [{secretKey: a, remoteRef: {key: x}}]}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: bad}
spec: {secretStoreRef: {name: store}, data: [{secretKey: a, remoteRef: {}}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
)");
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_EQ(m->external_secrets.size(), 1u);
  EXPECT_EQ(m->external_secrets[0].name, "good");
  ASSERT_EQ(m->stores.size(), 1u);
  ASSERT_EQ(m->objects.size(), 1u);
  EXPECT_EQ(m->objects[0].data.at("access-key").view(), "AKIA");
  EXPECT_EQ(m->objects[0].data.at("secret-access-key").view(), "shh");
  ASSERT_EQ(m->errors.size(), 1u);
  EXPECT_EQ(m->errors[0], "document 5 (ExternalSecret bad): spec.data[0].remoteRef.key is required");
  ASSERT_EQ(m->ignored.size(), 1u);
  EXPECT_EQ(m->ignored[0], "document 6 (Deployment web)");
  EXPECT_FALSE(ParseManifests("a: [unclosed").ok());
}

TEST(DurationTest, GoParseDuration) {
  EXPECT_EQ(*ParseGoDuration("1h"), hours(1));
  EXPECT_EQ(*ParseGoDuration("1h30m"), minutes(90));
  EXPECT_EQ(*ParseGoDuration("1.5h"), minutes(90));
  EXPECT_EQ(*ParseGoDuration("300ms"), std::chrono::milliseconds(300));
  EXPECT_EQ(*ParseGoDuration("2h45m10.5s"), hours(2) + minutes(45) + std::chrono::milliseconds(10500));
  EXPECT_EQ(*ParseGoDuration("1\xC2\xB5s"), std::chrono::microseconds(1));
  EXPECT_EQ(*ParseGoDuration("0"), nanoseconds(0));
  EXPECT_EQ(*ParseGoDuration("-5s"), seconds(-5));
  EXPECT_EQ(ParseGoDuration("").error().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("1").error().message(), "time: missing unit in duration \"1\"");
  EXPECT_EQ(ParseGoDuration("1d").error().message(), "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_FALSE(ParseGoDuration("h").ok());
  EXPECT_FALSE(ParseGoDuration(".s").ok());
  EXPECT_EQ(FormatGoDuration(hours(1)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(minutes(90)), "1h30m0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(300)), "300ms");
  EXPECT_EQ(FormatGoDuration(nanoseconds(0)), "0s");
}

}  // namespace
}  // namespace arca::op
