#include "frontends/aws/query_protocol.h"

#include <gtest/gtest.h>

#include "frontends/aws/request_path.h"
#include "frontends/frontend_fixture.h"

namespace arca::frontends::aws {
namespace {

TEST(QueryParamsTest, DecodesPercentAndPlus) {
  auto p = QueryParams::Parse("Action=CreateUser&UserName=a%2Bb&Path=%2Fteam%2F&Note=x+y&Empty=");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Find("Action").value_or(""), "CreateUser");
  EXPECT_EQ(p->Find("UserName").value_or(""), "a+b");
  EXPECT_EQ(p->Find("Path").value_or(""), "/team/");
  EXPECT_EQ(p->Find("Note").value_or(""), "x y");
  EXPECT_EQ(p->Find("Empty").value_or("absent"), "");
  EXPECT_FALSE(p->Find("Missing").has_value());
}

TEST(QueryParamsTest, RefusesBadEncoding) {
  auto p = QueryParams::Parse("Action=%zz");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), Code::kSerialization);
}

TEST(QueryParamsTest, ListsAreOrderedAndStopAtTheFirstGap) {
  auto p = QueryParams::Parse(
      "ClientIDList.member.2=b&ClientIDList.member.1=a&ClientIDList.member.4=d&ClientIDList.member.01=x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->List("ClientIDList"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(p->List("Other").empty());
}

TEST(QueryParamsTest, StructLists) {
  auto p = QueryParams::Parse(
      "Tags.member.1.Key=team&Tags.member.1.Value=infra&Tags.member.2.Key=env&Tags.member.2.Value=prod");
  ASSERT_TRUE(p.ok());
  auto tags = p->StructList("Tags");
  ASSERT_EQ(tags.size(), 2U);
  EXPECT_EQ(tags[0], (std::vector<std::pair<std::string, std::string>>{{"Key", "team"}, {"Value", "infra"}}));
  EXPECT_EQ(tags[1][0].second, "env");
}

TEST(XmlTest, Escapes) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  XmlWriter w;
  w.Open("A", "urn:x").Element("B", "1 < 2").Close("A");
  EXPECT_EQ(w.str(), "<A xmlns=\"urn:x\"><B>1 &lt; 2</B></A>");
}

// A tiny service: Echo returns the caller's ARN, Anonymous runs unsigned, Fail fails.
class FakeService : public QueryService {
 public:
  std::string_view signing_name() const override { return "iam"; }
  std::string_view xml_namespace() const override { return "https://iam.amazonaws.com/doc/2010-05-08/"; }
  std::string_view api_version() const override { return "2010-05-08"; }
  bool HasOperation(std::string_view a) const override {
    return a == "Echo" || a == "Anonymous" || a == "Fail" || a == "Nothing";
  }
  bool IsUnsigned(std::string_view a) const override { return a == "Anonymous"; }
  QueryErrorShape ErrorShapeOf(const Error& e) const override {
    if (e.code() == Code::kNotFound) return {"NoSuchEntity", "Sender", 404};
    return {"ServiceFailure", "Receiver", 500};
  }
  Result<std::string> Invoke(const OperationContext& ctx, const QueryParams& params) override {
    if (ctx.operation == "Fail") return Error(Code::kNotFound, "The user with name <x> cannot be found.");
    if (ctx.operation == "Nothing") return std::string();
    XmlWriter w;
    w.Element("Arn", ctx.caller.arn).Element("Name", params.Find("Name").value_or(""));
    return w.Take();
  }
};

class QueryProtocolTest : public testing::FrontendTest {
 protected:
  void SetUp() override {
    FrontendTest::SetUp();
    verifier_ = std::make_unique<SigV4Verifier>(*access_keys_, clock_);
    protocol_ = std::make_unique<QueryProtocol>(*verifier_, hooks_);
  }

  http::Request Form(std::string body, bool sign) {
    http::Request r;
    r.method = "POST";
    r.target = "/";
    r.headers = {{"Host", "localhost:8200"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"X-Amz-Date", AmzDate()}};
    r.body = std::move(body);
    r.remote_addr = "127.0.0.1";
    if (sign) Sign(r, testing::SignOptions{.service = "iam"});
    return r;
  }

  http::Response Send(const http::Request& r) {
    auto params = QueryParams::Parse(r.body);
    EXPECT_TRUE(params.ok());
    return protocol_->Handle(r, *params, service_);
  }

  FakeService service_;
  RequestHooks hooks_;
  std::unique_ptr<SigV4Verifier> verifier_;
  std::unique_ptr<QueryProtocol> protocol_;
};

TEST_F(QueryProtocolTest, AnswersInTheQueryXmlShape) {
  http::Response r = Send(Form("Action=Echo&Version=2010-05-08&Name=a%26b", true));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<EchoResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><EchoResult>"
                        "<Arn>arn:aws:iam::000000000000:root</Arn><Name>a&amp;b</Name></EchoResult>"),
            std::string::npos)
      << r.body;
  std::string id = Header(r, "x-amzn-RequestId");
  EXPECT_TRUE(LooksLikeUuid(id));
  EXPECT_NE(r.body.find("<ResponseMetadata><RequestId>" + id + "</RequestId></ResponseMetadata>"),
            std::string::npos);
  EXPECT_EQ(Header(r, "Content-Type"), "text/xml");
}

TEST_F(QueryProtocolTest, OperationsWithoutOutputHaveNoResultElement) {
  http::Response r = Send(Form("Action=Nothing&Version=2010-05-08", true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("NothingResult"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<NothingResponse"), std::string::npos);
}

TEST_F(QueryProtocolTest, ServiceErrorsUseTheServiceShape) {
  http::Response r = Send(Form("Action=Fail&Version=2010-05-08", true));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
                        "<Type>Sender</Type><Code>NoSuchEntity</Code>"
                        "<Message>The user with name &lt;x&gt; cannot be found.</Message></Error>"),
            std::string::npos)
      << r.body;
}

TEST_F(QueryProtocolTest, UnsignedRequestsAreRefusedUnlessTheOperationIsUnsigned) {
  http::Response r = Send(Form("Action=Echo&Version=2010-05-08", false));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Code>MissingAuthenticationToken</Code>"), std::string::npos) << r.body;
  r = Send(Form("Action=Anonymous&Version=2010-05-08", false));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(QueryProtocolTest, BadSignatureAndUnknownActions) {
  http::Request req = Form("Action=Echo&Version=2010-05-08", true);
  req.body = "Action=Echo&Version=2010-05-08&Name=changed";
  http::Response r = Send(req);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << r.body;

  r = Send(Form("Action=Frobnicate&Version=2010-05-08", true));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("<Code>InvalidAction</Code>"), std::string::npos) << r.body;
  r = Send(Form("Version=2010-05-08", true));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("<Message>Missing Action</Message>"), std::string::npos) << r.body;
}

TEST_F(QueryProtocolTest, InternalErrorsKeepTheirDetailOutOfTheResponse) {
  class Broken final : public FakeService {
   public:
    Result<std::string> Invoke(const OperationContext&, const QueryParams&) override {
      return Error(Code::kInternal, "disk on fire", "sqlite: /var/lib/x");
    }
  } broken;
  http::Request req = Form("Action=Echo&Version=2010-05-08", true);
  auto params = QueryParams::Parse(req.body);
  http::Response r = protocol_->Handle(req, *params, broken);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("<Code>InternalFailure</Code>"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("disk on fire"), std::string::npos);
  EXPECT_EQ(r.body.find("sqlite"), std::string::npos);
}

}  // namespace
}  // namespace arca::frontends::aws
