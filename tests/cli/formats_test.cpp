#include "cli/formats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/hash.h"

namespace arca::cli {
namespace {

// Values that have broken dotenv writers before. Each must come back unchanged.
std::vector<std::string> NastyValues() {
  return {
      "",
      "plain",
      "with space",
      "  leading and trailing  ",
      "hash # inside",
      "#starts-with-hash",
      "a#b",
      "dollar $ alone",
      "price: 5$",
      "$5 and $1",
      "single ' quote",
      "double \" quote",
      "both ' and \"",
      "back\\slash",
      "C:\\dir\\",
      "it's\\",
      "two \\\\ backslashes",
      "\\'",
      "line1\nline2",
      "line1\r\nline2\r\n",
      "tab\there",
      "unicode: héllo wörld ✓ 日本語 🎉",
      "equals=sign==",
      "key=value; other=thing",
      "$HOME and $PATH",
      "$$double",
      "-----BEGIN FAKE TEST BLOCK-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END FAKE TEST BLOCK-----\n",
      "multi\nline with $NAME in it",
      "ends with newline\n",
      "\n",
      "${:odd}",
      "{\"json\": [1, 2]}",
      "bell\a back\b ff\f vt\v",
      "ctrl\x01\x1f\x7f",
      "quote at end'",
      "it's $HOME",
      "$x\n'quoted'\n",
      "5$\\",
      "\"",
      "'",
      "export",
      "-",
  };
}

TEST(EnvNameTest, UpperCasesAndReplaces) {
  EXPECT_EQ(EnvName("db-host", false), "DB_HOST");
  EXPECT_EQ(EnvName("2fa.key", false), "_2FA_KEY");
  EXPECT_EQ(EnvName("db-host", true), "db_host");
  EXPECT_EQ(EnvName("Already_OK9", false), "ALREADY_OK9");
  EXPECT_EQ(EnvName("shop/prod/db", false), "SHOP_PROD_DB");
  EXPECT_EQ(EnvName("clé", false), "CL_");  // one '_' per character, not per byte
  EXPECT_EQ(EnvName("", false), "_");
}

TEST(EntriesFromSecretTest, JsonObjectMembers) {
  Entries e = EntriesFromSecret(
      R"({"db-host":"h","port":5432,"tls":true,"opt":null,"nested":{"a":[1,"x"]}})", "shop/db",
      false);
  Entries want = {{"DB_HOST", "h"},
                  {"PORT", "5432"},
                  {"TLS", "true"},
                  {"OPT", "null"},
                  {"NESTED", R"({"a":[1,"x"]})"}};
  EXPECT_EQ(e, want);
}

TEST(EntriesFromSecretTest, RawKeysKeepJsonKeys) {
  Entries e = EntriesFromSecret(R"({"db-host":"h","Port":"1"})", "x", false, /*raw_keys=*/true);
  Entries want = {{"db-host", "h"}, {"Port", "1"}};
  EXPECT_EQ(e, want);
}

TEST(EntriesFromSecretTest, OtherValuesAreOneEntry) {
  Entries text = EntriesFromSecret("just text", "shop/prod/api-key", false);
  EXPECT_EQ(text, (Entries{{"SHOP_PROD_API_KEY", "just text"}}));
  Entries array = EntriesFromSecret("[1,2]", "list", true);
  EXPECT_EQ(array, (Entries{{"list", "[1,2]"}}));
  Entries scalar = EntriesFromSecret("\"quoted\"", "s", false, true);
  EXPECT_EQ(scalar, (Entries{{"s", "\"quoted\""}}));
}

TEST(DotenvTest, RoundTripsNastyValues) {
  Entries entries;
  int i = 0;
  for (const std::string& v : NastyValues()) entries.emplace_back("V" + std::to_string(i++), v);
  auto text = FormatDotenv(entries);
  ASSERT_TRUE(text.ok()) << text.error().message();
  for (bool expand : {false, true}) {
    auto parsed = ParseDotenv(*text, expand);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(*parsed, entries) << *text;
  }
}

TEST(DotenvTest, ChoosesTheSimplestQuoting) {
  auto q = [](const std::string& v) {
    auto out = FormatDotenv({{"K", v}});
    EXPECT_TRUE(out.ok()) << out.error().message();
    return out.ok() ? *out : std::string();
  };
  EXPECT_EQ(q("abc-1.2:3/4@x%+,=^~"), "K=abc-1.2:3/4@x%+,=^~\n");
  EXPECT_EQ(q(""), "K=\n");
  EXPECT_EQ(q("a b #c $HOME \"x\""), "K='a b #c $HOME \"x\"'\n");
  EXPECT_EQ(q("it's"), "K=\"it's\"\n");
  EXPECT_EQ(q("a\nb\t\"c\\"
              "d"),
            "K=\"a\\nb\\t\\\"c\\\\d\"\n");
  EXPECT_EQ(q("$USER\nline"), "K='$USER\nline'\n");
  EXPECT_EQ(q("C:\\dir\\"), "K=C:\\dir\\\n");
  EXPECT_EQ(q("it's $HOME"), "K='it\\'s $HOME'\n");
  EXPECT_EQ(q("$HOME\nit's"), "K='$HOME\nit\\'s'\n");
  EXPECT_EQ(q("#a#b\\"), "K=#a#b\\\n");
}

TEST(DotenvTest, RefusesWhatCannotReadBackInBoth) {
  for (const std::string& v :
       {std::string("${HOME}"), std::string("x ${A:-b} y"), std::string("$HOME \\' x"),
        std::string("$HOME \\\\ x"), std::string("$HOME\\"), std::string("$HOME\r\n"),
        std::string("\xE2\x80\x83\\ em space \\"), std::string("two\nlines\\")}) {
    auto out = FormatDotenv({{"SECRET_VAR", v}});
    ASSERT_FALSE(out.ok()) << v;
    EXPECT_EQ(out.error().code(), Code::kInvalidParameter);
    EXPECT_NE(out.error().message().find("SECRET_VAR"), std::string::npos);
    EXPECT_EQ(out.error().message().find(v), std::string::npos)
        << "the message must not hold the value";
  }
  auto nul = FormatDotenv({{"K", std::string("a\0b", 3)}});
  EXPECT_FALSE(nul.ok());
  auto bad_name = FormatDotenv({{"1BAD", "x"}});
  EXPECT_FALSE(bad_name.ok());
  auto bad_name2 = FormatDotenv({{"a-b", "x"}});
  EXPECT_FALSE(bad_name2.ok());
}

TEST(DotenvTest, ParsesPythonDotenvSyntax) {
  const std::string text =
      "\xEF\xBB\xBF# a comment\n"
      "export A=1\n"
      "B = two words   # comment\n"
      "C='single \\' \\\\ \\n'\n"
      "D=\"double \\\" \\n \\t \\$\"\n"
      "E=\"multi\nline\"\n"
      "'F'=quoted key\n"
      "G=\n"
      "H\n"
      "  I=x#not-a-comment\n"
      "J=\"a\" # trailing comment\n"
      "A=override\n";
  auto parsed = ParseDotenv(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  Entries want = {{"A", "override"},
                  {"B", "two words"},
                  {"C", "single ' \\ \\n"},
                  {"D", "double \" \n \t \\$"},
                  {"E", "multi\nline"},
                  {"F", "quoted key"},
                  {"G", ""},
                  {"I", "x#not-a-comment"},
                  {"J", "a"}};
  EXPECT_EQ(*parsed, want);
}

TEST(DotenvTest, ExpandsAgainstEarlierEntriesOnly) {
  auto parsed =
      ParseDotenv("A=x\nB=${A}-${LATER}-${NONE:-dflt}\nC='${A}'\nLATER=y\n", /*expand=*/true);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (Entries{{"A", "x"}, {"B", "x--dflt"}, {"C", "x"}, {"LATER", "y"}}));
  auto raw = ParseDotenv("B=${A}\n");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, (Entries{{"B", "${A}"}}));
}

TEST(DotenvTest, MalformedLinesNameTheLine) {
  for (const char* text :
       {"A=1\n\nB='unterminated\n", "A=1\n\n=novalue\n", "A=1\r\n\rB='x' junk\n"}) {
    auto parsed = ParseDotenv(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code(), Code::kInvalidParameter);
    EXPECT_NE(parsed.error().message().find("line 3:"), std::string::npos)
        << parsed.error().message();
  }
}

TEST(ShellTest, SingleQuotesEverything) {
  auto out = FormatShell({{"A", "it's $HOME"}, {"B", ""}, {"C", "x\ny"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "export A='it'\\''s $HOME'\nexport B=''\nexport C='x\ny'\n");
  EXPECT_FALSE(FormatShell({{"A B", "x"}}).ok());
  EXPECT_FALSE(FormatShell({{"A", std::string("\0", 1)}}).ok());
}

TEST(JsonTest, Object) {
  EXPECT_EQ(FormatJsonObject({{"A", "1"}, {"B", "q\"\n"}}), "{\"A\":\"1\",\"B\":\"q\\\"\\n\"}\n");
  EXPECT_EQ(FormatJsonObject({}), "{}\n");
}

TEST(K8sNameTest, MakesDns1123Subdomains) {
  EXPECT_EQ(K8sName("shop/prod/DB_main"), "shop-prod-db-main");
  EXPECT_EQ(K8sName("my.app"), "my.app");
  EXPECT_EQ(K8sName("--a..b//c--"), "a-b-c");
  EXPECT_EQ(K8sName("a.-b"), "a-b");
  EXPECT_EQ(K8sName("///"), "secret");
  EXPECT_EQ(K8sName(std::string(300, 'a')).size(), 253u);
}

TEST(K8sSecretTest, FormatThenParse) {
  Entries data;
  int i = 0;
  for (const std::string& v : NastyValues())
    data.emplace_back("key-" + std::to_string(i++) + ".x_Y", v);
  data.emplace_back("true", "yes");
  data.emplace_back("123", "null");
  K8sSecretMeta meta{"shop-prod-db",
                     "prod",
                     {{"app.kubernetes.io/managed-by", "arca"}},
                     {{"arca.dev/secret-arn",
                       "arn:aws:secretsmanager:us-east-1:000000000000:secret:shop/db-AbCdEf"}}};
  auto yaml = FormatK8sSecret(data, meta);
  ASSERT_TRUE(yaml.ok()) << yaml.error().message();
  EXPECT_NE(yaml->find("apiVersion: v1"), std::string::npos);
  EXPECT_NE(yaml->find("kind: Secret"), std::string::npos);
  EXPECT_NE(yaml->find("type: Opaque"), std::string::npos);
  EXPECT_NE(yaml->find("app.kubernetes.io/managed-by: arca"), std::string::npos);
  auto parsed = ParseK8sSecrets("---\n" + *yaml + "---\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].name, "shop-prod-db");
  EXPECT_EQ((*parsed)[0].namespace_, "prod");
  EXPECT_EQ((*parsed)[0].data, data);
}

TEST(K8sSecretTest, RefusesInvalidNamesKeysAndLabels) {
  K8sSecretMeta ok{"n", "", {}, {}};
  EXPECT_FALSE(FormatK8sSecret({{"bad key", "v"}}, ok).ok());
  EXPECT_FALSE(FormatK8sSecret({{"a/b", "v"}}, ok).ok());
  EXPECT_FALSE(FormatK8sSecret({}, K8sSecretMeta{"Upper", "", {}, {}}).ok());
  EXPECT_FALSE(FormatK8sSecret({}, K8sSecretMeta{"n", "bad_ns", {}, {}}).ok());
  EXPECT_FALSE(FormatK8sSecret({}, K8sSecretMeta{"n", "", {{"k", "bad value"}}, {}}).ok());
  EXPECT_FALSE(FormatK8sSecret({}, K8sSecretMeta{"n", "", {{"-k", "v"}}, {}}).ok());
  EXPECT_FALSE(FormatK8sSecret({}, K8sSecretMeta{"n", "", {}, {{"bad key!", "v"}}}).ok());
  auto empty = FormatK8sSecret({}, ok);
  ASSERT_TRUE(empty.ok());
  EXPECT_NE(empty->find("data: {}"), std::string::npos) << *empty;
}

TEST(K8sSecretTest, ParsesListsStringDataAndRefusesOthers) {
  const std::string yaml =
      std::string(
          "apiVersion: v1\nkind: List\nitems:\n"
          "- apiVersion: v1\n  kind: Secret\n  metadata: {name: a, namespace: ns}\n"
          "  data: {k: ") +
      crypto::Base64Encode("from-data") +
      "}\n  stringData: {k: from-string, s: plain}\n"
      "---\n"
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\ndata:\n  x: " +
      crypto::Base64Encode("xx") + "\n";
  auto parsed = ParseK8sSecrets(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].name, "a");
  EXPECT_EQ((*parsed)[0].namespace_, "ns");
  EXPECT_EQ((*parsed)[0].data, (Entries{{"k", "from-string"}, {"s", "plain"}}));
  EXPECT_EQ((*parsed)[1].data, (Entries{{"x", "xx"}}));

  EXPECT_FALSE(ParseK8sSecrets("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").ok());
  EXPECT_FALSE(ParseK8sSecrets("apiVersion: v1\nkind: Secret\ndata: {k: '!!notbase64'}\n").ok());
  EXPECT_FALSE(ParseK8sSecrets("a: [unclosed\n").ok());
  EXPECT_FALSE(ParseK8sSecrets("- just\n- a list\n").ok());
}

TEST(MapFileTest, DataAndDataFrom) {
  auto m = ParseMapFile(
      "data:\n"
      "  - secretKey: DATABASE_URL\n"
      "    remoteRef: {key: shop/prod/db, property: url}\n"
      "  - secretKey: WHOLE\n"
      "    remoteRef: {key: shop/prod/raw, version: AWSPREVIOUS, conversionStrategy: Default}\n"
      "dataFrom:\n"
      "  - extract: {key: shop/prod/jwt}\n");
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0].env_name, "DATABASE_URL");
  EXPECT_EQ((*m)[0].secret, "shop/prod/db");
  EXPECT_EQ((*m)[0].property, "url");
  EXPECT_EQ((*m)[0].version_stage, "AWSCURRENT");
  EXPECT_EQ((*m)[1].property, "");
  EXPECT_EQ((*m)[1].version_stage, "AWSPREVIOUS");
  EXPECT_EQ((*m)[2].env_name, "");
  EXPECT_EQ((*m)[2].secret, "shop/prod/jwt");
}

TEST(MapFileTest, AcceptsAWholeExternalSecret) {
  auto m = ParseMapFile(
      "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: x}\n"
      "spec:\n  secretStoreRef: {name: arca}\n  data:\n  - secretKey: A\n    remoteRef: {key: "
      "s}\n");
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].env_name, "A");
}

