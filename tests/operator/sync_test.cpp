#include "operator/sync.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace arca::op {
namespace {

namespace fs = std::filesystem;

class WriteTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arca-sync-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    out_ = root_ + "/out";
  }
  void TearDown() override { fs::remove_all(root_); }

  static ExternalSecret Es(const std::string& target = "app") {
    ExternalSecret es;
    es.name = "app-es";
    es.namespace_ = "shop";
    es.target.name = target;
    return es;
  }
  static DesiredSecret Desired(std::map<std::string, std::string> data) {
    DesiredSecret d;
    for (auto& [k, v] : data) d.data[k] = SecretBytes::CopyOf(v);
    return d;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static unsigned Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string root_;
  std::string out_;
};

TEST_F(WriteTargetTest, LayoutModesAndDotenv) {
  auto es = Es();
  auto d = Desired({{"DATABASE_URL", "postgresql://u:p@h/db"}, {"tls.crt", "CERT"}, {"QUOTE", "it's \"x\"\nline"}});
  d.type = "kubernetes.io/tls";
  d.labels = {{"app", "shop"}};
  auto w = WriteTarget(out_, es, d);
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(w->kind, WriteOutcome::Kind::kWritten);
  EXPECT_EQ(w->keys, 3u);
  EXPECT_EQ(w->changed_keys.size(), 3u);
  EXPECT_EQ(w->env_left_out, std::vector<std::string>{"tls.crt"});
  EXPECT_EQ(Mode(out_), 0700u);
  EXPECT_EQ(Mode(out_ + "/app"), 0700u);
  EXPECT_EQ(Mode(out_ + "/app/DATABASE_URL"), 0600u);
  EXPECT_EQ(Mode(out_ + "/app.env"), 0600u);
  EXPECT_EQ(Mode(out_ + "/app.meta.json"), 0600u);
  EXPECT_EQ(Read(out_ + "/app/DATABASE_URL"), "postgresql://u:p@h/db");
  EXPECT_EQ(Read(out_ + "/app/tls.crt"), "CERT");
  const std::string env = Read(out_ + "/app.env");
  EXPECT_NE(env.find("DATABASE_URL=postgresql://u:p@h/db\n"), std::string::npos) << env;
  EXPECT_NE(env.find("QUOTE=\"it's \\\"x\\\"\\nline\""), std::string::npos) << env;
  EXPECT_EQ(env.find("tls.crt"), std::string::npos);
  const std::string meta = Read(out_ + "/app.meta.json");
  EXPECT_NE(meta.find("\"externalSecret\":\"shop/app-es\""), std::string::npos) << meta;
  EXPECT_NE(meta.find("\"type\":\"kubernetes.io/tls\""), std::string::npos) << meta;
  EXPECT_NE(meta.find("\"labels\":{\"app\":\"shop\"}"), std::string::npos) << meta;
  EXPECT_EQ(meta.find("postgresql"), std::string::npos);

  // The same content again: nothing is touched.
  struct stat before {};
  lstat((out_ + "/app/DATABASE_URL").c_str(), &before);
  auto again = WriteTarget(out_, es, d);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, WriteOutcome::Kind::kUnchanged);
  struct stat after {};
  lstat((out_ + "/app/DATABASE_URL").c_str(), &after);
  EXPECT_EQ(before.st_ino, after.st_ino);
  for (const auto& e : fs::directory_iterator(out_ + "/app")) {
    EXPECT_EQ(e.path().filename().string().find(".arca-tmp-"), std::string::npos);
  }
}

