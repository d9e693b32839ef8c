#include "operator/json_path.h"

#include <gtest/gtest.h>

#include "operator/go_regexp.h"
#include "operator/go_text.h"

namespace arca::op {
namespace {

// The example of ESO's AWS Secrets Manager guide.
constexpr std::string_view kFriends = R"({
  "name": {"first": "Tom", "last": "Anderson"},
  "friends": [
    {"first": "Dale", "last": "Murphy"},
    {"first": "Roger", "last": "Craig"},
    {"first": "Jane", "last": "Murphy"}
  ],
  "age": 37, "ratio": 1.50, "big": 1e3, "ok": true, "none": null,
  "dotted.key": "dk", "esc": "a\"b\u00e9\n"
})";

TEST(GjsonTest, PathsAsEsoDocumentsThem) {
  EXPECT_EQ(GjsonGet(kFriends, "name.first"), "Tom");
  EXPECT_EQ(GjsonGet(kFriends, "friends.1.first"), "Roger");
  EXPECT_EQ(GjsonGet(kFriends, "friends.#"), "3");
  EXPECT_EQ(GjsonGet(kFriends, "friends.#.first"), R"(["Dale","Roger","Jane"])");
  EXPECT_EQ(GjsonGet(kFriends, "name"), R"({"first": "Tom", "last": "Anderson"})");  // raw text kept
  EXPECT_EQ(GjsonGet(kFriends, "age"), "37");
  EXPECT_EQ(GjsonGet(kFriends, "ratio"), "1.5");
  EXPECT_EQ(GjsonGet(kFriends, "big"), "1000");
  EXPECT_EQ(GjsonGet(kFriends, "ok"), "true");
  EXPECT_EQ(GjsonGet(kFriends, "none"), "");
  EXPECT_EQ(GjsonGet(kFriends, "esc"), "a\"b\xC3\xA9\n");
  EXPECT_EQ(GjsonGet(kFriends, "dotted\\.key"), "dk");
  EXPECT_EQ(GjsonGet(kFriends, "na*.la?t"), "Anderson");
  EXPECT_FALSE(GjsonGet(kFriends, "friends.3.first"));
  EXPECT_FALSE(GjsonGet(kFriends, "missing"));
  EXPECT_FALSE(GjsonGet(kFriends, "name.first.x"));
  EXPECT_FALSE(GjsonGet(kFriends, "friends.#(last==\"Murphy\").first"));
  EXPECT_FALSE(GjsonGet("not json", "a"));
}

TEST(GjsonTest, LookupPropertyTriesTheDottedKeyFirst) {
  EXPECT_EQ(LookupProperty(kFriends, "dotted.key"), "dk");
  EXPECT_EQ(LookupProperty(kFriends, "name.last"), "Anderson");
  EXPECT_EQ(LookupProperty(R"({"a.b": "whole", "a": {"b": "path"}})", "a.b"), "whole");
  EXPECT_EQ(LookupProperty(R"({"password": "p"})", "password"), "p");
}

TEST(JsonObjectMembersTest, LikeGoJsonRawMessage) {
  auto m = JsonObjectMembers(R"( {"s": "v\u0041", "n": 5432, "f": 1.50, "b": false, "z": null,
                                  "o": {"k": [1, 2]}, "s": "later"} )");
  ASSERT_TRUE(m.ok()) << m.error().message();
  std::map<std::string, std::string> got(m->begin(), m->end());
  EXPECT_EQ(got.at("s"), "later");
  EXPECT_EQ(got.at("n"), "5432");
  EXPECT_EQ(got.at("f"), "1.50");
  EXPECT_EQ(got.at("b"), "false");
  EXPECT_EQ(got.at("z"), "");
  EXPECT_EQ(got.at("o"), R"({"k": [1, 2]})");
  EXPECT_TRUE(JsonObjectMembers("null")->empty());
  EXPECT_FALSE(JsonObjectMembers("[1]").ok());
  EXPECT_FALSE(JsonObjectMembers("plain text").ok());
  EXPECT_FALSE(JsonObjectMembers(R"({"a": 1,})").ok());
  EXPECT_FALSE(JsonObjectMembers(R"({"a": 1} x)").ok());
  const auto err = JsonObjectMembers(R"({"a": "secret-value)");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().message().find("secret-value"), std::string::npos);
}

TEST(GoRegexpTest, ReplaceAllStringLikeGo) {
  auto re = GoRegexp::Compile("a(x*)b");
  ASSERT_TRUE(re.ok());
  EXPECT_EQ(re->ReplaceAllString("-ab-axxb-", "T"), "-T-T-");
  EXPECT_EQ(re->ReplaceAllString("-ab-axxb-", "$1"), "--xx-");
  EXPECT_EQ(re->ReplaceAllString("-ab-axxb-", "$1W"), "---");  // $1W names the group "1W"
  EXPECT_EQ(re->ReplaceAllString("-ab-axxb-", "${1}W"), "-W-xxW-");
  EXPECT_EQ(re->ReplaceAllString("-ab-", "$$1"), "-$1-");
  auto named = GoRegexp::Compile("(?P<first>\\w+)/(?P<rest>.*)");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->ReplaceAllString("shop/prod/db", "${rest}-${first}"), "prod/db-shop");
  auto anchored = GoRegexp::Compile("^a");
  EXPECT_EQ(anchored->ReplaceAllString("aaa", "b"), "baa");
  auto empty = GoRegexp::Compile("x*");
  EXPECT_EQ(empty->ReplaceAllString("abc", "-"), "-a-b-c-");
  EXPECT_EQ(empty->ReplaceAllString("xax", "-"), "-a-");
  EXPECT_TRUE(GoRegexp::Compile("db$")->MatchString("shop/db"));
  EXPECT_FALSE(GoRegexp::Compile("^db")->MatchString("shop/db"));
  EXPECT_FALSE(GoRegexp::Compile("(").ok());
}

TEST(GoTextTest, Base64AsGoDecodesIt) {
  EXPECT_EQ(GoBase64Decode("aGVsbG8=", false), "hello");
  EXPECT_EQ(GoBase64Decode("aGVs\nbG8=", false), "hello");
  EXPECT_FALSE(GoBase64Decode("aGVsbG8", false));  // padding required
  EXPECT_EQ(GoBase64Decode("-_8=", true), "\xfb\xff");
  EXPECT_FALSE(GoBase64Decode("-_8=", false));
  std::size_t bad = 99;
  EXPECT_FALSE(GoBase64Decode("ab!d", false, &bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_EQ(GoBase64Encode("\xfb\xff", true), "-_8=");
  EXPECT_EQ(GoQuote("a\"\\\x01\xff é"), "\"a\\\"\\\\\\x01\\xff é\"");
  EXPECT_EQ(GoJsonFloat(1e-7), "1e-7");
  EXPECT_EQ(GoJsonFloat(1e21), "1e+21");
  EXPECT_EQ(GoJsonFloat(12345678), "12345678");
}

}  // namespace
}  // namespace arca::op
