#include "server/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace arca::server {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "arca-files-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(EnsureDataDirTest, CreatesWithMode0700IncludingParents) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/a/b/data";
  ASSERT_TRUE(EnsureDataDir(dir).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_TRUE(EnsureDataDir(dir).ok());  // existing: fine
}

TEST(EnsureDataDirTest, KeepsAnExistingDirectoryAsItIs) {
  TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0750), 0);
  ASSERT_TRUE(EnsureDataDir(tmp.path()).ok());
  EXPECT_EQ(ModeOf(tmp.path()), 0750u);
}

TEST(EnsureDataDirTest, RefusesAFile) {
  TempDir tmp;
  const std::string file = tmp.path() + "/file";
  std::ofstream(file) << "x";
  auto s = EnsureDataDir(file);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("not a directory"), std::string::npos);
}

TEST(CredentialsFileTest, AwsSharedCredentialsFormat) {
  SecretBytes secret = SecretBytes::CopyOf("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  SecretBytes text = CredentialsFileText("AKIA-FAKE-EXAMPLE-ID", secret);
  EXPECT_EQ(text.view(),
            "[arca]\n"
            "aws_access_key_id = AKIA-FAKE-EXAMPLE-ID\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
}

TEST(CredentialsFileTest, WritesMode0600AndReplaces) {
  TempDir tmp;
  const std::string path = tmp.path() + "/credentials";
  ASSERT_TRUE(WriteCredentialsFile(path, "AKIA-FAKE-AAAAAAAAAA", SecretBytes::CopyOf("s1")).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_NE(ReadAll(path).find("aws_secret_access_key = s1\n"), std::string::npos);

  ASSERT_TRUE(WriteCredentialsFile(path, "AKIA-FAKE-BBBBBBBBBB", SecretBytes::CopyOf("s2")).ok());
  const std::string text = ReadAll(path);
  EXPECT_NE(text.find("aws_access_key_id = AKIA-FAKE-BBBBBBBBBB\n"), std::string::npos);
  EXPECT_EQ(text.find("s1"), std::string::npos);
  EXPECT_EQ(ModeOf(path), 0600u);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(CredentialsFileTest, FailsCleanlyWhenTheDirectoryIsMissing) {
  TempDir tmp;
  auto s = WriteCredentialsFile(tmp.path() + "/missing/credentials", "AKIA", SecretBytes::CopyOf("s"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kUnavailable);
  EXPECT_EQ(s.error().message().find("aws_secret"), std::string::npos);
}

}  // namespace
}  // namespace arca::server
