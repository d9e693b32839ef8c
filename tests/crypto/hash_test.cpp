#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace arca::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto out = HexDecode(hex);
  EXPECT_TRUE(out.has_value()) << hex;
  return out.value_or("");
}

// FIPS 180-2 appendix B examples.
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  Sha256Digest d = Sha256("abc");
  EXPECT_EQ(HexEncode(AsView(d)), Sha256Hex("abc"));
}

// RFC 4231, section 4 (HMAC-SHA-256 results of test cases 1-4, 6 and 7).
TEST(HmacSha256Test, Rfc4231) {
  struct Case {
    std::string key;
    std::string data;
    const char* mac;
  };
  const Case cases[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key "
       "needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(++n);
    EXPECT_EQ(HexEncode(AsView(HmacSha256(c.key, c.data))), c.mac);
  }
}

TEST(HmacSha256Test, EmptyKeyAndData) {
  // Python: hmac.new(b"", b"", hashlib.sha256).hexdigest()
  EXPECT_EQ(HexEncode(AsView(HmacSha256("", ""))),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(ConstantTimeEqualsTest, Compares) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(HexTest, RoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string hex = HexEncode(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  EXPECT_EQ(HexDecode(hex), all);
  EXPECT_EQ(HexDecode("DEADbeef"), std::string("\xde\xad\xbe\xef"));
  EXPECT_EQ(HexDecode(""), std::string());
  EXPECT_EQ(HexEncode(""), "");
}

TEST(HexTest, RejectsBadInput) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_FALSE(HexDecode(" 00").has_value());
}

// RFC 4648 section 10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), std::string(plain)) << encoded;
    auto secret = Base64DecodeSecret(encoded);
    ASSERT_TRUE(secret.has_value()) << encoded;
    EXPECT_EQ(secret->view(), plain);
  }
}

TEST(Base64Test, RoundTripsBinary) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(255 - i));
  for (std::size_t len = 0; len <= all.size(); len += 7) {
    std::string part = all.substr(0, len);
    std::string enc = Base64Encode(part);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(Base64Decode(enc), part);
  }
  // Padding bytes decode to exactly the right length, including embedded and trailing zero bytes.
  std::string zeros("\0\0\0\0", 4);
  EXPECT_EQ(Base64Encode(zeros), "AAAAAA==");
  EXPECT_EQ(Base64Decode("AAAAAA=="), zeros);
  EXPECT_EQ(Base64Decode("+/+/"), std::string("\xfb\xff\xbf"));
}

TEST(Base64Test, RejectsBadInput) {
  const char* bad[] = {
      "Zg",        // missing padding
      "Zg=",       // short padding
      "Zm9v\n",    // newline
      " Zm9v",     // leading space
      "Zm9v ",     // trailing space
      "Zm 9v",     // inner space
      "Zm9v\r\n",  // CRLF
      "Z===",      // too much padding
      "====",      // only padding
      "Zg==Zg==",  // padding in the middle
      "Z=g=",      // '=' inside a group
      "Zm9*",      // invalid character
      "Zm9-",      // URL-safe alphabet is not standard base64
      "Zm9_",      // URL-safe alphabet is not standard base64
      "Zm9vY",     // bad length
  };
  for (const char* b : bad) {
    EXPECT_FALSE(Base64Decode(b).has_value()) << '"' << b << '"';
    EXPECT_FALSE(Base64DecodeSecret(b).has_value()) << '"' << b << '"';
  }
  EXPECT_FALSE(Base64Decode(std::string("Zm9v\0AAA", 8)).has_value());
}

}  // namespace
}  // namespace arca::crypto
