#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto out = HexDecode(hex);
  EXPECT_TRUE(out.has_value()) << hex;
  return out.value_or("");
}

SecretBytes KeyFromHex(std::string_view hex) { return SecretBytes::FromString(Unhex(hex)); }

// AES-256 test cases 13-16 of McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised
// submission to NIST (2005), appendix B. Sealed layout: nonce || ciphertext || tag.
struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

constexpr char kKey15[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr char kIv15[] = "cafebabefacedbaddecaf888";

const GcmVector kGcmVectors[] = {
    {"case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"case 15", kKey15, kIv15,
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"case 16", kKey15, kIv15,
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AeadTest, GcmSpecKnownAnswers) {
  for (const GcmVector& v : kGcmVectors) {
    SCOPED_TRACE(v.name);
    SecretBytes key = KeyFromHex(v.key);
    std::string iv = Unhex(v.iv);
    std::string plaintext = Unhex(v.plaintext);
    std::string aad = Unhex(v.aad);
    auto sealed = AeadSealWithNonceForTest(key, iv, plaintext, aad);
    ASSERT_TRUE(sealed.ok()) << sealed.error().ToLogString();
    EXPECT_EQ(HexEncode(*sealed), std::string(v.iv) + v.ciphertext + v.tag);
    auto opened = AeadOpen(key, *sealed, aad);
    ASSERT_TRUE(opened.ok()) << opened.error().ToLogString();
    EXPECT_EQ(opened->view(), plaintext);
  }
}

TEST(AeadTest, RoundTripWithRandomNonce) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  auto a = AeadSeal(key, "hello", "aad");
  auto b = AeadSeal(key, "hello", "aad");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), kAeadNonceSize + 5 + kAeadTagSize);
  EXPECT_NE(*a, *b);  // fresh nonce each time
  EXPECT_EQ(AeadOpen(key, *a, "aad")->view(), "hello");
  EXPECT_EQ(AeadOpen(key, *b, "aad")->view(), "hello");

  auto empty = AeadSeal(key, "", "");
  ASSERT_TRUE(empty.ok());
  auto opened = AeadOpen(key, *empty, "");
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(AeadTest, DetectsTampering) {
  SecretBytes key = RandomSecret(kAeadKeySize);
  const std::string plaintext = "the secret value, long enough to span more than one block";
  auto sealed = AeadSeal(key, plaintext, "arn:aws:secretsmanager:x|v1");
  ASSERT_TRUE(sealed.ok());
  const std::string& s = *sealed;

  // Flip one bit in the nonce, the first and last ciphertext byte and the tag.
  for (std::size_t pos : {std::size_t{0}, kAeadNonceSize - 1, kAeadNonceSize,
                          s.size() - kAeadTagSize - 1, s.size() - kAeadTagSize, s.size() - 1}) {
    std::string bad = s;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    auto r = AeadOpen(key, bad, "arn:aws:secretsmanager:x|v1");
    ASSERT_FALSE(r.ok()) << pos;
    EXPECT_EQ(r.error().code(), Code::kDecryptionFailure) << pos;
  }
  // Wrong AAD.
  auto r = AeadOpen(key, s, "arn:aws:secretsmanager:x|v2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  r = AeadOpen(key, s, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  // Wrong key.
  r = AeadOpen(RandomSecret(kAeadKeySize), s, "arn:aws:secretsmanager:x|v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  // Truncated: every shorter prefix, and a dropped first byte.
  for (std::size_t len = 0; len < s.size(); len += 5) {
    r = AeadOpen(key, s.substr(0, len), "arn:aws:secretsmanager:x|v1");
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.error().code(), Code::kDecryptionFailure) << len;
  }
  r = AeadOpen(key, s.substr(1), "arn:aws:secretsmanager:x|v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  // Extended.
  r = AeadOpen(key, s + "x", "arn:aws:secretsmanager:x|v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kDecryptionFailure);
  // The untouched value still opens.
  EXPECT_EQ(AeadOpen(key, s, "arn:aws:secretsmanager:x|v1")->view(), plaintext);
}

TEST(AeadTest, RejectsBadKeyAndNonceSizes) {
  SecretBytes short_key = RandomSecret(16);
  auto r = AeadSeal(short_key, "x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInternal);
  SecretBytes key = RandomSecret(kAeadKeySize);
  r = AeadSealWithNonceForTest(key, "short", "x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInternal);
  auto o = AeadOpen(short_key, std::string(40, 'a'), "");
  ASSERT_FALSE(o.ok());
}

}  // namespace
}  // namespace arca::crypto
