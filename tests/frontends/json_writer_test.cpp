#include "frontends/aws/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace arca::frontends::aws {
namespace {

TEST(JsonWriterTest, NestedDocument) {
  JsonWriter w(4);  // tiny, so the buffer has to grow
  w.BeginObject().Member("a", "x").Key("b").BeginArray().Int(1).Int(-2).Bool(true).EndArray();
  w.Key("c").BeginObject().EndObject().Key("d").BeginArray().EndArray();
  w.StringList("e", {"p", "q"}).Member("f", std::int64_t{7}).Member("g", false).EndObject();
  EXPECT_EQ(w.Take(), R"({"a":"x","b":[1,-2,true],"c":{},"d":[],"e":["p","q"],"f":7,"g":false})");
}

TEST(JsonWriterTest, EscapesLikeJson) {
  std::string tricky = "quote\" back\\slash\nnew\ttab\x01 ctl \x7f del é ☃ 😀";
  tricky.push_back('\0');
  JsonWriter w;
  w.BeginObject().Member("s", std::string_view(tricky)).EndObject();
  std::string out = w.Take();
  EXPECT_NE(out.find(R"(quote\" back\\slash\nnew\ttab\u0001 ctl)"), std::string::npos) << out;
  EXPECT_NE(out.find("\\u0000"), std::string::npos) << out;
  // Parsing gives the original back.
  boost::json::value v = boost::json::parse(out);
  EXPECT_EQ(std::string(v.at("s").get_string()), tricky);
}

TEST(JsonWriterTest, TimestampsAreEpochSecondsWithMillis) {
  JsonWriter w;
  w.BeginArray()
      .Timestamp(FromUnixMillis(1523477145713))
      .Timestamp(FromUnixMillis(1700000000000))
      .Timestamp(FromUnixMillis(5))
      .EndArray();
  EXPECT_EQ(w.Take(), "[1523477145.713,1700000000.000,0.005]");
}

TEST(JsonWriterTest, LargeStringsSurviveGrowth) {
  std::string big(100000, 'x');
  JsonWriter w(8);
  w.BeginObject().Member("v", big).EndObject();
  EXPECT_EQ(w.Take(), R"({"v":")" + big + R"("})");
}

}  // namespace
}  // namespace arca::frontends::aws
