#include "frontends/aws/iam.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "frontends/aws/query_protocol.h"
#include "frontends/aws/request_path.h"
#include "frontends/frontend_fixture.h"
#include "iam/authorizer.h"
#include "iam/directory.h"

namespace arca::frontends::aws {
namespace {

constexpr char kAllowRead[] =
    R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})";
constexpr char kTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]})";

// Percent-encodes a form value (what botocore sends).
std::string Form(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// What botocore does with a policy document it receives: urllib.parse.unquote.
std::string Unquote(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The text of the first <name> element of `xml`, or "<absent>".
std::string ElementText(const std::string& xml, const std::string& name) {
  const std::string open = "<" + name + ">";
  std::size_t start = xml.find(open);
  if (start == std::string::npos) return "<absent>";
  start += open.size();
  std::size_t end = xml.find("</" + name + ">", start);
  if (end == std::string::npos) return "<absent>";
  return xml.substr(start, end - start);
}

class IamFrontendTest : public testing::FrontendTest {
 protected:
  void SetUp() override {
    FrontendTest::SetUp();
    iam::DirectoryOptions options;
    options.access_keys = access_keys_.get();
    directory_ = std::make_unique<iam::Directory>(*store_, *keyring_, clock_, options);
    frontend_ = std::make_unique<IamFrontend>(*directory_);
    verifier_ = std::make_unique<SigV4Verifier>(*access_keys_, clock_);
    protocol_ = std::make_unique<QueryProtocol>(*verifier_, hooks_);
  }

  void TearDown() override {
    protocol_.reset();
    verifier_.reset();
    authorizer_.reset();
    frontend_.reset();
    directory_.reset();
    FrontendTest::TearDown();
  }

  // Turns on policy checks (the real authorizer) for the requests that follow.
  void EnforcePolicies() {
    authorizer_ =
        std::make_unique<iam::Authorizer>(*directory_, *store_, clock_, "aws", "000000000000");
    hooks_.authorizer = authorizer_.get();
  }

  // Signs (as the root unless told otherwise) and sends
  // "Action=<action>&Version=2010-05-08&<rest>".
  http::Response Call(std::string_view action, std::string rest = {},
                      const testing::SignOptions& opt = {}) {
    http::Request r;
    r.method = "POST";
    r.target = "/";
    r.headers = {{"Host", "localhost:8200"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"X-Amz-Date", AmzDate()}};
    r.body =
        "Action=" + std::string(action) + "&Version=2010-05-08" + (rest.empty() ? "" : "&" + rest);
    r.remote_addr = "127.0.0.1";
    testing::SignOptions o = opt;
    o.service = "iam";
    Sign(r, o);
    auto params = QueryParams::Parse(r.body);
    EXPECT_TRUE(params.ok());
    return protocol_->Handle(r, *params, *frontend_);
  }

  static void ExpectOk(const http::Response& r) { EXPECT_EQ(r.status, 200) << r.body; }

  static void ExpectError(const http::Response& r, int status, std::string_view code,
                          std::string_view message) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(ElementText(r.body, "Type"), "Sender") << r.body;
    EXPECT_EQ(ElementText(r.body, "Code"), code) << r.body;
    if (!message.empty()) {
      EXPECT_EQ(ElementText(r.body, "Message"), XmlEscape(message)) << r.body;
    }
  }

  std::unique_ptr<iam::Directory> directory_;
  std::unique_ptr<IamFrontend> frontend_;
  std::unique_ptr<iam::Authorizer> authorizer_;
  RequestHooks hooks_;
  std::unique_ptr<SigV4Verifier> verifier_;
  std::unique_ptr<QueryProtocol> protocol_;
};

TEST(UrlEncodeDocumentTest, EncodesAllButUnreserved) {
  EXPECT_EQ(UrlEncodeDocument(R"({"A": "b*c/d~e_f.g-h+i"})"),
            "%7B%22A%22%3A%20%22b%2Ac%2Fd~e_f.g-h%2Bi%22%7D");
  EXPECT_EQ(UrlEncodeDocument("\n\xc3\xa9"), "%0A%C3%A9");
}

TEST_F(IamFrontendTest, CreateAndGetUserInBotocoresShape) {
  http::Response r = Call(
      "CreateUser", "UserName=bob&Path=%2Feng%2F&Tags.member.1.Key=team&Tags.member.1.Value=core");
  ExpectOk(r);
  const std::string id = ElementText(r.body, "UserId");
  EXPECT_EQ(id.size(), 21u);
  const std::string date = FormatIso8601(clock_.Now());
  EXPECT_NE(
      r.body.find(
          "<CreateUserResponse "
          "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult>"
          "<User><Path>/eng/</Path><UserName>bob</UserName><UserId>" +
          id + "</UserId><Arn>arn:aws:iam::000000000000:user/eng/bob</Arn><CreateDate>" + date +
          "</CreateDate><Tags><member><Key>team</Key><Value>core</Value></member></Tags></User>"
          "</CreateUserResult>"),
      std::string::npos)
      << r.body;
  EXPECT_EQ(date.size(), 20u);  // 2023-11-14T22:13:20Z

  r = Call("GetUser", "UserName=bob");
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "Arn"), "arn:aws:iam::000000000000:user/eng/bob");
  EXPECT_NE(r.body.find("<GetUserResult><User>"), std::string::npos) << r.body;

  // Without a name: the caller, here the root.
  r = Call("GetUser");
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "Arn"), "arn:aws:iam::000000000000:root");
  EXPECT_EQ(ElementText(r.body, "UserId"), "000000000000");
  EXPECT_EQ(ElementText(r.body, "UserName"), "<absent>");

  r = Call("ListUsers");
  ExpectOk(r);
  EXPECT_NE(
      r.body.find("<ListUsersResult><Users><member><Path>/eng/</Path><UserName>bob</UserName>"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("</Users><IsTruncated>false</IsTruncated></ListUsersResult>"),
            std::string::npos)
      << r.body;

  r = Call("DeleteUser", "UserName=bob");
  ExpectOk(r);
  EXPECT_EQ(r.body.find("DeleteUserResult"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<DeleteUserResponse"), std::string::npos) << r.body;
}

TEST_F(IamFrontendTest, ErrorsHaveIamsCodesAndStatuses) {
  ExpectError(Call("GetUser", "UserName=ghost"), 404, "NoSuchEntity",
              "The user with name ghost cannot be found.");
  ExpectOk(Call("CreateUser", "UserName=bob"));
  ExpectError(Call("CreateUser", "UserName=bob"), 409, "EntityAlreadyExists",
              "User with name bob already exists.");
  ExpectError(Call("CreateUser"), 400, "ValidationError",
              "1 validation error detected: Value null at 'userName' failed to satisfy constraint: "
              "Member must not "
              "be null");
  ExpectError(Call("CreateUser", "UserName=a%20b"), 400, "ValidationError", "");
  ExpectError(Call("ListUsers", "MaxItems=lots"), 400, "ValidationError",
              "1 validation error detected: Value 'lots' at 'maxItems' failed to satisfy "
              "constraint: Member must be "
              "an integer");
  ExpectError(Call("GetPolicy", "PolicyArn=" + Form("not-an-arn-at-all-really")), 400,
              "InvalidInput", "ARN not-an-arn-at-all-really is not valid.");
  ExpectError(Call("CreatePolicy", "PolicyName=p&PolicyDocument=" + Form("{nope")), 400,
              "MalformedPolicyDocument", "");
  ExpectError(Call("CreateUser", "UserName=eve&PermissionsBoundary=" +
                                     Form("arn:aws:iam::000000000000:policy/boundary")),
              400, "InvalidInput",
              "Arca does not support permissions boundaries (PermissionsBoundary).");

  ExpectOk(Call("CreateAccessKey", "UserName=bob"));
  ExpectError(Call("DeleteUser", "UserName=bob"), 409, "DeleteConflict",
              "Cannot delete entity, must delete access keys first.");
  ExpectOk(Call("CreateAccessKey", "UserName=bob"));
  ExpectError(Call("CreateAccessKey", "UserName=bob"), 409, "LimitExceeded",
              "Cannot exceed quota for AccessKeysPerUser: 2");

  http::Response r = Call("NoSuchThing");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidAction");
}

TEST_F(IamFrontendTest, ErrorShapes) {
  IamFrontend& f = *frontend_;
  auto shape = [&](Code c) { return f.ErrorShapeOf(Error(c, "m")); };
  EXPECT_EQ(shape(Code::kNotFound).status, 404);
  EXPECT_EQ(shape(Code::kAlreadyExists).code, "EntityAlreadyExists");
  EXPECT_EQ(shape(Code::kInvalidRequest).code, "DeleteConflict");
  EXPECT_EQ(shape(Code::kInvalidRequest).status, 409);
  EXPECT_EQ(shape(Code::kLimitExceeded).status, 409);
  EXPECT_EQ(shape(Code::kMalformedPolicy).code, "MalformedPolicyDocument");
  EXPECT_EQ(shape(Code::kValidation).code, "ValidationError");
  EXPECT_EQ(shape(Code::kInvalidParameter).code, "InvalidInput");
  EXPECT_EQ(shape(Code::kAccessDenied).status, 403);
  EXPECT_EQ(shape(Code::kAccessDenied).code, "AccessDenied");
  EXPECT_EQ(shape(Code::kInternal).code, "ServiceFailure");
  EXPECT_EQ(shape(Code::kInternal).type, "Receiver");
  EXPECT_EQ(shape(Code::kInternal).status, 500);
}

TEST_F(IamFrontendTest, AccessKeysAndTheirSecretOnlyOnce) {
  ExpectOk(Call("CreateUser", "UserName=bob"));
  http::Response r = Call("CreateAccessKey", "UserName=bob");
  ExpectOk(r);
  const std::string id = ElementText(r.body, "AccessKeyId");
  const std::string secret = ElementText(r.body, "SecretAccessKey");
  EXPECT_EQ(id.size(), 20u);
  EXPECT_EQ(secret.size(), 40u);
  EXPECT_EQ(ElementText(r.body, "UserName"), "bob");
  EXPECT_EQ(ElementText(r.body, "Status"), "Active");

  r = Call("ListAccessKeys", "UserName=bob");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<AccessKeyMetadata><member><UserName>bob</UserName><AccessKeyId>" + id +
                        "</AccessKeyId><Status>Active</Status><CreateDate>"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find(secret), std::string::npos);

  // The new key signs requests as bob (no authorizer here: translation only).
  SecretBytes bob_secret(secret.data(), secret.size());
  r = Call("GetUser", "", testing::SignOptions{.access_key_id = id, .secret = &bob_secret});
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "UserName"), "bob");

  ExpectOk(Call("UpdateAccessKey", "UserName=bob&AccessKeyId=" + id + "&Status=Inactive"));
  r = Call("GetUser", "", testing::SignOptions{.access_key_id = id, .secret = &bob_secret});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ElementText(r.body, "Code"), "InvalidClientTokenId");
  ExpectOk(Call("DeleteAccessKey", "UserName=bob&AccessKeyId=" + id));
  ExpectError(Call("DeleteAccessKey", "UserName=bob&AccessKeyId=" + id), 404, "NoSuchEntity",
              "The Access Key with id " + id + " cannot be found.");
}

