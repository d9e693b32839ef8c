#include "core/result.h"

#include <gtest/gtest.h>

#include <set>

#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/secret_bytes.h"

namespace arca {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Error(Code::kInvalidParameter, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ARCA_ASSIGN_OR_RETURN(int h, Half(x));
  ARCA_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidParameter);
  EXPECT_EQ(r.error().message(), "odd");
}

TEST(ResultTest, StatusMacro) {
  auto f = [](bool fail) -> Status {
    ARCA_RETURN_IF_ERROR(fail ? Status(Error(Code::kInternal, "x")) : OkStatus());
    return OkStatus();
  };
  EXPECT_TRUE(f(false).ok());
  EXPECT_EQ(f(true).error().code(), Code::kInternal);
}

TEST(SecretBytesTest, MoveWipesSource) {
  SecretBytes a = SecretBytes::CopyOf("hunter2");
  SecretBytes b = std::move(a);
  EXPECT_EQ(b.view(), "hunter2");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  std::string s = "from-string";
  SecretBytes c = SecretBytes::FromString(std::move(s));
  EXPECT_EQ(c.view(), "from-string");
  c.append("!", 1);
  EXPECT_EQ(c.view(), "from-string!");
  c.resize(4);
  EXPECT_EQ(c.view(), "from");
}

TEST(ClockTest, AmzDateRoundTrip) {
  TimePoint t;
  ASSERT_TRUE(ParseAmzDate("20150830T123600Z", &t));
  EXPECT_EQ(FormatAmzDate(t), "20150830T123600Z");
  EXPECT_EQ(FormatDateStamp(t), "20150830");
  EXPECT_EQ(FormatIso8601(t), "2015-08-30T12:36:00Z");
  EXPECT_FALSE(ParseAmzDate("20150830T123600", &t));
  EXPECT_FALSE(ParseAmzDate("2015083XT123600Z", &t));
  EXPECT_FALSE(ParseAmzDate("20151330T123600Z", &t));
  EXPECT_FALSE(ParseAmzDate("20150230T123600Z", &t));  // no 30 February
  ASSERT_TRUE(ParseAmzDate("20240229T000000Z", &t));    // leap day
  EXPECT_EQ(FormatIso8601(t), "2024-02-29T00:00:00Z");
}

TEST(ClockTest, Iso8601Parsing) {
  TimePoint t;
  ASSERT_TRUE(ParseIso8601("2015-08-30T12:36:00Z", &t));
  EXPECT_EQ(FormatIso8601(t), "2015-08-30T12:36:00Z");
  ASSERT_TRUE(ParseIso8601("2015-08-30T12:36:00.123+00:00", &t));
  EXPECT_EQ(FormatIso8601(t, true), "2015-08-30T12:36:00.123Z");
  ASSERT_TRUE(ParseIso8601("2026-11-25", &t));  // a bare date: midnight UTC
  EXPECT_EQ(FormatIso8601(t), "2026-11-25T00:00:00Z");
  EXPECT_FALSE(ParseIso8601("2015-08-30T12:36:00+02:00", &t));  // only UTC
  EXPECT_FALSE(ParseIso8601("2015-02-30T12:36:00Z", &t));
  EXPECT_FALSE(ParseIso8601("2015-08-30T25:36:00Z", &t));
  EXPECT_FALSE(ParseIso8601("yesterday", &t));
}

TEST(ClockTest, Iso8601WithOffsetParsing) {
  TimePoint t;
  ASSERT_TRUE(ParseIso8601WithOffset("2030-12-02T21:34:33.000Z", &t));
  EXPECT_EQ(FormatIso8601(t), "2030-12-02T21:34:33Z");
  ASSERT_TRUE(ParseIso8601WithOffset("2030-12-03T08:04:33.5+10:30", &t));
  EXPECT_EQ(FormatIso8601(t, true), "2030-12-02T21:34:33.500Z");
  ASSERT_TRUE(ParseIso8601WithOffset("2030-12-02T20:34:03-01:00:30", &t));  // offset with seconds
  EXPECT_EQ(FormatIso8601(t), "2030-12-02T21:34:33Z");
  ASSERT_TRUE(ParseIso8601WithOffset("2030-12-02T21:34:33.123456789Z", &t));
  EXPECT_EQ(FormatIso8601(t, true), "2030-12-02T21:34:33.123Z");
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02T21:34:33.1234567891Z", &t));  // over 9 digits
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02T21:34:33", &t));             // no zone
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02 21:34:33Z", &t));
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02", &t));
  EXPECT_FALSE(ParseIso8601WithOffset("2030-02-30T21:34:33Z", &t));
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02T21:34:33+19:00", &t));
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02T21:34:33+01", &t));
  EXPECT_FALSE(ParseIso8601WithOffset("2030-12-02T21:34:33Zz", &t));
}

TEST(IdsTest, RequestUuidsAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewRequestUuid();
    EXPECT_TRUE(LooksLikeUuid(u)) << u;
    EXPECT_EQ(u[14], '4');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, UuidAndArn) {
  std::array<std::uint8_t, 16> bytes{};
  bytes.fill(0xff);
  std::string u = FormatUuidV4(bytes);
  EXPECT_TRUE(LooksLikeUuid(u));
  EXPECT_EQ(u[14], '4');
  EXPECT_FALSE(LooksLikeUuid("not-a-uuid"));

  auto arn = Arn::Parse("arn:aws:secretsmanager:us-east-1:000000000000:secret:a/b:c-AbCdEf");
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->service, "secretsmanager");
  EXPECT_EQ(arn->region, "us-east-1");
  EXPECT_EQ(arn->resource, "secret:a/b:c-AbCdEf");
  EXPECT_EQ(arn->ToString(), "arn:aws:secretsmanager:us-east-1:000000000000:secret:a/b:c-AbCdEf");
  EXPECT_FALSE(Arn::Parse("arn:aws:only-three").has_value());
  EXPECT_FALSE(Arn::Parse("nra:aws:s:r:a:res").has_value());
}

TEST(JsonTest, TypedAccess) {
  auto v = json::Parse(R"({"s":"x","b":true,"i":5,"a":[1],"o":{},"n":null})");
  ASSERT_TRUE(v.ok());
  const auto& o = v->as_object();
  EXPECT_EQ(**json::GetString(o, "s"), "x");
  EXPECT_EQ(**json::GetBool(o, "b"), true);
  EXPECT_EQ(**json::GetInt(o, "i"), 5);
  EXPECT_NE(*json::GetArray(o, "a"), nullptr);
  EXPECT_NE(*json::GetObject(o, "o"), nullptr);
  EXPECT_FALSE(json::GetString(o, "n")->has_value());
  EXPECT_FALSE(json::GetString(o, "missing")->has_value());
  EXPECT_EQ(json::GetString(o, "b").error().code(), Code::kSerialization);
  EXPECT_EQ(json::GetInt(o, "s").error().code(), Code::kSerialization);
  EXPECT_EQ(json::Parse("{bad").error().code(), Code::kSerialization);
}

}  // namespace
}  // namespace arca
