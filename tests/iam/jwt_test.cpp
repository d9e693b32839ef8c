#include "iam/jwt.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "crypto/hash.h"
#include "iam/jwt_signer.h"

namespace arca::iam::jwt {
namespace {

using testing::JwksOf;
using testing::TestKey;

constexpr std::int64_t kNow = 1700000000;
constexpr std::string_view kIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
constexpr std::string_view kSubject = "system:serviceaccount:payments:api";

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new TestKey(TestKey::Kind::kRsa, "rsa-1");
    ec_ = new TestKey(TestKey::Kind::kEc, "ec-1");
    other_rsa_ = new TestKey(TestKey::Kind::kRsa, "rsa-1");  // same kid, different key
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
    delete other_rsa_;
  }

  static boost::json::object Claims() {
    boost::json::object c;
    c["iss"] = kIssuer;
    c["sub"] = kSubject;
    c["aud"] = boost::json::array{"sts.amazonaws.com"};
    c["iat"] = kNow - 10;
    c["nbf"] = kNow - 10;
    c["exp"] = kNow + 3600;
    c["kubernetes.io"] = boost::json::object{{"namespace", "payments"}};
    return c;
  }

  static ClaimRules Rules() {
    ClaimRules r;
    r.issuer = std::string(kIssuer);
    r.audiences = {"sts.amazonaws.com"};
    r.now = TimePoint(std::chrono::seconds(kNow));
    r.skew = std::chrono::seconds(60);
    return r;
  }

  static Jwks Keys() {
    auto j = Jwks::Parse(JwksOf({rsa_, ec_}));
    EXPECT_TRUE(j.ok()) << j.error().ToLogString();
    return std::move(j).value();
  }

  // Asserts that verifying `token` fails with `code`; returns the message.
  static std::string Fails(const std::string& token, Code code, const ClaimRules& rules = Rules()) {
    auto r = Verify(token, Keys(), rules);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code(), code) << r.error().ToLogString();
    return r.error().message();
  }

  static TestKey* rsa_;
  static TestKey* ec_;
  static TestKey* other_rsa_;
};

TestKey* JwtTest::rsa_ = nullptr;
TestKey* JwtTest::ec_ = nullptr;
TestKey* JwtTest::other_rsa_ = nullptr;

constexpr std::string_view kNoKey =
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements";

TEST_F(JwtTest, GoodRs256) {
  auto r = Verify(rsa_->Token(Claims()), Keys(), Rules());
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->alg, "RS256");
  EXPECT_EQ(r->kid, "rsa-1");
  EXPECT_EQ(r->issuer, kIssuer);
  EXPECT_EQ(r->subject, kSubject);
  ASSERT_EQ(r->audiences.size(), 1u);
  EXPECT_EQ(r->audiences[0], "sts.amazonaws.com");
  EXPECT_EQ(r->expires_at, kNow + 3600);
  EXPECT_EQ(r->issued_at, kNow - 10);
  EXPECT_NE(r->claims_json.find("kubernetes.io"), std::string::npos);
}

TEST_F(JwtTest, GoodEs256) {
  auto r = Verify(ec_->Token(Claims()), Keys(), Rules());
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->alg, "ES256");
  EXPECT_EQ(r->subject, kSubject);
}

TEST_F(JwtTest, AudienceAsAStringOrAListWithOthers) {
  auto c = Claims();
  c["aud"] = "sts.amazonaws.com";
  EXPECT_TRUE(Verify(rsa_->Token(c), Keys(), Rules()).ok());
  c["aud"] = boost::json::array{"https://kubernetes.default.svc", "sts.amazonaws.com"};
  auto r = Verify(ec_->Token(c), Keys(), Rules());
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->audiences.size(), 2u);
}

TEST_F(JwtTest, WithoutKidEveryKeyOfTheAlgorithmIsTried) {
  boost::json::object h{{"alg", "RS256"}};
  std::string token = rsa_->Sign(boost::json::serialize(h), boost::json::serialize(Claims()));
  auto keys = Jwks::Parse(JwksOf({other_rsa_, ec_, rsa_}));
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(Verify(token, *keys, Rules()).ok());
}