TEST_F(WriteTargetTest, OwnerReplacesMergeKeeps) {
  auto es = Es();
  ASSERT_TRUE(WriteTarget(out_, es, Desired({{"A", "1"}, {"B", "2"}})).ok());
  auto w = WriteTarget(out_, es, Desired({{"A", "1"}, {"C", "3"}}));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->changed_keys, std::vector<std::string>{"C"});
  EXPECT_EQ(w->removed_keys, std::vector<std::string>{"B"});
  EXPECT_FALSE(fs::exists(out_ + "/app/B"));
  EXPECT_EQ(Read(out_ + "/app.env"), "A=1\nC=3\n");

  es.target.creation = CreationPolicy::kMerge;
  auto merged = WriteTarget(out_, es, Desired({{"D", "4"}}));
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE(merged->removed_keys.empty());
  EXPECT_EQ(Read(out_ + "/app.env"), "A=1\nC=3\nD=4\n");

  auto missing = WriteTarget(out_, Es("other"), Desired({{"X", "1"}}));
  ASSERT_TRUE(missing.ok());  // Owner creates
  auto es_merge = Es("absent");
  es_merge.target.creation = CreationPolicy::kMerge;
  auto absent = WriteTarget(out_, es_merge, Desired({{"X", "1"}}));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code(), Code::kNotFound);
  es_merge.target.creation = CreationPolicy::kCreateOrMerge;
  EXPECT_TRUE(WriteTarget(out_, es_merge, Desired({{"X", "1"}})).ok());
  es_merge.target.creation = CreationPolicy::kNone;
  auto none = WriteTarget(out_, es_merge, Desired({{"Y", "1"}}));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, WriteOutcome::Kind::kSkipped);
  EXPECT_FALSE(fs::exists(out_ + "/absent/Y"));
}

TEST_F(WriteTargetTest, DeletionPolicyDeleteAndImmutable) {
  auto es = Es();
  ASSERT_TRUE(WriteTarget(out_, es, Desired({{"A", "1"}})).ok());
  es.target.deletion = DeletionPolicy::kDelete;
  DesiredSecret gone;
  gone.all_sources_gone = true;
  auto w = WriteTarget(out_, es, gone);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->kind, WriteOutcome::Kind::kDeleted);
  EXPECT_FALSE(fs::exists(out_ + "/app"));
  EXPECT_FALSE(fs::exists(out_ + "/app.env"));
  EXPECT_FALSE(fs::exists(out_ + "/app.meta.json"));

  auto imm = Es("imm");
  imm.target.immutable = true;
  ASSERT_TRUE(WriteTarget(out_, imm, Desired({{"A", "1"}})).ok());
  auto kept = WriteTarget(out_, imm, Desired({{"A", "2"}}));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->kind, WriteOutcome::Kind::kSkipped);
  EXPECT_EQ(Read(out_ + "/imm/A"), "1");
}

TEST_F(WriteTargetTest, CreatesMissingParents) {
  const std::string deep = root_ + "/a/b/c";
  ASSERT_TRUE(WriteTarget(deep, Es(), Desired({{"A", "1"}})).ok());
  EXPECT_EQ(Read(deep + "/app/A"), "1");
  EXPECT_EQ(Mode(root_ + "/a"), 0700u);
  EXPECT_EQ(Mode(deep), 0700u);
}

TEST_F(WriteTargetTest, ReplacesSymlinksInsteadOfFollowingThem) {
  auto es = Es();
  ASSERT_TRUE(WriteTarget(out_, es, Desired({{"A", "1"}})).ok());
  const std::string victim = root_ + "/victim";
  { std::ofstream(victim) << "keep"; }
  fs::remove(out_ + "/app/A");
  fs::create_symlink(victim, out_ + "/app/A");
  ASSERT_TRUE(WriteTarget(out_, es, Desired({{"A", "new"}})).ok());
  EXPECT_EQ(Read(victim), "keep");
  EXPECT_FALSE(fs::is_symlink(out_ + "/app/A"));
  EXPECT_EQ(Read(out_ + "/app/A"), "new");
}

TEST(RunSyncTest, InvalidManifestsExitWithUsage) {
  char tmpl[] = "/tmp/arca-sync-run-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string file = dir + "/es.yaml";
  {
    std::ofstream(file) << "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: a}\n"
                           "spec:\n  secretStoreRef: {name: s}\n  data:\n"
                           "    - {secretKey: a, remoteRef: {key: x}}\n    - {secretKey: b, remoteRef: {key: y}}\n"
                           "    - {secretKey: c, remoteRef: {}}\n";
  }
  SyncOptions o;
  o.file = file;
  o.out_dir = dir + "/out";
  o.env = [](std::string_view) { return std::optional<std::string>(); };
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunSync(o, out, err), 2);
  EXPECT_NE(err.str().find("document 1 (ExternalSecret a): spec.data[2].remoteRef.key is required"), std::string::npos)
      << err.str();
  EXPECT_FALSE(fs::exists(o.out_dir));
  o.file = dir + "/missing.yaml";
  EXPECT_EQ(RunSync(o, out, err), 2);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace arca::op