TEST_F(IamFrontendTest, PolicyDocumentsComeBackUrlEncoded) {
  ExpectOk(Call("CreateRole", "RoleName=reader&AssumeRolePolicyDocument=" + Form(kTrust) +
                                  "&MaxSessionDuration=7200&Description=" + Form("reads things")));
  http::Response r = Call("GetRole", "RoleName=reader");
  ExpectOk(r);
  EXPECT_EQ(Unquote(ElementText(r.body, "AssumeRolePolicyDocument")), kTrust);
  EXPECT_EQ(ElementText(r.body, "AssumeRolePolicyDocument"), UrlEncodeDocument(kTrust));
  EXPECT_EQ(ElementText(r.body, "MaxSessionDuration"), "7200");
  EXPECT_EQ(ElementText(r.body, "Description"), "reads things");
  EXPECT_EQ(ElementText(r.body, "Arn"), "arn:aws:iam::000000000000:role/reader");

  // UpdateRole's empty output still comes wrapped, as botocore expects.
  r = Call("UpdateRole", "RoleName=reader&MaxSessionDuration=3600");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<UpdateRoleResult>"), std::string::npos) << r.body;
  ExpectError(Call("UpdateRole", "RoleName=reader&MaxSessionDuration=60"), 400, "ValidationError",
              "1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy "
              "constraint: Member "
              "must have value greater than or equal to 3600");

  r = Call("CreatePolicy", "PolicyName=read&Path=%2Fteam%2F&PolicyDocument=" + Form(kAllowRead));
  ExpectOk(r);
  const std::string arn = "arn:aws:iam::000000000000:policy/team/read";
  EXPECT_EQ(ElementText(r.body, "Arn"), arn);
  EXPECT_EQ(ElementText(r.body, "DefaultVersionId"), "v1");
  EXPECT_EQ(ElementText(r.body, "AttachmentCount"), "0");
  EXPECT_EQ(ElementText(r.body, "IsAttachable"), "true");

  r = Call("GetPolicyVersion", "PolicyArn=" + Form(arn) + "&VersionId=v1");
  ExpectOk(r);
  EXPECT_EQ(Unquote(ElementText(r.body, "Document")), kAllowRead);
  EXPECT_EQ(ElementText(r.body, "IsDefaultVersion"), "true");

  r = Call("CreatePolicyVersion",
           "PolicyArn=" + Form(arn) + "&SetAsDefault=true&PolicyDocument=" + Form(kAllowRead));
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "VersionId"), "v2");
  EXPECT_EQ(ElementText(r.body, "IsDefaultVersion"), "true");
  r = Call("ListPolicyVersions", "PolicyArn=" + Form(arn));
  ExpectOk(r);
  EXPECT_NE(
      r.body.find(
          "<Versions><member><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion>"),
      std::string::npos)
      << r.body;

  ExpectOk(Call("CreateUser", "UserName=bob"));
  ExpectOk(
      Call("PutUserPolicy", "UserName=bob&PolicyName=inline&PolicyDocument=" + Form(kAllowRead)));
  r = Call("GetUserPolicy", "UserName=bob&PolicyName=inline");
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "UserName"), "bob");
  EXPECT_EQ(ElementText(r.body, "PolicyName"), "inline");
  EXPECT_EQ(Unquote(ElementText(r.body, "PolicyDocument")), kAllowRead);
  r = Call("ListUserPolicies", "UserName=bob");
  ExpectOk(r);
  EXPECT_NE(
      r.body.find(
          "<PolicyNames><member>inline</member></PolicyNames><IsTruncated>false</IsTruncated>"),
      std::string::npos)
      << r.body;

  ExpectOk(Call("PutRolePolicy",
                "RoleName=reader&PolicyName=inline&PolicyDocument=" + Form(kAllowRead)));
  r = Call("GetRolePolicy", "RoleName=reader&PolicyName=inline");
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "RoleName"), "reader");
  EXPECT_EQ(Unquote(ElementText(r.body, "PolicyDocument")), kAllowRead);
}

