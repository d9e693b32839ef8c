#include "frontends/aws/json_decode.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace arca::frontends::aws {
namespace {

namespace bj = boost::json;

bj::object Obj(std::string_view text) { return bj::parse(text).as_object(); }

TEST(JsonDecodeTest, MissingIsWordedAsEachServiceDoes) {
  constexpr JsonDecoder kSecretsManager(MissingStyle::kProvideValue);
  constexpr JsonDecoder kModel(MissingStyle::kValueNull);
  const bj::object empty;

  auto sm = kSecretsManager.RequiredString(empty, "SecretId");
  ASSERT_FALSE(sm.ok());
  EXPECT_EQ(sm.error().code(), Code::kMissingParameter);
  EXPECT_EQ(sm.error().message(), "You must provide a value for the SecretId parameter.");
  EXPECT_EQ(sm.error().wire_type(), "");

  auto model = kModel.RequiredStringList(empty, "KeyId");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.error().code(), Code::kValidation);
  EXPECT_EQ(model.error().message(),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must "
            "not be null");
  EXPECT_EQ(model.error().wire_type(), "ValidationException");
}

TEST(JsonDecodeTest, RequiredMembersPresentAndMistyped) {
  constexpr JsonDecoder kDecode(MissingStyle::kValueNull);
  const bj::object o = Obj(R"({"Name":"n","Names":["a","b"],"Bad":[1],"Num":3})");
  EXPECT_EQ(*kDecode.RequiredString(o, "Name"), "n");
  EXPECT_EQ(*kDecode.RequiredStringList(o, "Names"), (std::vector<std::string>{"a", "b"}));
  auto bad = kDecode.RequiredStringList(o, "Bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kSerialization);
  EXPECT_EQ(bad.error().message(), "Unexpected value type for Bad: expected a list of strings.");
  EXPECT_EQ(kDecode.RequiredString(o, "Num").error().code(), Code::kSerialization);
}

TEST(JsonDecodeTest, OptionalListsAndFlags) {
  const bj::object o = Obj(R"({"L":["x"],"F":true,"N":null})");
  EXPECT_EQ(OptStringList(o, "L")->value(), std::vector<std::string>{"x"});
  EXPECT_FALSE(OptStringList(o, "Absent")->has_value());
  EXPECT_FALSE(OptStringList(o, "N")->has_value());  // null is absent
  EXPECT_TRUE(StringListOrEmpty(o, "Absent")->empty());
  EXPECT_TRUE(*FlagOrFalse(o, "F"));
  EXPECT_FALSE(*FlagOrFalse(o, "Absent"));
  EXPECT_FALSE(FlagOrFalse(o, "L").ok());
}

TEST(JsonDecodeTest, StructLists) {
  constexpr JsonDecoder kDecode(MissingStyle::kProvideValue);
  auto key_of = [&](const bj::object& s) -> Result<std::string> { return kDecode.RequiredString(s, "Key"); };
  const bj::object o = Obj(R"({"Tags":[{"Key":"a"},{"Key":"b"}],"NoKey":[{}],"Flat":["a"]})");

  auto tags = OptStructList(o, "Tags", key_of);
  ASSERT_TRUE(tags.ok() && tags->has_value());
  EXPECT_EQ(**tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(OptStructList(o, "Absent", key_of)->has_value());
  EXPECT_TRUE(StructListOrEmpty(o, "Absent", key_of)->empty());

  auto required = kDecode.RequiredStructList(o, "Absent", key_of);
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.error().message(), "You must provide a value for the Absent parameter.");
  // An element's own error, and an element that is not a structure.
  EXPECT_EQ(OptStructList(o, "NoKey", key_of).error().message(),
            "You must provide a value for the Key parameter.");
  EXPECT_EQ(OptStructList(o, "Flat", key_of).error().message(),
            "Unexpected value type for Flat: expected a list of structures.");
}

struct FakeService {
  std::string seen;
};
struct FakeContext {
  std::string region;
  std::string request_id;
  std::string principal_arn;
  access::Gate* gate = nullptr;
};

Result<std::string> Echo(FakeService& svc, const FakeContext& ctx, bj::object& in) {
  svc.seen = ctx.region + "|" + ctx.request_id + "|" + ctx.principal_arn;
  return bj::serialize(in);
}

TEST(JsonDecodeTest, RunOperationDispatchesWithTheDomainContext) {
  const OperationTable<FakeService, FakeContext> table{{"Echo", &Echo}};
  FakeService svc;
  OperationContext ctx;
  ctx.operation = "Echo";
  ctx.region = "eu-west-1";
  ctx.request_id = "rid";
  ctx.caller.arn = "arn:aws:iam::123456789012:user/u";
  bj::object in = Obj(R"({"a":1})");
  auto out = RunOperation(table, svc, ctx, in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, R"({"a":1})");
  EXPECT_EQ(svc.seen, "eu-west-1|rid|arn:aws:iam::123456789012:user/u");

  ctx.operation = "Nope";
  auto unknown = RunOperation(table, svc, ctx, in);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), Code::kUnknownOperation);
  EXPECT_EQ(unknown.error().message(), "The operation Nope is not supported.");
}

}  // namespace
}  // namespace arca::frontends::aws