TEST_F(JwtTest, UnknownKidIsRefused) {
  TestKey stranger(TestKey::Kind::kEc, "ec-unknown");
  EXPECT_EQ(Fails(stranger.Token(Claims()), Code::kInvalidIdentityToken), kNoKey);
}

TEST_F(JwtTest, KeyOfAnotherAlgorithmIsNotUsed) {
  // An RS256 token while the JWKS only has the EC key.
  auto keys = Jwks::Parse(JwksOf({ec_}));
  ASSERT_TRUE(keys.ok());
  auto r = Verify(rsa_->Token(Claims()), *keys, Rules());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), kNoKey);
}

TEST_F(JwtTest, SignatureBySameKidButOtherKeyIsRefused) {
  EXPECT_EQ(Fails(other_rsa_->Token(Claims()), Code::kInvalidIdentityToken), "The token's signature is not valid.");
}

TEST_F(JwtTest, BadSignatureIsRefused) {
  for (const TestKey* key : {static_cast<const TestKey*>(rsa_), static_cast<const TestKey*>(ec_)}) {
    std::string token = key->Token(Claims());
    // Flip one bit of the signature.
    std::size_t dot = token.rfind('.');
    std::string sig = *Base64UrlDecode(token.substr(dot + 1));
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x01);
    std::string forged = token.substr(0, dot + 1) + Base64UrlEncode(sig);
    EXPECT_EQ(Fails(forged, Code::kInvalidIdentityToken), "The token's signature is not valid.") << key->alg();
  }
}

TEST_F(JwtTest, TamperedClaimsAreRefused) {
  std::string token = rsa_->Token(Claims());
  auto c = Claims();
  c["sub"] = "system:serviceaccount:kube-system:admin";
  std::size_t d1 = token.find('.');
  std::size_t d2 = token.rfind('.');
  std::string forged =
      token.substr(0, d1 + 1) + Base64UrlEncode(boost::json::serialize(c)) + token.substr(d2);
  EXPECT_EQ(Fails(forged, Code::kInvalidIdentityToken), "The token's signature is not valid.");
}

TEST_F(JwtTest, Es256SignatureOfWrongLengthIsRefused) {
  std::string token = ec_->Token(Claims());
  std::size_t dot = token.rfind('.');
  // The DER form (what OpenSSL produces) instead of raw r||s.
  std::string input = token.substr(0, dot);
  std::string raw = ec_->RawSignature(input);
  std::string forged = input + "." + Base64UrlEncode(raw + "x");
  EXPECT_EQ(Fails(forged, Code::kInvalidIdentityToken), "The token's signature is not valid.");
}

TEST_F(JwtTest, AlgNoneIsRefused) {
  std::string token = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                      Base64UrlEncode(boost::json::serialize(Claims())) + ".";
  EXPECT_EQ(Fails(token, Code::kInvalidIdentityToken),
            "The token's signing algorithm none is not supported; use RS256 or ES256.");
  // Also with the alg spelled as an allowed one but without a signature.
  std::string unsigned_rs = Base64UrlEncode(R"({"alg":"RS256","kid":"rsa-1"})") + "." +
                            Base64UrlEncode(boost::json::serialize(Claims())) + ".";
  EXPECT_EQ(Fails(unsigned_rs, Code::kInvalidIdentityToken), "The token is not signed.");
}

TEST_F(JwtTest, AlgorithmConfusionIsRefused) {
  // HS256 keyed with the RSA public key's JWK text: the classic confusion attack.
  std::string header = R"({"alg":"HS256","kid":"rsa-1"})";
  std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(boost::json::serialize(Claims()));
  std::string key = boost::json::serialize(rsa_->Jwk());
  crypto::Sha256Digest mac = crypto::HmacSha256(key, input);
  std::string token = input + "." + Base64UrlEncode(crypto::AsView(mac));
  EXPECT_EQ(Fails(token, Code::kInvalidIdentityToken),
            "The token's signing algorithm HS256 is not supported; use RS256 or ES256.");
  // An RS256-signed token relabelled ES256 does not verify with the RSA key either.
  std::string rs = rsa_->Token(Claims());
  std::string relabelled = Base64UrlEncode(R"({"alg":"ES256","kid":"rsa-1"})") + rs.substr(rs.find('.'));
  Fails(relabelled, Code::kInvalidIdentityToken);
  // Nor an ES256 token relabelled RS256 with the EC key's kid.
  std::string es = ec_->Token(Claims());
  relabelled = Base64UrlEncode(R"({"alg":"RS256","kid":"ec-1"})") + es.substr(es.find('.'));
  EXPECT_EQ(Fails(relabelled, Code::kInvalidIdentityToken), kNoKey);
}