TEST_F(IamFrontendTest, AttachmentsPagingAndTags) {
  ExpectOk(Call("CreateUser", "UserName=bob"));
  ExpectOk(Call("CreateRole", "RoleName=r&AssumeRolePolicyDocument=" + Form(kTrust)));
  for (std::string name : {"a", "b", "c"}) {
    ExpectOk(Call("CreatePolicy", "PolicyName=" + name + "&PolicyDocument=" + Form(kAllowRead)));
    ExpectOk(Call("AttachUserPolicy",
                  "UserName=bob&PolicyArn=" + Form("arn:aws:iam::000000000000:policy/" + name)));
    ExpectOk(Call("AttachRolePolicy",
                  "RoleName=r&PolicyArn=" + Form("arn:aws:iam::000000000000:policy/" + name)));
  }
  http::Response r = Call("ListAttachedUserPolicies", "UserName=bob&MaxItems=2");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<AttachedPolicies><member><PolicyName>a</"
                        "PolicyName><PolicyArn>arn:aws:iam::000000000000:"
                        "policy/a</PolicyArn></member>"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(ElementText(r.body, "IsTruncated"), "true");
  const std::string marker = ElementText(r.body, "Marker");
  r = Call("ListAttachedUserPolicies", "UserName=bob&MaxItems=2&Marker=" + Form(marker));
  ExpectOk(r);
  EXPECT_NE(r.body.find("<PolicyName>c</PolicyName>"), std::string::npos) << r.body;
  EXPECT_EQ(ElementText(r.body, "IsTruncated"), "false");

  r = Call("ListAttachedRolePolicies", "RoleName=r");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<PolicyName>b</PolicyName>"), std::string::npos) << r.body;
  ExpectOk(Call("DetachRolePolicy",
                "RoleName=r&PolicyArn=" + Form("arn:aws:iam::000000000000:policy/b")));
  r = Call("GetPolicy", "PolicyArn=" + Form("arn:aws:iam::000000000000:policy/b"));
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "AttachmentCount"), "1");
  r = Call("ListPolicies", "OnlyAttached=true&Scope=Local");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<Policies><member><PolicyName>a</PolicyName>"), std::string::npos)
      << r.body;

  ExpectOk(Call("TagRole",
                "RoleName=r&Tags.member.1.Key=env&Tags.member.1.Value=prod&Tags.member.2.Key=team&"
                "Tags.member.2.Value="));
  ExpectOk(Call("UntagRole", "RoleName=r&TagKeys.member.1=team"));
  r = Call("ListRoleTags", "RoleName=r");
  ExpectOk(r);
  EXPECT_NE(
      r.body.find(
          "<ListRoleTagsResult><Tags><member><Key>env</Key><Value>prod</Value></member></Tags>"
          "<IsTruncated>false</IsTruncated></ListRoleTagsResult>"),
      std::string::npos)
      << r.body;
  ExpectError(Call("TagUser", "UserName=bob"), 400, "ValidationError",
              "1 validation error detected: Value null at 'tags' failed to satisfy constraint: "
              "Member must not be "
              "null");
  ExpectOk(Call("TagUser", "UserName=bob&Tags.member.1.Key=k&Tags.member.1.Value=v"));
  r = Call("ListUserTags", "UserName=bob");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<Tags><member><Key>k</Key><Value>v</Value></member></Tags>"),
            std::string::npos)
      << r.body;

  r = Call("ListRoles");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<Roles><member><Path>/</Path><RoleName>r</RoleName>"), std::string::npos)
      << r.body;
}