TEST(MapFileTest, Errors) {
  EXPECT_FALSE(
      ParseMapFile(
          "dataFrom:\n  - extract: {key: a}\n    rewrite: [{regexp: {source: x, target: y}}]\n")
          .ok());
  EXPECT_FALSE(ParseMapFile("data:\n  - secretKey: A\n").ok());
  EXPECT_FALSE(ParseMapFile("data:\n  - remoteRef: {key: a}\n").ok());
  EXPECT_FALSE(
      ParseMapFile("data:\n  - secretKey: A\n    remoteRef: {key: a, proprety: x}\n").ok());
  EXPECT_FALSE(ParseMapFile("data: {not: a list}\n").ok());
  EXPECT_FALSE(ParseMapFile("unknown: 1\n").ok());
  EXPECT_FALSE(ParseMapFile("data: [unclosed\n").ok());
  auto empty = ParseMapFile("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ExtractPropertyTest, KeysPathsAndTypes) {
  const std::string s =
      R"({"url":"postgres://x","port":5432,"a.b":"dotted","nested":{"k":{"v":true},"list":["p","q"]}})";
  EXPECT_EQ(*ExtractProperty(s, "url"), "postgres://x");
  EXPECT_EQ(*ExtractProperty(s, "port"), "5432");
  EXPECT_EQ(*ExtractProperty(s, "a.b"), "dotted");
  EXPECT_EQ(*ExtractProperty(s, "nested.k.v"), "true");
  EXPECT_EQ(*ExtractProperty(s, "nested.k"), R"({"v":true})");
  EXPECT_EQ(*ExtractProperty(s, "nested.list.1"), "q");
  auto missing = ExtractProperty(s, "nested.nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  auto not_json = ExtractProperty("plain text", "x");
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().code(), Code::kNotFound);
}

}  // namespace
}  // namespace arca::cli
