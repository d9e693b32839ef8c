#include "operator/template.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace arca::op::tmpl {
namespace {

std::map<std::string, std::string> Data() {
  return {{"user", "app"},
          {"password", "s3cr3t"},
          {"host", "db.internal"},
          {"port", "5432"},
          {"dburl", "postgres://app@db/shop"},
          {"service-account-token", "tok"},
          {"config", R"({"port": 5432, "big": 12345678, "ratio": 0.5, "name": "x", "tags": ["a","b"], "nested": {"k": "v"}, "nil": null})"},
          {"empty", ""}};
}

std::string Exec(std::string_view text, const std::map<std::string, std::string>& data = Data()) {
  auto r = ExecuteWithData("key", text, data);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message();
  return r.ok() ? *r : "<error>";
}

std::string ExecError(std::string_view text, const std::map<std::string, std::string>& data = Data()) {
  auto r = ExecuteWithData("key", text, data);
  EXPECT_FALSE(r.ok()) << text << " gave " << (r.ok() ? *r : "");
  return r.ok() ? "" : r.error().message();
}

TEST(TemplateTest, TextAndFields) {
  EXPECT_EQ(Exec("plain"), "plain");
  EXPECT_EQ(Exec(""), "");
  EXPECT_EQ(Exec("{{ .user }}:{{ .password }}"), "app:s3cr3t");
  EXPECT_EQ(Exec("{{.user}}"), "app");
  EXPECT_EQ(Exec("postgresql://{{ .user }}:{{ .password }}@{{ .host }}:{{ .port }}/shop?sslmode=require"),
            "postgresql://app:s3cr3t@db.internal:5432/shop?sslmode=require");
  EXPECT_EQ(Exec("{{ index . \"service-account-token\" }}"), "tok");
  EXPECT_EQ(Exec("{{ $.user }}"), "app");
}

TEST(TemplateTest, EsoDocExamples) {
  // docs/guides/templating.md and the multiline example.
  EXPECT_EQ(Exec("{{ .dburl | replace \"postgres://\" \"postgresql://\" }}"), "postgresql://app@db/shop");
  EXPECT_EQ(Exec("datasources:\n- name: Graphite\n  password: \"{{ .password }}\"\n  user: \"{{ .user }}\"\n"),
            "datasources:\n- name: Graphite\n  password: \"s3cr3t\"\n  user: \"app\"\n");
  EXPECT_EQ(Exec("new: {{ .user }}"), "new: app");
  EXPECT_EQ(Exec("{{ .password | toString }}"), "s3cr3t");
  EXPECT_EQ(Exec(R"({{ printf "%s:%s" .user .password | b64enc }})"), "YXBwOnMzY3IzdA==");
}

TEST(TemplateTest, Pipelines) {
  EXPECT_EQ(Exec("{{ .user | upper }}"), "APP");
  EXPECT_EQ(Exec("{{ .user | upper | lower }}"), "app");
  EXPECT_EQ(Exec("{{ .user | b64enc | b64dec }}"), "app");
  EXPECT_EQ(Exec("{{ .user | quote }}"), "\"app\"");
  EXPECT_EQ(Exec("{{ .user | squote }}"), "'app'");
  EXPECT_EQ(Exec("{{ \"a\\\"b\\nc\" | quote }}"), "\"a\\\"b\\nc\"");
  EXPECT_EQ(Exec("{{ .empty | default \"fallback\" }}"), "fallback");
  EXPECT_EQ(Exec("{{ .user | default \"fallback\" }}"), "app");
  EXPECT_EQ(Exec("{{ \"  x  \" | trim }}"), "x");
  EXPECT_EQ(Exec("{{ \"xxhixx\" | trimAll \"x\" }}"), "hi");
  EXPECT_EQ(Exec("{{ .dburl | trimPrefix \"postgres://\" }}"), "app@db/shop");
  EXPECT_EQ(Exec("{{ .dburl | trimSuffix \"/shop\" }}"), "postgres://app@db");
  EXPECT_EQ(Exec("{{ \"a\\nb\" | indent 2 }}"), "  a\n  b");
  EXPECT_EQ(Exec("x:{{ \"a\\nb\" | nindent 2 }}"), "x:\n  a\n  b");
  EXPECT_EQ(Exec("{{ list \"a\" \"b\" | join \",\" }}"), "a,b");
  EXPECT_EQ(Exec("{{ splitList \",\" \"a,b,c\" | join \"-\" }}"), "a-b-c");
  EXPECT_EQ(Exec("{{ (split \":\" \"u:p\")._1 }}"), "p");
  EXPECT_EQ(Exec("{{ printf \"%s-%d-%v-%q-%05.2f|%-4s|%4s\" \"a\" 42 true \"q\" 3.14159 \"l\" \"r\" }}"),
            "a-42-true-\"q\"-03.14|l   |   r");
  EXPECT_EQ(Exec("{{ printf \"%d\" }}"), "%!d(MISSING)");
  EXPECT_EQ(Exec("{{ printf \"%d\" \"x\" }}"), "%!d(string=x)");
  EXPECT_EQ(Exec("{{ .password | sha256sum }}"), "4e738ca5563c06cfd0018299933d58db1dd8bf97f6973dc99bf6cdc64b5550bd");
  EXPECT_EQ(Exec("{{ \"abc\" | b64dec }}"), "illegal base64 data at input byte 0");
  EXPECT_EQ(Exec("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}"), "-W-xxW-");
  EXPECT_EQ(Exec("{{ regexMatch \"^[a-z]+$\" .user }}"), "true");
  EXPECT_EQ(Exec("{{ regexFind \"[0-9]+\" .port }}"), "5432");
  EXPECT_EQ(Exec("{{ \"hello world\" | title }}"), "Hello World");
  EXPECT_EQ(Exec("{{ .user | repeat 3 }}"), "appappapp");
  EXPECT_EQ(Exec("{{ substr 1 3 .user }}"), "pp");
  EXPECT_EQ(Exec("{{ trunc 2 .user }}"), "ap");
  EXPECT_EQ(Exec("{{ cat .user .host }}"), "app db.internal");
  EXPECT_EQ(Exec("{{ contains \"db\" .host }}|{{ hasPrefix \"db\" .host }}|{{ hasSuffix \"x\" .host }}"),
            "true|true|false");
  EXPECT_EQ(Exec("{{ urlquery \"a b&c\" }}"), "a+b%26c");
  EXPECT_EQ(Exec("{{ .port | atoi | add 1 }}"), "5433");
  EXPECT_EQ(Exec("{{ ternary \"yes\" \"no\" (eq .user \"app\") }}"), "yes");
  EXPECT_EQ(Exec("{{ coalesce .empty .user }}"), "app");
}

TEST(TemplateTest, JsonFunctions) {
  EXPECT_EQ(Exec("{{ (fromJson .config).port }}"), "5432");
  EXPECT_EQ(Exec("{{ (fromJson .config).big }}"), "1.2345678e+07");  // float64 as Go's %v prints it
  EXPECT_EQ(Exec("{{ (fromJson .config).ratio }}"), "0.5");
  EXPECT_EQ(Exec("{{ (fromJson .config).nested.k }}"), "v");
  EXPECT_EQ(Exec("{{ (fromJson .config).tags }}"), "[a b]");
  EXPECT_EQ(Exec("{{ (fromJson .config).nil }}"), "<no value>");
  EXPECT_EQ(Exec("{{ index (fromJson .config) \"name\" }}"), "x");
  EXPECT_EQ(Exec("{{ (fromJson .config).nested | toJson }}"), "{\"k\":\"v\"}");
  EXPECT_EQ(Exec("{{ (fromJson .config).big | toJson }}"), "12345678");
  EXPECT_EQ(Exec("{{ dict \"a\" \"<b>\" \"n\" 1 | toJson }}"), "{\"a\":\"\\u003cb\\u003e\",\"n\":1}");
  EXPECT_EQ(Exec("{{ dict \"a\" \"<b>\" | toRawJson }}"), "{\"a\":\"<b>\"}");
  EXPECT_EQ(Exec("{{ dict \"a\" (list 1 2) | toPrettyJson }}"), "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
  EXPECT_EQ(Exec("{{ fromJson \"not json\" }}"), "<no value>");
  EXPECT_EQ(Exec("{{ .user | toJson }}"), "\"app\"");
}

TEST(TemplateTest, ControlStructures) {
  EXPECT_EQ(Exec("{{ if .user }}yes{{ else }}no{{ end }}"), "yes");
  EXPECT_EQ(Exec("{{ if .empty }}yes{{ else }}no{{ end }}"), "no");
  EXPECT_EQ(Exec("{{ if eq .user \"x\" }}1{{ else if eq .user \"app\" }}2{{ else }}3{{ end }}"), "2");
  EXPECT_EQ(Exec("{{ if and .user (not .empty) }}ok{{ end }}"), "ok");
  EXPECT_EQ(Exec("{{ or .empty .user }}"), "app");
  EXPECT_EQ(Exec("{{ with .user }}[{{ . }}]{{ end }}"), "[app]");
  EXPECT_EQ(Exec("{{ with .empty }}[{{ . }}]{{ else }}none{{ end }}"), "none");
  std::map<std::string, std::string> small = {{"b", "2"}, {"a", "1"}};
  EXPECT_EQ(Exec("{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}", small), "a=1;b=2;");
  EXPECT_EQ(Exec("{{ range . }}{{ . }}{{ end }}", small), "12");
  EXPECT_EQ(Exec("{{ range $i, $e := list \"x\" \"y\" }}{{ $i }}{{ $e }}{{ end }}"), "0x1y");
  EXPECT_EQ(Exec("{{ range list }}x{{ else }}empty{{ end }}"), "empty");
  EXPECT_EQ(Exec("{{ range $e := list 1 2 3 4 }}{{ if eq $e 3 }}{{ break }}{{ end }}{{ $e }}{{ end }}"), "12");
  EXPECT_EQ(Exec("{{ range $e := list 1 2 3 }}{{ if eq $e 2 }}{{ continue }}{{ end }}{{ $e }}{{ end }}"), "13");
  EXPECT_EQ(Exec("{{ $x := .user }}{{ $x }}{{ $x = \"b\" }}{{ $x }}"), "appb");
  EXPECT_EQ(Exec("{{ range keys . | sortAlpha }}{{ . }},{{ end }}", small), "a,b,");
  EXPECT_EQ(Exec("{{ len .user }}|{{ len (list 1 2) }}"), "3|2");
  EXPECT_EQ(Exec("{{ if lt 1 2 }}lt{{ end }}{{ if ge \"b\" \"a\" }}ge{{ end }}"), "ltge");
}

TEST(TemplateTest, TrimMarkersAndComments) {
  EXPECT_EQ(Exec("a  {{- .user -}}  b"), "aappb");
  EXPECT_EQ(Exec("a\n  {{- /* comment */ -}}\n  b"), "ab");
  EXPECT_EQ(Exec("a{{/* c */}}b"), "ab");
  EXPECT_EQ(Exec("{{- if true }}\n  x\n{{- end }}"), "\n  x");
  EXPECT_EQ(Exec("{{ -3 }}"), "-3");
  EXPECT_EQ(Exec("{{ `raw {{ text }}` }}"), "raw {{ text }}");
  EXPECT_EQ(Exec("{{ print \"}}\" }}"), "}}");
}

TEST(TemplateTest, MissingKeysAreErrors) {
  // ESO runs templates with Option("missingkey=error").
  const std::string msg = ExecError("{{ .nope }}");
  EXPECT_NE(msg.find("map has no entry for key \"nope\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("template: key:1:"), std::string::npos) << msg;
  EXPECT_NE(ExecError("{{ (fromJson .config).missing }}").find("no entry for key \"missing\""), std::string::npos);
  // index of a missing key is the zero value (the empty string for the data map).
  EXPECT_EQ(Exec("[{{ index . \"nope\" }}]"), "[]");
  // ... and the default option prints <no value>.
  auto t = Template::Parse("t", "{{ .nope }}");
  ASSERT_TRUE(t.ok());
  auto r = t->Execute(DataValue({}), /*missing_key_error=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "<no value>");
}

TEST(TemplateTest, ParseErrorsNameTheProblem) {
  auto bad = [](std::string_view text) {
    auto t = Template::Parse("k", text);
    EXPECT_FALSE(t.ok()) << text;
    return t.ok() ? std::string() : t.error().message();
  };
  EXPECT_NE(bad("{{ .x | nosuchfunc }}").find("function \"nosuchfunc\" not defined"), std::string::npos);
  EXPECT_NE(bad("{{ if .x }}").find("unexpected EOF"), std::string::npos);
  EXPECT_NE(bad("{{ end }}").find("unexpected {{end}}"), std::string::npos);
  EXPECT_NE(bad("{{ .x ").find("unclosed action"), std::string::npos);
  EXPECT_NE(bad("{{ $y }}").find("undefined variable \"$y\""), std::string::npos);
  EXPECT_NE(bad("{{ define \"x\" }}{{ end }}").find("not supported"), std::string::npos);
  EXPECT_NE(bad("line1\n{{ .x | }}").find("k:2:"), std::string::npos);
  EXPECT_NE(bad("{{ break }}").find("outside {{range}}"), std::string::npos);
  EXPECT_NE(bad("{{ pkcs12key .x }}").find("not defined"), std::string::npos);
}

TEST(TemplateTest, RuntimeErrorsNeverShowValues) {
  const std::string msg = ExecError("{{ .password | indent \"x\" }}");
  EXPECT_NE(msg.find("wrong type for value; expected int; got string"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("s3cr3t"), std::string::npos);
  const std::string failed = ExecError("{{ fail \"boom\" }}");
  EXPECT_NE(failed.find("error calling fail: boom"), std::string::npos) << failed;
  EXPECT_NE(ExecError("{{ .user.x }}").find("can't evaluate field x in type string"), std::string::npos);
  EXPECT_NE(ExecError("{{ eq .user 1 }}").find("incompatible types for comparison"), std::string::npos);
  EXPECT_NE(ExecError("{{ upper }}").find("wrong number of args for upper: want 1 got 0"), std::string::npos);
  EXPECT_NE(ExecError("{{ .user 1 }}").find("can't give argument to non-function"), std::string::npos);
}

TEST(TemplateTest, RunawayTemplatesStop) {
  EXPECT_NE(ExecError("{{ range 10000000 }}{{ end }}").find("step budget"), std::string::npos);
  EXPECT_NE(ExecError("{{ range 100000 }}{{ printf \"%01000d\" 1 }}{{ end }}").find("exceeds 4 MiB"),
            std::string::npos);
}

TEST(TemplateTest, FormatValueLikeGo) {
  EXPECT_EQ(FormatValue(Value::Float(5432)), "5432");
  EXPECT_EQ(FormatValue(Value::Float(1e6)), "1e+06");
  EXPECT_EQ(FormatValue(Value::Float(123456)), "123456");
  EXPECT_EQ(FormatValue(Value::Float(0.0001)), "0.0001");
  EXPECT_EQ(FormatValue(Value::Float(0.00001)), "1e-05");
  EXPECT_EQ(FormatValue(Value::MakeMap({{"b", Value::Int(2)}, {"a", Value()}})), "map[a:<nil> b:2]");
}

}  // namespace
}  // namespace arca::op::tmpl
