// The PostgreSQL rotators' parts that need no server: parsing the RDS-shaped secret, connection
// parameters, alternate usernames, quoting, redaction. The rotation against a real PostgreSQL is
// tested in tests/integration/test_rotation_postgres.py.
#include "rotation/postgres_rotator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace arca::rotation {
namespace {

std::map<std::string, std::string> Params(const DbSecret& s, PostgresOptions o = {}) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : ConnectionParams(s, o)) {
    EXPECT_FALSE(out.count(k)) << k;
    out[k] = v;
  }
  return out;
}

TEST(ParseDbSecretTest, TheRdsShapeWithDefaults) {
  auto s = ParseDbSecret(
      R"({"engine":"postgres","host":"db.internal","username":"app","password":"pw"})");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->engine, "postgres");
  EXPECT_EQ(s->host, "db.internal");
  EXPECT_EQ(s->port, 5432);
  EXPECT_EQ(s->username, "app");
  EXPECT_EQ(s->password.view(), "pw");
  EXPECT_EQ(s->dbname, "postgres");
  EXPECT_EQ(s->sslmode, "prefer");
  EXPECT_FALSE(s->masterarn);
  EXPECT_FALSE(s->sslrootcert);
}

TEST(ParseDbSecretTest, AllFields) {
  auto s = ParseDbSecret(
      R"({"engine":"aurora-postgresql","host":"h","port":"6543","username":"u","password":"p",)"
      R"("dbname":"appdb","masterarn":"arn:aws:secretsmanager:us-east-1:0:secret:m",)"
      R"("sslmode":"require"})");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->port, 6543);
  EXPECT_EQ(s->dbname, "appdb");
  EXPECT_EQ(s->sslmode, "require");
  EXPECT_EQ(s->masterarn, "arn:aws:secretsmanager:us-east-1:0:secret:m");
  auto n = ParseDbSecret(R"({"engine":"postgres","host":"h","port":5433,"username":"u",)"
                         R"("password":"p","dbname":null})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->port, 5433);
  EXPECT_EQ(n->dbname, "postgres");
}

TEST(ParseDbSecretTest, SslAsAwsReadsIt) {
  auto mode = [](const std::string& ssl) {
    auto s = ParseDbSecret(R"({"engine":"postgres","host":"h","username":"u","password":"p",)" +
                           ssl + "}");
    EXPECT_TRUE(s.ok());
    return s.ok() ? s->sslmode : std::string();
  };
  EXPECT_EQ(mode(R"("ssl":true)"), "verify-full");
  EXPECT_EQ(mode(R"("ssl":"TRUE")"), "verify-full");
  EXPECT_EQ(mode(R"("ssl":false)"), "disable");
  EXPECT_EQ(mode(R"("ssl":"false")"), "disable");
  EXPECT_EQ(mode(R"("ssl":"maybe")"), "prefer");
  EXPECT_EQ(mode(R"("ssl":3)"), "prefer");
  // sslmode wins over ssl.
  EXPECT_EQ(mode(R"("ssl":true,"sslmode":"disable")"), "disable");
  // verify-full without a CA file uses the system bundle, as AWS's function uses the system one.
  auto s =
      ParseDbSecret(R"({"engine":"postgres","host":"h","username":"u","password":"p","ssl":true})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sslrootcert, std::string(kSystemCaBundle));
}

TEST(ParseDbSecretTest, ErrorsNameTheFieldNeverAValue) {
  const std::string pw = "Sup3r-Secret-Value";
  auto bad = [&](const std::string& json, const std::string& want) {
    auto s = ParseDbSecret(json);
    ASSERT_FALSE(s.ok()) << json;
    EXPECT_EQ(s.error().code(), Code::kInvalidParameter);
    EXPECT_NE(s.error().message().find(want), std::string::npos) << s.error().message();
    EXPECT_EQ(s.error().message().find(pw), std::string::npos) << s.error().message();
  };
  bad("not json " + pw, "not a JSON object");
  bad(R"(["x"])", "not a JSON object");
  bad(R"({"host":"h","username":"u","password":")" + pw + R"("})", "engine key is missing");
  bad(R"({"engine":"mysql","host":"h","username":"u","password":")" + pw + R"("})",
      "engine must be postgres");
  bad(R"({"engine":"postgres","username":"u","password":")" + pw + R"("})", "host key");
  bad(R"({"engine":"postgres","host":"h","password":")" + pw + R"("})", "username key");
  bad(R"({"engine":"postgres","host":"h","username":"u"})", "password key is missing");
  bad(R"({"engine":"postgres","host":"h","username":"u","password":5})", "password must be");
  bad(R"({"engine":"postgres","host":"h","username":"u","password":")" + pw + R"(","port":"54x"})",
      "port must be");
  bad(R"({"engine":"postgres","host":"h","username":"u","password":")" + pw + R"(","port":70000})",
      "port must be");
  bad(R"({"engine":"postgres","host":"h","username":"u","password":")" + pw +
          R"(","sslmode":"sometimes"})",
      "sslmode must be");
}