TEST_F(JwtTest, CritHeaderIsRefused) {
  std::string token = rsa_->Sign(R"({"alg":"RS256","kid":"rsa-1","crit":["exp"]})",
                                 boost::json::serialize(Claims()));
  EXPECT_EQ(Fails(token, Code::kInvalidIdentityToken),
            "The token names critical header parameters (crit), which are not supported.");
}

TEST_F(JwtTest, ExpiredWithSkewEdges) {
  auto c = Claims();
  c["exp"] = kNow - 60;  // exactly at the edge of the skew: still accepted
  EXPECT_TRUE(Verify(rsa_->Token(c), Keys(), Rules()).ok());
  c["exp"] = kNow - 61;
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kExpiredIdentityToken),
            "Token expired: current date/time 1700000000 must be before the expiration date/time 1699999939");
  ClaimRules strict = Rules();
  strict.skew = std::chrono::seconds(0);
  c["exp"] = kNow;
  EXPECT_TRUE(Verify(rsa_->Token(c), Keys(), strict).ok());
  c["exp"] = kNow - 1;
  Fails(rsa_->Token(c), Code::kExpiredIdentityToken, strict);
}

TEST_F(JwtTest, NotBeforeInTheFuture) {
  auto c = Claims();
  c["nbf"] = kNow + 60;
  EXPECT_TRUE(Verify(rsa_->Token(c), Keys(), Rules()).ok());
  c["nbf"] = kNow + 61;
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kIdpRejectedClaim),
            "Token is not yet valid: current date/time 1700000000 must not be before the not-before date/time "
            "1700000061");
}

TEST_F(JwtTest, IssuedInTheFuture) {
  auto c = Claims();
  c.erase("nbf");
  c["iat"] = kNow + 60;
  EXPECT_TRUE(Verify(ec_->Token(c), Keys(), Rules()).ok());
  c["iat"] = kNow + 3600;
  Fails(ec_->Token(c), Code::kIdpRejectedClaim);
}

TEST_F(JwtTest, FractionalNumericDatesAreAccepted) {
  auto c = Claims();
  c["exp"] = static_cast<double>(kNow) + 100.5;
  auto r = Verify(rsa_->Token(c), Keys(), Rules());
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->expires_at, kNow + 100);
  c["exp"] = "tomorrow";
  Fails(rsa_->Token(c), Code::kInvalidIdentityToken);
}

TEST_F(JwtTest, WrongIssuer) {
  auto c = Claims();
  c["iss"] = "https://evil.example.com";
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kInvalidIdentityToken),
            "No OpenIDConnect provider found in your account for https://evil.example.com");
}

TEST_F(JwtTest, IssuerComparedWithoutSchemeAndTrailingSlash) {
  ClaimRules r = Rules();
  r.issuer = std::string(kIssuer.substr(8)) + "/";  // as IAM shows a provider URL
  EXPECT_TRUE(Verify(rsa_->Token(Claims()), Keys(), r).ok());
}

TEST_F(JwtTest, WrongAudience) {
  auto c = Claims();
  c["aud"] = boost::json::array{"https://kubernetes.default.svc"};
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kInvalidIdentityToken), "Incorrect token audience");
  c.erase("aud");
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kInvalidIdentityToken), "Incorrect token audience");
  c["aud"] = 42;
  Fails(rsa_->Token(c), Code::kInvalidIdentityToken);
}

