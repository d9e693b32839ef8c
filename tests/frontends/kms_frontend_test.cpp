// KMS translation: KmsFrontend::Invoke with the real KmsService over a SQLite store.
#include "frontends/aws/kms.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <tuple>

#include "core/clock.h"
#include "core/ids.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::frontends::aws {
namespace {

namespace bj = boost::json;
using namespace std::string_literals;

class KmsFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("arca-kms-frontend-test-" + crypto::NewUuid());
    std::filesystem::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    service_ = std::make_unique<kms::KmsService>(*store_, *keyring_, clock_, kms::ServiceOptions{});
    frontend_ = std::make_unique<KmsFrontend>(*service_);
  }
  void TearDown() override {
    frontend_.reset();
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Result<std::string> Run(std::string_view op, bj::object& input) {
    OperationContext ctx;
    ctx.operation = std::string(op);
    ctx.region = "us-east-1";
    ctx.request_id = "req-1";
    ctx.caller.arn = "arn:aws:iam::000000000000:root";
    ctx.caller.account = "000000000000";
    return frontend_->Invoke(ctx, input);
  }

  bj::object Ok(std::string_view op, bj::object input) {
    auto out = Run(op, input);
    EXPECT_TRUE(out.ok()) << op << ": " << out.error().ToLogString();
    if (!out.ok() || out->empty()) return {};
    boost::system::error_code ec;
    bj::value v = bj::parse(*out, ec);
    EXPECT_FALSE(ec) << *out;
    return v.is_object() ? v.get_object() : bj::object{};
  }

  // The error's response as the JSON protocol writes it: (type, status, message).
  std::tuple<std::string, int, std::string> Fail(std::string_view op, bj::object input) {
    auto out = Run(op, input);
    EXPECT_FALSE(out.ok()) << op;
    if (out.ok()) return {};
    http::Response r = ErrorResponse(out.error(), "req-1", frontend_->coral_namespace());
    bj::object body = bj::parse(r.body).get_object();
    return {std::string(body["__type"].get_string()), r.status, std::string(body["message"].get_string())};
  }

  std::string NewKey() {
    bj::object out = Ok("CreateKey", {});
    return std::string(out["KeyMetadata"].get_object()["KeyId"].get_string());
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<kms::KmsService> service_;
  std::unique_ptr<KmsFrontend> frontend_;
};

TEST_F(KmsFrontendTest, Names) {
  EXPECT_EQ(frontend_->target_prefix(), "TrentService");
  EXPECT_EQ(frontend_->signing_name(), "kms");
  EXPECT_EQ(frontend_->coral_namespace(), "com.amazonaws.kms");
  for (std::string_view op : {"CreateKey", "DescribeKey", "ListKeys", "CreateAlias", "UpdateAlias", "DeleteAlias",
                              "ListAliases", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
                              "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand",
                              "ListKeyRotations", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                              "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "TagResource", "UntagResource",
                              "ListResourceTags", "UpdateKeyDescription", "GetKeyPolicy", "PutKeyPolicy",
                              "ListKeyPolicies"}) {
    EXPECT_TRUE(frontend_->HasOperation(op)) << op;
  }
  EXPECT_FALSE(frontend_->HasOperation("Sign"));
  bj::object in;
  auto r = Run("Sign", in);
  EXPECT_EQ(r.ok() ? Code::kOk : r.error().code(), Code::kUnknownOperation);
}

TEST_F(KmsFrontendTest, CreateAndDescribeKey) {
  bj::object created = Ok("CreateKey", {{"Description", "d"}, {"Tags", bj::array{bj::object{{"TagKey", "env"}, {"TagValue", "x"}}}}});
  bj::object& m = created["KeyMetadata"].get_object();
  std::string id(m["KeyId"].get_string());
  EXPECT_TRUE(LooksLikeUuid(id));
  EXPECT_EQ(m["Arn"], bj::value("arn:aws:kms:us-east-1:000000000000:key/" + id));
  EXPECT_EQ(m["AWSAccountId"], bj::value("000000000000"));
  EXPECT_EQ(m["Description"], bj::value("d"));
  EXPECT_EQ(m["Enabled"], bj::value(true));
  EXPECT_EQ(m["KeyState"], bj::value("Enabled"));
  EXPECT_EQ(m["KeyUsage"], bj::value("ENCRYPT_DECRYPT"));
  EXPECT_EQ(m["KeySpec"], bj::value("SYMMETRIC_DEFAULT"));
  EXPECT_EQ(m["CustomerMasterKeySpec"], bj::value("SYMMETRIC_DEFAULT"));
  EXPECT_EQ(m["KeyManager"], bj::value("CUSTOMER"));
  EXPECT_EQ(m["Origin"], bj::value("AWS_KMS"));
  EXPECT_EQ(m["MultiRegion"], bj::value(false));
  EXPECT_EQ(m["EncryptionAlgorithms"], bj::value(bj::array{"SYMMETRIC_DEFAULT"}));
  ASSERT_TRUE(m["CreationDate"].is_double()) << bj::serialize(m);
  EXPECT_DOUBLE_EQ(m["CreationDate"].get_double(), 1700000000.0);
  EXPECT_FALSE(m.contains("DeletionDate"));
  EXPECT_EQ(m["CurrentKeyMaterialId"].get_string().size(), 64u);

  bj::object described = Ok("DescribeKey", {{"KeyId", id}});
  EXPECT_EQ(described["KeyMetadata"].get_object()["KeyId"], bj::value(id));

  bj::object tags = Ok("ListResourceTags", {{"KeyId", id}});
  EXPECT_EQ(tags["Tags"], bj::value(bj::array{bj::object{{"TagKey", "env"}, {"TagValue", "x"}}}));
  EXPECT_EQ(tags["Truncated"], bj::value(false));
  EXPECT_FALSE(tags.contains("NextMarker"));
}

TEST_F(KmsFrontendTest, ErrorsCarryKmsNames) {
  auto [type, status, message] = Fail("DescribeKey", {});
  EXPECT_EQ(type, "ValidationException");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(message, "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must "
                     "not be null");
  std::tie(type, status, message) = Fail("DescribeKey", {{"KeyId", "alias/none"}});
  EXPECT_EQ(type, "NotFoundException");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(message, "Alias arn:aws:kms:us-east-1:000000000000:alias/none is not found.");

  std::string id = NewKey();
  Ok("DisableKey", {{"KeyId", id}});
  std::tie(type, status, message) = Fail("Encrypt", {{"KeyId", id}, {"Plaintext", crypto::Base64Encode("x")}});
  EXPECT_EQ(type, "DisabledException");
  EXPECT_EQ(status, 400);
  std::tie(type, status, message) = Fail("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 3}});
  EXPECT_EQ(type, "ValidationException");
  std::tie(type, status, message) = Fail("Decrypt", {{"CiphertextBlob", crypto::Base64Encode("not ours at all, no")}});
  EXPECT_EQ(type, "InvalidCiphertextException");
  EXPECT_EQ(status, 400);
  std::tie(type, status, message) = Fail("Decrypt", {{"CiphertextBlob", "%%%"}});
  EXPECT_EQ(type, "SerializationException");
  std::tie(type, status, message) = Fail("CreateAlias", {{"AliasName", "alias/aws/x"}, {"TargetKeyId", id}});
  EXPECT_EQ(type, "NotAuthorizedException");

  // Errors the shared decoding leaves generic get KMS's names, never another service's.
  std::tie(type, status, message) = Fail("ListKeys", {{"Limit", 0}});
  EXPECT_EQ(type, "ValidationException");
  std::tie(type, status, message) = Fail("GenerateRandom", {{"NumberOfBytes", "many"}});
  EXPECT_TRUE(type == "ValidationException" || type == "SerializationException") << type;

  // The header names the type in KMS's namespace.
  auto r = Run("DescribeKey", *bj::parse(R"({"KeyId":"nope"})").if_object());
  ASSERT_FALSE(r.ok());
  http::Response resp = ErrorResponse(r.error(), "req-1", frontend_->coral_namespace());
  bool found = false;
  for (const auto& [k, v] : resp.headers) {
    if (k == "x-amzn-ErrorType") {
      found = true;
      EXPECT_EQ(v, "NotFoundException:http://internal.amazon.com/coral/com.amazonaws.kms/");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(KmsFrontendTest, EncryptDecryptRoundTripAndPlaintextLeavesTheRequest) {
  std::string id = NewKey();
  const std::string secret = "top \x00 secret"s;
  const std::string b64 = crypto::Base64Encode(secret);
  bj::object enc_in{{"KeyId", id}, {"Plaintext", b64}, {"EncryptionContext", bj::object{{"app", "a"}}}};
  auto enc = Run("Encrypt", enc_in);
  ASSERT_TRUE(enc.ok()) << enc.error().ToLogString();
  // What the audit record would get: no Plaintext member at all.
  EXPECT_FALSE(enc_in.contains("Plaintext"));
  EXPECT_EQ(enc_in["KeyId"], bj::value(id));
  EXPECT_TRUE(enc_in.contains("EncryptionContext"));
  bj::object out = bj::parse(*enc).get_object();
  EXPECT_EQ(out["KeyId"], bj::value("arn:aws:kms:us-east-1:000000000000:key/" + id));
  EXPECT_EQ(out["EncryptionAlgorithm"], bj::value("SYMMETRIC_DEFAULT"));
  std::string blob(out["CiphertextBlob"].get_string());
  EXPECT_TRUE(crypto::Base64Decode(blob).has_value());

  bj::object dec_in{{"CiphertextBlob", blob}, {"EncryptionContext", bj::object{{"app", "a"}}}};
  auto dec = Run("Decrypt", dec_in);
  ASSERT_TRUE(dec.ok()) << dec.error().ToLogString();
  EXPECT_FALSE(dec_in.contains("CiphertextBlob"));
  bj::object d = bj::parse(*dec).get_object();
  EXPECT_EQ(d["Plaintext"], bj::value(b64));
  EXPECT_EQ(d["KeyId"], out["KeyId"]);
  EXPECT_EQ(d["KeyMaterialId"].get_string().size(), 64u);

  auto [type, status, message] = Fail("Decrypt", {{"CiphertextBlob", blob}});
  EXPECT_EQ(type, "InvalidCiphertextException");
  std::tie(type, status, message) =
      Fail("Decrypt", {{"CiphertextBlob", blob}, {"EncryptionContext", bj::object{{"app", 1}}}});
  EXPECT_EQ(type, "SerializationException");

  // A failing request still loses its plaintext.
  bj::object bad{{"Plaintext", b64}};
  auto failed = Run("Encrypt", bad);
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(bad.contains("Plaintext"));

  // ReEncrypt to another key and context.
  std::string other = NewKey();
  bj::object re = Ok("ReEncrypt", {{"CiphertextBlob", blob},
                                   {"SourceEncryptionContext", bj::object{{"app", "a"}}},
                                   {"DestinationKeyId", other}});
  EXPECT_EQ(re["SourceKeyId"], out["KeyId"]);
  EXPECT_EQ(re["KeyId"], bj::value("arn:aws:kms:us-east-1:000000000000:key/" + other));
  EXPECT_EQ(re["SourceEncryptionAlgorithm"], bj::value("SYMMETRIC_DEFAULT"));
  bj::object again = Ok("Decrypt", {{"CiphertextBlob", re["CiphertextBlob"]}});
  EXPECT_EQ(again["Plaintext"], bj::value(b64));
}

TEST_F(KmsFrontendTest, DataKeysAndRandom) {
  std::string id = NewKey();
  bj::object dk = Ok("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  auto plain = crypto::Base64Decode(std::string(dk["Plaintext"].get_string()));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->size(), 32u);
  EXPECT_TRUE(dk.contains("CiphertextBlob"));
  EXPECT_EQ(dk["KeyMaterialId"].get_string().size(), 64u);
  bj::object back = Ok("Decrypt", {{"CiphertextBlob", dk["CiphertextBlob"]}, {"KeyId", id}});
  EXPECT_EQ(back["Plaintext"], dk["Plaintext"]);

  bj::object without = Ok("GenerateDataKeyWithoutPlaintext", {{"KeyId", id}, {"NumberOfBytes", 16}});
  EXPECT_FALSE(without.contains("Plaintext"));
  EXPECT_TRUE(without.contains("CiphertextBlob"));

  bj::object random = Ok("GenerateRandom", {{"NumberOfBytes", 48}});
  EXPECT_EQ(crypto::Base64Decode(std::string(random["Plaintext"].get_string()))->size(), 48u);
  auto [type, status, message] = Fail("GenerateRandom", {});
  EXPECT_EQ(type, "ValidationException");
  EXPECT_EQ(message, "NumberOfBytes is required.");
  std::tie(type, status, message) =
      Fail("GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}, {"Recipient", bj::object{}}});
  EXPECT_EQ(type, "UnsupportedOperationException");
}

TEST_F(KmsFrontendTest, AliasesKeyStateAndRotationShapes) {
  std::string id = NewKey();
  auto created = Run("CreateAlias", *bj::parse(R"({"AliasName":"alias/app","TargetKeyId":")" + id + "\"}").if_object());
  ASSERT_TRUE(created.ok()) << created.error().ToLogString();
  EXPECT_EQ(*created, "");  // no output: an empty body, as KMS answers

  bj::object aliases = Ok("ListAliases", {});
  bj::array& list = aliases["Aliases"].get_array();
  ASSERT_EQ(list.size(), 3u);
  bj::object& app = list[0].get_object();
  EXPECT_EQ(app["AliasName"], bj::value("alias/app"));
  EXPECT_EQ(app["AliasArn"], bj::value("arn:aws:kms:us-east-1:000000000000:alias/app"));
  EXPECT_EQ(app["TargetKeyId"], bj::value(id));
  EXPECT_TRUE(app["CreationDate"].is_double());
  EXPECT_TRUE(app["LastUpdatedDate"].is_double());
  EXPECT_FALSE(list[1].get_object().contains("TargetKeyId"));
  EXPECT_EQ(aliases["Truncated"], bj::value(false));
  bj::object paged = Ok("ListAliases", {{"Limit", 1}});
  EXPECT_EQ(paged["Truncated"], bj::value(true));
  ASSERT_TRUE(paged["NextMarker"].is_string());
  bj::object next = Ok("ListAliases", {{"Limit", 1}, {"Marker", paged["NextMarker"]}});
  EXPECT_EQ(next["Aliases"].get_array()[0].get_object()["AliasName"], bj::value("alias/aws/secretsmanager"));

  bj::object keys = Ok("ListKeys", {});
  ASSERT_EQ(keys["Keys"].get_array().size(), 1u);
  EXPECT_EQ(keys["Keys"].get_array()[0].get_object()["KeyId"], bj::value(id));
  EXPECT_EQ(keys["Truncated"], bj::value(false));

  Ok("EnableKeyRotation", {{"KeyId", id}, {"RotationPeriodInDays", 180}});
  bj::object status = Ok("GetKeyRotationStatus", {{"KeyId", id}});
  EXPECT_EQ(status["KeyRotationEnabled"], bj::value(true));
  EXPECT_EQ(status["RotationPeriodInDays"], bj::value(180));
  EXPECT_TRUE(status["NextRotationDate"].is_double());
  bj::object rotated = Ok("RotateKeyOnDemand", {{"KeyId", id}});
  EXPECT_EQ(rotated["KeyId"], bj::value("arn:aws:kms:us-east-1:000000000000:key/" + id));
  bj::object rotations = Ok("ListKeyRotations", {{"KeyId", id}});
  ASSERT_EQ(rotations["Rotations"].get_array().size(), 1u);
  bj::object& r0 = rotations["Rotations"].get_array()[0].get_object();
  EXPECT_EQ(r0["RotationType"], bj::value("ON_DEMAND"));
  EXPECT_EQ(r0["KeyMaterialState"], bj::value("CURRENT"));
  EXPECT_TRUE(r0["RotationDate"].is_double());

  bj::object scheduled = Ok("ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  EXPECT_EQ(scheduled["KeyState"], bj::value("PendingDeletion"));
  EXPECT_EQ(scheduled["PendingWindowInDays"], bj::value(7));
  EXPECT_DOUBLE_EQ(scheduled["DeletionDate"].get_double(), 1700000000.0 + 7 * 86400);
  bj::object described = Ok("DescribeKey", {{"KeyId", "alias/app"}});
  EXPECT_EQ(described["KeyMetadata"].get_object()["PendingDeletionWindowInDays"], bj::value(7));
  EXPECT_TRUE(described["KeyMetadata"].get_object()["DeletionDate"].is_double());
  bj::object cancelled = Ok("CancelKeyDeletion", {{"KeyId", id}});
  EXPECT_EQ(cancelled["KeyId"], rotated["KeyId"]);

  Ok("TagResource", {{"KeyId", id}, {"Tags", bj::array{bj::object{{"TagKey", "a"}, {"TagValue", "b"}}}}});
  Ok("UntagResource", {{"KeyId", id}, {"TagKeys", bj::array{"a"}}});
  EXPECT_TRUE(Ok("ListResourceTags", {{"KeyId", id}})["Tags"].get_array().empty());
  auto [type, status_code, message] = Fail("UntagResource", {{"KeyId", id}});
  EXPECT_EQ(type, "ValidationException");

  bj::object policy = Ok("GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}});
  EXPECT_EQ(policy["PolicyName"], bj::value("default"));
  EXPECT_NE(std::string(policy["Policy"].get_string()).find("Enable IAM User Permissions"), std::string::npos);
  Ok("PutKeyPolicy", {{"KeyId", id}, {"Policy", R"({"Version":"2012-10-17","Statement":[]})"}});
  EXPECT_EQ(Ok("ListKeyPolicies", {{"KeyId", id}})["PolicyNames"], bj::value(bj::array{"default"}));
  Ok("UpdateKeyDescription", {{"KeyId", id}, {"Description", "new"}});
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", id}})["KeyMetadata"].get_object()["Description"], bj::value("new"));
  Ok("UpdateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", NewKey()}});
  Ok("DeleteAlias", {{"AliasName", "alias/app"}});
}

}  // namespace
}  // namespace arca::frontends::aws
