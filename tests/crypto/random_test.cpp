#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "core/ids.h"

namespace arca::crypto {
namespace {

TEST(RandomTest, FillsAndDiffers) {
  SecretBytes a = RandomSecret(32);
  SecretBytes b = RandomSecret(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_NE(a.view(), b.view());
  EXPECT_TRUE(RandomSecret(0).empty());
  std::array<unsigned char, 64> buf{};
  RandomFill(buf.data(), buf.size());
  int zeros = 0;
  for (unsigned char c : buf) zeros += c == 0 ? 1 : 0;
  EXPECT_LT(zeros, 16);  // 64 zero bytes by chance: 2^-512
  RandomFill(buf.data(), 0);
}

TEST(RandomTest, RandomBelowStaysInRange) {
  EXPECT_EQ(RandomBelow(1), 0u);
  for (std::uint32_t bound : {2u, 3u, 7u, 10u, 94u, 1000u, 0x80000001u, 0xffffffffu}) {
    for (int i = 0; i < 200; ++i) {
      EXPECT_LT(RandomBelow(bound), bound);
    }
  }
}

TEST(RandomTest, RandomBelowCoversEveryValueRoughlyEvenly) {
  constexpr std::uint32_t kBound = 6;
  constexpr int kDraws = 60000;
  std::array<int, kBound> counts{};
  for (int i = 0; i < kDraws; ++i) ++counts[RandomBelow(kBound)];
  for (int c : counts) {
    // Expected 10000 each; 9000..11000 is > 20 standard deviations wide.
    EXPECT_GT(c, 9000);
    EXPECT_LT(c, 11000);
  }
}

TEST(RandomTest, NewUuidIsVersion4) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewUuid();
    EXPECT_TRUE(LooksLikeUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    for (char c : id) EXPECT_FALSE(c >= 'A' && c <= 'F') << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace arca::crypto
