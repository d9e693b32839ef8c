// The Redis rotator's parts that need no server: parsing the secret, the ACL password rules,
// refusing TLS, and messages without passwords. The rotation against a real Redis is tested in
// tests/integration/test_rotation_redis.py.
#include "rotation/redis_rotator.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/hash.h"

namespace arca::rotation {
namespace {

TEST(ParseRedisSecretTest, TheShapeWithDefaults) {
  auto s =
      ParseRedisSecret(R"({"engine":"redis","host":"cache","username":"app","password":"pw"})");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->engine, "redis");
  EXPECT_EQ(s->host, "cache");
  EXPECT_EQ(s->port, 6379);
  EXPECT_EQ(s->username, "app");
  EXPECT_EQ(s->password.view(), "pw");
  EXPECT_FALSE(s->tls);
  EXPECT_FALSE(s->masterarn);
}

TEST(ParseRedisSecretTest, AllFields) {
  auto s = ParseRedisSecret(
      R"({"engine":"redis","host":"h","port":"6380","username":"u","password":"p","tls":"true",)"
      R"("masterarn":"arn:aws:secretsmanager:us-east-1:000000000000:secret:m-AbCdEf","x":1})");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->port, 6380);
  EXPECT_TRUE(s->tls);
  EXPECT_EQ(*s->masterarn, "arn:aws:secretsmanager:us-east-1:000000000000:secret:m-AbCdEf");
  auto ssl = ParseRedisSecret(
      R"({"engine":"redis","host":"h","port":7000,"username":"u","password":"p","ssl":true})");
  ASSERT_TRUE(ssl.ok());
  EXPECT_TRUE(ssl->tls);
  EXPECT_EQ(ssl->port, 7000);
  auto off = ParseRedisSecret(
      R"({"engine":"redis","host":"h","username":"u","password":"p","ssl":false,"masterarn":""})");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->tls);
  EXPECT_FALSE(off->masterarn);
}

TEST(ParseRedisSecretTest, ErrorsNameTheFieldNeverTheValue) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {R"([1])", "not a JSON object"},
      {R"({"host":"h","username":"u","password":"Secret-Pw-1"})", "engine key is missing"},
      {R"({"engine":"postgres","host":"h","username":"u","password":"Secret-Pw-1"})",
       "engine must be redis"},
      {R"({"engine":"redis","username":"u","password":"Secret-Pw-1"})", "host key is missing"},
      {R"({"engine":"redis","host":"h","password":"Secret-Pw-1"})", "username key is missing"},
      {R"({"engine":"redis","host":"h","username":"u"})", "password key is missing"},
      {R"({"engine":"redis","host":"h","username":"u","password":7})", "password must be a string"},
      {R"({"engine":"redis","host":"h","username":"u","password":""})", "password is empty"},
      {R"({"engine":"redis","host":"h","username":"u","password":"Secret-Pw-1","port":0})",
       "port must be"},
      {R"({"engine":"redis","host":"h","username":"u","password":"Secret-Pw-1","port":"x1"})",
       "port must be"},
      {R"({"engine":"redis","host":"h","username":"u","password":"Secret-Pw-1","tls":"yes"})",
       "tls must be true or false"},
      {R"({"engine":"redis","host":"h","username":"u","password":"Secret-Pw-1","masterarn":1})",
       "masterarn must be a string"},
  };
  for (const auto& c : cases) {
    auto s = ParseRedisSecret(c.json);
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(s.error().code(), Code::kInvalidParameter);
    EXPECT_NE(s.error().message().find(c.want), std::string::npos) << s.error().message();
    EXPECT_EQ(s.error().message().find("Secret-Pw-1"), std::string::npos);
  }
}

TEST(AclPasswordRuleTest, TheOpAndTheSha256) {
  SecretBytes pw = SecretBytes::CopyOf("hunter2");
  EXPECT_EQ(AclPasswordRule('#', pw).view(), "#" + crypto::Sha256Hex("hunter2"));
  EXPECT_EQ(AclPasswordRule('!', pw).view(), "!" + crypto::Sha256Hex("hunter2"));
  EXPECT_EQ(AclPasswordRule('#', pw).size(), 65u);
}

TEST(RedisConnectionTest, TlsIsRefusedClearly) {
  auto s = ParseRedisSecret(
      R"({"engine":"redis","host":"127.0.0.1","username":"u","password":"Secret-Pw-1","tls":true})");
  ASSERT_TRUE(s.ok());
  auto c = RedisConnection::Open(*s, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidParameter);
  EXPECT_NE(c.error().message().find("TLS"), std::string::npos);
  EXPECT_EQ(c.error().message().find("Secret-Pw-1"), std::string::npos);
}

TEST(RedisConnectionTest, RefusedConnectionNamesUserAndHostNotThePassword) {
  // A port nothing listens on: bind one, then close it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  auto s = ParseRedisSecret(R"({"engine":"redis","host":"127.0.0.1","username":"app","port":)" +
                            std::to_string(port) + R"(,"password":"Secret-Pw-1"})");
  ASSERT_TRUE(s.ok());
  auto c = RedisConnection::Open(*s, RedisOptions{std::chrono::milliseconds(1000)});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kUnavailable);
  EXPECT_NE(c.error().message().find("app at 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << c.error().message();
  EXPECT_EQ(c.error().message().find("Secret-Pw-1"), std::string::npos);
}

TEST(RotatorRegistryTest, ArcaRedisIsBuiltIn) {
  auto r = RotatorRegistry::WithBuiltins();
  EXPECT_TRUE(r->Find("arn:aws:lambda:us-east-1:000000000000:function:arca-redis").ok());
}

}  // namespace
}  // namespace arca::rotation
