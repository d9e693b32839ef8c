// The rotation settings of the server config: `rotators` (YAML only), rotation_notify_urls,
// rotation_notify_hmac_key_file, rotation_retry_seconds.
#include <gtest/gtest.h>

#include "server/config.h"

namespace arca::server {
namespace {

Result<Config> FromYaml(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(auto file, ParseYamlConfig(text, "config file t.yaml"));
  return ResolveConfig({}, {}, file);
}

TEST(RotationConfigTest, RotatorsFromYaml) {
  auto c = FromYaml(R"(
rotators:
  - name: billing-db
    type: webhook
    url: https://rotator.internal/hook
    hmac_key_file: /etc/arca/rotator.key
    timeout_seconds: 30
  - name: legacy-lambda
    type: exec
    command: ["/usr/bin/python3", "/opt/rotation/wrapper.py"]
    env: {AWS_PROFILE: rotator}
    timeout_seconds: 60
rotation_notify_urls:
  - https://hooks.internal/a?x=1,2
  - http://127.0.0.1:9000/b
rotation_notify_hmac_key_file: /etc/arca/notify.key
rotation_retry_seconds: 5
)");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->rotators.size(), 2u);
  EXPECT_EQ(c->rotators[0].name, "billing-db");
  EXPECT_EQ(c->rotators[0].type, "webhook");
  EXPECT_EQ(c->rotators[0].url, "https://rotator.internal/hook");
  EXPECT_EQ(c->rotators[0].hmac_key_file, "/etc/arca/rotator.key");
  EXPECT_EQ(c->rotators[0].timeout_seconds, 30);
  EXPECT_EQ(c->rotators[1].command,
            (std::vector<std::string>{"/usr/bin/python3", "/opt/rotation/wrapper.py"}));
  ASSERT_EQ(c->rotators[1].env.size(), 1u);
  EXPECT_EQ(c->rotators[1].env[0], (std::pair<std::string, std::string>{"AWS_PROFILE", "rotator"}));
  EXPECT_EQ(c->rotation_notify_urls, (std::vector<std::string>{"https://hooks.internal/a?x=1,2",
                                                               "http://127.0.0.1:9000/b"}));
  EXPECT_EQ(c->rotation_notify_hmac_key_file, "/etc/arca/notify.key");
  EXPECT_EQ(c->rotation_retry_seconds, 5);
}

TEST(RotationConfigTest, Defaults) {
  auto c = FromYaml("");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->rotators.empty());
  EXPECT_TRUE(c->rotation_notify_urls.empty());
  EXPECT_EQ(c->rotation_retry_seconds, 30);
}

TEST(RotationConfigTest, EnvironmentAndFlags) {
  Settings env{{"rotation_notify_urls", {"http://a/1, http://b/2", "ARCA_ROTATION_NOTIFY_URLS"}},
               {"rotation_retry_seconds", {"2", "ARCA_ROTATION_RETRY_SECONDS"}}};
  auto c = ResolveConfig({}, env, {});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->rotation_notify_urls, (std::vector<std::string>{"http://a/1", "http://b/2"}));
  EXPECT_EQ(c->rotation_retry_seconds, 2);
  Settings bad{{"rotation_retry_seconds", {"0", "--rotation-retry-seconds"}}};
  auto e = ResolveConfig(bad, {}, {});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("--rotation-retry-seconds"), std::string::npos);
  Settings url{{"rotation_notify_urls", {"ftp://x", "ARCA_ROTATION_NOTIFY_URLS"}}};
  EXPECT_FALSE(ResolveConfig({}, url, {}).ok());
}

TEST(RotationConfigTest, BadRotatorsAreRefusedWithTheReason) {
  struct Case {
    const char* yaml;
    const char* says;
  };
  const Case cases[] = {
      {"rotators: {name: x}", "must be a list"},
      {"rotators:\n  - type: exec\n    command: [a]", "name is missing"},
      {"rotators:\n  - name: a b\n    type: exec\n    command: [a]", "Lambda function name"},
      {"rotators:\n  - name: x\n    type: lambda", "type must be webhook or exec"},
      {"rotators:\n  - name: x\n    type: webhook", "url must be"},
      {"rotators:\n  - name: x\n    type: webhook\n    url: http://h\n    command: [a]",
       "for exec"},
      {"rotators:\n  - name: x\n    type: exec\n    command: /bin/sh -c x", "must be a list"},
      {"rotators:\n  - name: x\n    type: exec", "command must name"},
      {"rotators:\n  - name: x\n    type: exec\n    command: [a]\n    url: http://h",
       "for webhook"},
      {"rotators:\n  - name: x\n    type: exec\n    command: [a]\n    timeout_seconds: 0",
       "timeout"},
      {"rotators:\n  - name: x\n    type: exec\n    command: [a]\n    colour: red", "unknown key"},
      {"rotators:\n  - {name: x, type: exec, command: [a]}\n  - {name: x, type: exec, command: "
       "[b]}",
       "two rotators are named x"},
  };
  for (const auto& c : cases) {
    auto r = FromYaml(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.error().message().find(c.says), std::string::npos) << c.yaml << "\n"
                                                                   << r.error().message();
    EXPECT_NE(r.error().message().find("t.yaml"), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace arca::server
