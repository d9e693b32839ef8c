#pragma once
// Helpers for the audit tests: a temporary data directory, a record builder, and file surgery
// (read/write a log file's lines) for the tampering tests.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/event.h"
#include "audit/format.h"
#include "audit/log.h"
#include "crypto/random.h"

namespace arca::audit::testing {

class TempDir {
 public:
  TempDir() {
    path_ = (std::filesystem::temp_directory_path() / ("arca-audit-test-" + crypto::NewUuid()))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A GetSecretValue record by IAM user `user` at `t`.
inline boost::json::object SampleRecord(TimePoint t, std::string_view event_name = "GetSecretValue",
                                        std::string_view user = "alice",
                                        std::string_view secret = "prod/db") {
  EventInput in;
  in.identity.type = IdentityType::kIamUser;
  in.identity.account = "123456789012";
  in.identity.arn = "arn:aws:iam::123456789012:user/" + std::string(user);
  in.identity.user_id = "AIDAEXAMPLE" + std::string(user);
  in.identity.access_key_id = "AKIAEXAMPLE" + std::string(user);
  in.identity.principal = std::string(user);
  in.event_time = t;
  in.event_source = "secretsmanager.amazonaws.com";
  in.event_name = std::string(event_name);
  in.region = "us-east-1";
  in.source_ip = "127.0.0.1";
  in.user_agent = "aws-cli/2.15.0";
  boost::json::object params;
  params["SecretId"] = std::string(secret);
  in.request_parameters = RedactMembers(params, DefaultRedaction());
  in.request_id = "req-" + crypto::NewUuid();
  in.read_only = event_name.substr(0, 3) == "Get" || event_name.substr(0, 4) == "List";
  in.resources.push_back(ResourceInput{
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + std::string(secret) + "-AbCdEf",
      "123456789012", "AWS::SecretsManager::Secret"});
  return BuildRecord(in);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
}

// The file's complete lines (without '\n').
inline std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

inline void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::string content;
  for (const std::string& l : lines) content += l + "\n";
  WriteFile(path, content);
}

inline LogOptions TestOptions(const std::string& data_dir) {
  LogOptions o = DefaultLogOptions(data_dir);
  o.digest_every_records = 1000000;
  o.digest_interval = std::chrono::hours(1);  // digests only where a test asks for them
  o.retry_interval = std::chrono::milliseconds(10);
  return o;
}

}  // namespace arca::audit::testing