TEST(ConnectionParamsTest, KeywordsWithoutThePassword) {
  auto s = ParseDbSecret(
      R"({"engine":"postgres","host":"10.0.0.5","port":6000,"username":"app","password":"hunter2",)"
      R"("dbname":"orders","sslmode":"verify-ca","sslrootcert":"/etc/ca.pem"})");
  ASSERT_TRUE(s.ok());
  PostgresOptions o;
  o.connect_timeout = std::chrono::seconds(7);
  auto p = Params(*s, o);
  EXPECT_EQ(p["host"], "10.0.0.5");
  EXPECT_EQ(p["port"], "6000");
  EXPECT_EQ(p["dbname"], "orders");
  EXPECT_EQ(p["user"], "app");
  EXPECT_EQ(p["sslmode"], "verify-ca");
  EXPECT_EQ(p["sslrootcert"], "/etc/ca.pem");
  EXPECT_EQ(p["connect_timeout"], "7");
  EXPECT_EQ(p.count("password"), 0u);
  for (const auto& [k, v] : p) EXPECT_EQ(v.find("hunter2"), std::string::npos) << k;
  // A dbname is a value, never a conninfo string to expand (the rotator passes expand_dbname=0).
  auto t = ParseDbSecret(R"({"engine":"postgres","host":"h","username":"u","password":"p",)"
                         R"("dbname":"host=evil sslmode=disable"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Params(*t)["dbname"], "host=evil sslmode=disable");
  EXPECT_EQ(Params(*t)["sslmode"], "prefer");
}

TEST(AlternateUsernameTest, SwapsAsAwsDoes) {
  EXPECT_EQ(AlternateUsername("app").value(), "app_clone");
  EXPECT_EQ(AlternateUsername("app_clone").value(), "app");
  EXPECT_EQ(AlternateUsername(std::string(57, 'a')).value(), std::string(57, 'a') + "_clone");
  auto too_long = AlternateUsername(std::string(58, 'a'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code(), Code::kInvalidParameter);
  EXPECT_NE(too_long.error().message().find("63"), std::string::npos);
}

TEST(ConnectionTest, QuotesWithLibpqWithoutAServer) {
  Connection c = Connection::Offline();
  EXPECT_EQ(c.QuoteIdentifier("app").value(), "\"app\"");
  EXPECT_EQ(c.QuoteIdentifier("we\"ird; DROP ROLE x").value(), "\"we\"\"ird; DROP ROLE x\"");
  EXPECT_EQ(c.QuoteLiteral("it's").value(), "'it''s'");
  // Without standard_conforming_strings libpq writes an E'' literal with doubled backslashes.
  EXPECT_EQ(c.QuoteLiteral("a\\b").value(), " E'a\\\\b'");
  // Needs a live connection (the server decides the password hash).
  SecretBytes pw = SecretBytes::CopyOf("pw");
  EXPECT_FALSE(c.PasswordClause(pw, "app").ok());
  Connection moved = std::move(c);
  EXPECT_TRUE(moved.QuoteIdentifier("x").ok());
}

TEST(ConnectionTest, FailedLoginMessageHasNoPassword) {
  // Port 1 on loopback: refused at once; the message names host and port, never the password.
  auto s = ParseDbSecret(R"({"engine":"postgres","host":"127.0.0.1","port":1,"username":"app",)"
                         R"("password":"Sup3r-Secret-Value","sslmode":"disable"})");
  ASSERT_TRUE(s.ok());
  auto c = Connection::Open(*s, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kUnavailable);
  EXPECT_NE(c.error().message().find("127.0.0.1"), std::string::npos) << c.error().message();
  EXPECT_EQ(c.error().message().find("Sup3r-Secret-Value"), std::string::npos);
  EXPECT_EQ(c.error().message().find('\n'), std::string::npos) << "one line for the audit log";
}

TEST(RedactPasswordsTest, ReplacesEveryOccurrence) {
  SecretBytes a = SecretBytes::CopyOf("s3cr3t");
  SecretBytes b = SecretBytes::CopyOf("other");
  SecretBytes empty;
  EXPECT_EQ(RedactPasswords("x s3cr3t y s3cr3t other", {&a, &b, &empty, nullptr}),
            "x *** y *** ***");
  EXPECT_EQ(RedactPasswords("nothing here", {&a}), "nothing here");
}

TEST(RotatorRegistryTest, BothPostgresRotatorsAreBuiltIn) {
  auto r = RotatorRegistry::WithBuiltins();
  EXPECT_TRUE(
      r->Find("arn:aws:lambda:us-east-1:000000000000:function:arca-postgres-single-user").ok());
  EXPECT_TRUE(
      r->Find("arn:aws:lambda:us-east-1:000000000000:function:arca-postgres-alternating-users")
          .ok());
}

}  // namespace
}  // namespace arca::rotation