TEST_F(IamFrontendTest, OpenIdConnectProviders) {
  const std::string thumb(40, 'a');
  http::Response r = Call("CreateOpenIDConnectProvider",
                          "Url=" + Form("https://kube.example/cluster") +
                              "&ClientIDList.member.1=sts.amazonaws.com&ClientIDList.member.2=arca"
                              "&ThumbprintList.member.1=" +
                              thumb);
  ExpectOk(r);
  const std::string arn = "arn:aws:iam::000000000000:oidc-provider/kube.example/cluster";
  EXPECT_EQ(ElementText(r.body, "OpenIDConnectProviderArn"), arn);

  r = Call("GetOpenIDConnectProvider", "OpenIDConnectProviderArn=" + Form(arn));
  ExpectOk(r);
  EXPECT_NE(
      r.body.find("<Url>kube.example/cluster</Url><ClientIDList><member>sts.amazonaws.com</member>"
                  "<member>arca</member></ClientIDList><ThumbprintList><member>" +
                  thumb + "</member></ThumbprintList><CreateDate>"),
      std::string::npos)
      << r.body;

  ExpectOk(Call("AddClientIDToOpenIDConnectProvider",
                "OpenIDConnectProviderArn=" + Form(arn) + "&ClientID=extra"));
  ExpectOk(Call("RemoveClientIDFromOpenIDConnectProvider",
                "OpenIDConnectProviderArn=" + Form(arn) + "&ClientID=arca"));
  ExpectOk(Call("UpdateOpenIDConnectProviderThumbprint",
                "OpenIDConnectProviderArn=" + Form(arn) +
                    "&ThumbprintList.member.1=" + std::string(40, 'b')));
  ExpectOk(Call("TagOpenIDConnectProvider", "OpenIDConnectProviderArn=" + Form(arn) +
                                                "&Tags.member.1.Key=k&Tags.member.1.Value=v"));
  r = Call("GetOpenIDConnectProvider", "OpenIDConnectProviderArn=" + Form(arn));
  ExpectOk(r);
  EXPECT_NE(
      r.body.find(
          "<ClientIDList><member>sts.amazonaws.com</member><member>extra</member></ClientIDList>"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("<Tags><member><Key>k</Key><Value>v</Value></member></Tags>"),
            std::string::npos)
      << r.body;
  ExpectOk(Call("UntagOpenIDConnectProvider",
                "OpenIDConnectProviderArn=" + Form(arn) + "&TagKeys.member.1=k"));

  r = Call("ListOpenIDConnectProviders");
  ExpectOk(r);
  EXPECT_NE(r.body.find("<OpenIDConnectProviderList><member><Arn>" + arn +
                        "</Arn></member>"
                        "</OpenIDConnectProviderList>"),
            std::string::npos)
      << r.body;
  ExpectError(Call("CreateOpenIDConnectProvider", "Url=" + Form("https://kube.example/cluster")),
              409, "EntityAlreadyExists",
              "Provider with url https://kube.example/cluster already exists.");
  ExpectOk(Call("DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn=" + Form(arn)));
  ExpectError(Call("GetOpenIDConnectProvider", "OpenIDConnectProviderArn=" + Form(arn)), 404,
              "NoSuchEntity", "OpenIDConnect Provider not found for arn " + arn);
}

// With the real authorizer: a new user can do nothing until a policy allows it.
TEST_F(IamFrontendTest, ANewUserStartsWithNoRights) {
  EnforcePolicies();
  ExpectOk(Call("CreateUser", "UserName=bob"));
  http::Response r = Call("CreateAccessKey", "UserName=bob");
  ExpectOk(r);
  const std::string id = ElementText(r.body, "AccessKeyId");
  const std::string secret = ElementText(r.body, "SecretAccessKey");
  SecretBytes bob_secret(secret.data(), secret.size());
  const testing::SignOptions as_bob{.access_key_id = id, .secret = &bob_secret};

  r = Call("ListUsers", "", as_bob);
  ExpectError(r, 403, "AccessDenied", "");
  EXPECT_NE(ElementText(r.body, "Message")
                .find("User: arn:aws:iam::000000000000:user/bob is not authorized to "
                      "perform: iam:ListUsers"),
            std::string::npos)
      << r.body;

  const std::string allow_get_self =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys"],"Resource":"arn:aws:iam::000000000000:user/${aws:username}"}]})";
  ExpectOk(
      Call("PutUserPolicy", "UserName=bob&PolicyName=self&PolicyDocument=" + Form(allow_get_self)));
  r = Call("GetUser", "", as_bob);
  ExpectOk(r);
  EXPECT_EQ(ElementText(r.body, "UserName"), "bob");
  ExpectOk(Call("ListAccessKeys", "", as_bob));
  // Only itself.
  ExpectOk(Call("CreateUser", "UserName=eve"));
  ExpectError(Call("GetUser", "UserName=eve", as_bob), 403, "AccessDenied", "");
  ExpectError(Call("DeleteUser", "UserName=eve", as_bob), 403, "AccessDenied", "");
  ExpectOk(Call("GetUser", "UserName=eve"));  // still there
}

}  // namespace
}  // namespace arca::frontends::aws