TEST_F(JwtTest, MissingSubjectOrExpiration) {
  auto c = Claims();
  c.erase("sub");
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kIdpRejectedClaim), "The token has no subject (sub).");
  c = Claims();
  c.erase("exp");
  EXPECT_EQ(Fails(rsa_->Token(c), Code::kIdpRejectedClaim), "The token has no expiration time (exp).");
}

TEST_F(JwtTest, MalformedTokens) {
  const std::string not_jwt =
      "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";
  std::string good = rsa_->Token(Claims());
  EXPECT_EQ(Fails("", Code::kInvalidIdentityToken), not_jwt);
  EXPECT_EQ(Fails("abc.def", Code::kInvalidIdentityToken), not_jwt);
  EXPECT_EQ(Fails(good + ".extra", Code::kInvalidIdentityToken), not_jwt);
  EXPECT_EQ(Fails("!!!." + good.substr(good.find('.') + 1), Code::kInvalidIdentityToken), not_jwt);
  EXPECT_EQ(Fails(Base64UrlEncode("[1,2]") + "." + Base64UrlEncode("{}") + ".AAAA", Code::kInvalidIdentityToken),
            not_jwt);
  EXPECT_EQ(Fails(Base64UrlEncode(R"({"alg":"RS256"})") + "." + Base64UrlEncode("not json") + ".AAAA",
                  Code::kInvalidIdentityToken),
            not_jwt);
  EXPECT_EQ(Fails(std::string(20001, 'a'), Code::kInvalidIdentityToken), not_jwt);
}

TEST_F(JwtTest, JwksParsing) {
  EXPECT_EQ(Jwks::Parse("not json").error().code(), Code::kInvalidParameter);
  EXPECT_EQ(Jwks::Parse(R"({"nokeys":[]})").error().code(), Code::kInvalidParameter);
  EXPECT_EQ(Jwks::Parse(R"({"keys":[{"kty":"RSA","n":"AQAB"}]})").error().code(), Code::kInvalidParameter);
  // Unknown key types and encryption keys are skipped.
  auto j = Jwks::Parse(R"({"keys":[{"kty":"oct","k":"AAAA"},{"kty":"OKP","crv":"Ed25519","x":"AAAA"},
                                     {"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})");
  ASSERT_TRUE(j.ok()) << j.error().ToLogString();
  EXPECT_TRUE(j->empty());
  boost::json::object enc = rsa_->Jwk();
  enc["use"] = "enc";
  boost::json::object root{{"keys", boost::json::array{enc, ec_->Jwk()}}};
  j = Jwks::Parse(boost::json::serialize(root));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->KeyIds(), std::vector<std::string>{"ec-1"});
}

TEST_F(JwtTest, WeakRsaKeysAreSkipped) {
  TestKey weak(TestKey::Kind::kRsa, "weak", 1024);
  auto j = Jwks::Parse(JwksOf({&weak}));
  ASSERT_TRUE(j.ok()) << j.error().ToLogString();
  EXPECT_TRUE(j->empty());
  auto r = Verify(weak.Token(Claims()), *j, Rules());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), kNoKey);
}

TEST_F(JwtTest, EcPointOffTheCurveIsRefused) {
  boost::json::object k = ec_->Jwk();
  std::string y = *Base64UrlDecode(std::string(k["y"].as_string()));
  y[31] = static_cast<char>(y[31] ^ 0x01);
  k["y"] = Base64UrlEncode(y);
  boost::json::object root{{"keys", boost::json::array{k}}};
  auto j = Jwks::Parse(boost::json::serialize(root));
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code(), Code::kInvalidParameter);
}

TEST(Base64UrlTest, RoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(Base64UrlDecode("+/8").has_value());    // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());      // impossible length
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());     // non-zero leftover bits
  EXPECT_FALSE(Base64UrlDecode("Zm 9v").has_value());
}

TEST(IssuerKeyTest, StripsSchemeAndTrailingSlash) {
  EXPECT_EQ(IssuerKey("https://oidc.example.com/id/ABC/"), "oidc.example.com/id/ABC");
  EXPECT_EQ(IssuerKey("oidc.example.com"), "oidc.example.com");
}

}  // namespace
}  // namespace arca::iam::jwt
